"""The answers to an after-sale request: the seller's (R3, R4, R7, P2, P3: approve with a decision,
reject, or the platform's approval when the seller stays silent), the buyer's withdrawal, the
seller's partial-refund offer and the buyer's answer to it (R12), and the appeal of a rejection
with the platform's mediation (R5, R6).

Partial-refund offers (R12): instead of approving, the seller offers an amount; the buyer accepts
(that amount is refunded through the ledger, the buyer keeps the item, the request closes) or
declines (the seller decides again); the buyer's silence past the offer's window is the policy's
answer (`CategoryPolicy.offer_silence_accepts`). Choices where the marketplace is silent
(docs/decisions.md): at most `MAX_OFFERS` offers per request; the offer is for money only (refund
and return-and-refund requests; a replacement settles with a refund instead,
models/after_sale_shipping.py); a declined offer is not a rejection, so there is nothing to appeal
until the seller rejects (R5, R6 as always).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from models import after_sales_reasons as reasons
from models.actors import Actor, ActorKind
from models.after_sale_requests import (
    AfterSaleOutcome,
    AfterSaleRequest,
    Appeal,
    Decision,
    Offer,
    OfferAnswer,
    Rejection,
    outcome_notes,
)
from models.after_sales_case import pay, snapshot
from models.after_sales_errors import DecisionNotAllowed
from models.after_sales_machine import AfterSaleAction, AfterSaleKind, AfterSaleStatus, DecisionType
from models.after_sales_machine import AfterSaleNotificationKind as _N
from models.errors import ValidationFailed
from models.money import Money
from models.orders import FulfilmentState, Order
from models.reasons import clean_comment, require_reason
from models.refund_ledger import RefundLedger, clean_quantities, refund_quote
from models.replacement_orders import place_replacement_order
from models.request_kinds import profile_of
from models.requests import to_buyer, to_shop

_K = AfterSaleKind
_S = AfterSaleStatus
_A = AfterSaleAction
_D = DecisionType

# Decisions that pay the buyer instead of replacing the item: not for a replacement request,
# whose money is its own decision (ISSUE_REPLACEMENT_REFUND, P4).
_MONEY_DECISIONS = frozenset({_D.APPROVE_REFUND, _D.APPROVE_RETURN, _D.OFFER_PARTIAL_REFUND})
# Decisions after which the buyer keeps the item whatever the seller says.
_ITEM_KEPT = frozenset({_D.APPROVE_REFUND, _D.OFFER_PARTIAL_REFUND, _D.ISSUE_REPLACEMENT_REFUND})
# Decisions that are steps of their own (R12, P4), not an approval.
_OWN_STEPS = {
    _D.OFFER_PARTIAL_REFUND: "an offer waits for the buyer (R12)",
    _D.ISSUE_REPLACEMENT_REFUND: "a refund instead is its own step (P4)",
}
# Two offers, then the seller approves in full or rejects: an offer is a negotiation, not a
# way to keep the request from the seller's deadline for ever.
MAX_OFFERS = 2


def _target_of(r: AfterSaleRequest, decision: Decision) -> AfterSaleStatus:
    """Where a decision takes the request: the item back first unless the buyer keeps it or has
    shipped it already; then the refund, or the replacement's shipment."""
    replacing = decision.type is _D.APPROVE_REPLACEMENT
    # P2: whether a replacement needs the item back is the request's own policy (Y1).
    wants_item = decision.type is _D.APPROVE_RETURN or (
        replacing and r.policy.replacement_needs_item_back
    )
    if wants_item and not decision.buyer_keeps_item and r.return_shipment is None:
        return _S.AWAITING_BUYER_RETURN
    return _S.AWAITING_REPLACEMENT_SHIPMENT if replacing else _S.REFUNDED


def decision_for(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    decision_type: DecisionType,
    now: datetime,
    lines: Mapping[str, int] | None = None,
    buyer_keeps_item: bool = False,
    partial_amount: Money | None = None,
    reason: str | None = None,
    comment: str | None = None,
) -> Decision:
    """The decision as the seller states it, checked against the request (R7, P2, R12)."""
    if decision_type is _D.APPROVE_REPLACEMENT and r.kind is not _K.REPLACEMENT:
        raise DecisionNotAllowed(
            f"{r.id} asks for money back; a replacement cannot be imposed on the buyer"
        )
    if r.kind is _K.REPLACEMENT and decision_type in _MONEY_DECISIONS:
        raise DecisionNotAllowed(
            f"{r.id} asks for a replacement: approve it with APPROVE_REPLACEMENT, or settle it "
            "with a refund instead (ISSUE_REPLACEMENT_REFUND, P4)"
        )
    if (
        decision_type in (_D.APPROVE_RETURN, _D.APPROVE_REPLACEMENT)
        and order.fulfilment_state is not FulfilmentState.DELIVERED
    ):
        raise DecisionNotAllowed(
            f"order {order.id} was not delivered: there is nothing to return or replace"
        )
    if decision_type is _D.APPROVE_REPLACEMENT:
        if reason is None:
            raise ValidationFailed("approving a replacement needs a reason type", field="reason")
        require_reason(reasons.REPLACEMENT_APPROVE_REASONS, reason)
        if partial_amount is not None:
            raise DecisionNotAllowed("a replacement pays no money; approve a refund instead")
    elif reason is not None:
        raise ValidationFailed(
            f"{decision_type.value} takes no reason type (the decision is the reason)",
            field="reason",
        )
    if decision_type is _D.OFFER_PARTIAL_REFUND and partial_amount is None:
        raise ValidationFailed("a partial refund needs an amount", field="amount")
    comment = clean_comment(comment)

    asked = r.quantities
    quantities = asked if lines is None else clean_quantities(order, lines)
    for line_id, quantity in quantities.items():
        if quantity > asked.get(line_id, 0):
            raise ValidationFailed(
                f"{r.id} asks about {asked.get(line_id, 0)} of line {line_id}; "
                f"{quantity} cannot be approved",
                field="lines",
            )
    if partial_amount is not None:  # R7: positive, not above refundable
        refund_quote(order, ledger, quantities, partial_amount)
    keeps = buyer_keeps_item or decision_type in _ITEM_KEPT
    approved = snapshot(order, quantities)
    return Decision(
        decision_type, approved, keeps, partial_amount, reason, comment, now, actor.kind
    )


def carry_out(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    decision: Decision | None,
    action: AfterSaleAction,
    actor: Actor,
    now: datetime,
    **step: object,
) -> AfterSaleOutcome:
    """Move the request where the decision (None: as decided, or as asked) takes it, paying the
    refund if that is where (`step`: `moved_to`'s keywords: why, and what else changes)."""
    decision = decision or r.decision or r.default_decision(now, actor.kind)
    target = _target_of(r, decision)
    new_ledger, new_order = None, order
    step = {"decision": decision, **step}
    placed: tuple[Order, ...] = ()
    if target is _S.REFUNDED:
        step["refund"], new_ledger, new_order = pay(r, order, ledger, decision, now)
    elif target is _S.AWAITING_BUYER_RETURN:
        step["deadline"] = now + r.policy.buyer_return_shipping_window
    elif target is _S.AWAITING_REPLACEMENT_SHIPMENT and r.replacement_order_id is None:
        replacement, new_order = place_replacement_order(r, order, decision, now)  # P4
        step["replacement_order_id"] = replacement.id
        placed = (replacement,)
    outcome = r.moved_to(new_order, action, target, actor, now, (), **step)
    notes = outcome_notes(outcome.request, now, shop=actor.kind is ActorKind.PLATFORM)
    return replace(outcome, notifications=notes, ledger=new_ledger, new_orders=placed)


def approve(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    decision: DecisionType,
    now: datetime,
    *,
    lines: Mapping[str, int] | None = None,
    buyer_keeps_item: bool = False,
    partial_amount: Money | None = None,
    reason: str | None = None,
    comment: str | None = None,
) -> AfterSaleOutcome:
    """R7, P2: the seller approves with a decision, maybe for fewer lines, maybe for less money."""
    r.start_step(order, _A.APPROVE, actor)
    if decision in _OWN_STEPS:
        raise DecisionNotAllowed(f"{decision.value} is not an approval: {_OWN_STEPS[decision]}")
    r.before_deadline(now)
    terms = (lines, buyer_keeps_item, partial_amount, reason, comment)  # in decision_for's order
    d = decision_for(r, order, ledger, actor, decision, now, *terms)
    why = {"reason": reason or decision.value, "comment": d.comment}
    return carry_out(r, order, ledger, d, _A.APPROVE, actor, now, **why)


def auto_approve(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R3: the seller did not answer within the response window; the platform approves as asked."""
    why = r.on_deadline(order, _A.AUTO_APPROVE, actor, now, reasons.SELLER_RESPONSE_WINDOW_PASSED)
    decision = r.default_decision(now, actor.kind)
    return carry_out(r, order, ledger, decision, _A.AUTO_APPROVE, actor, now, **why)


def reject(
    r: AfterSaleRequest, order: Order, actor: Actor, reason: str, comment: str | None, now: datetime
) -> AfterSaleOutcome:
    """R4, P3: a reason from the kind's catalogue; a comment, required for a replacement (P3)."""
    r.start_step(order, _A.REJECT, actor)
    require_reason(profile_of(r.kind).reject_reasons, reason)
    comment = clean_comment(comment)
    if r.kind is _K.REPLACEMENT and comment is None:
        raise ValidationFailed("rejecting a replacement needs a comment", field="comment")
    r.before_deadline(now)
    return rejected(r, order, actor, _A.REJECT, reason, comment, now, on_receipt=False)


def rejected(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    action: AfterSaleAction,
    reason: str,
    comment: str | None,
    now: datetime,
    *,
    on_receipt: bool,
) -> AfterSaleOutcome:
    appeal_by = now + r.policy.appeal_window
    step: dict[str, object] = {"reason": reason, "comment": comment, "deadline": appeal_by}
    step["rejection"] = Rejection(reason, comment, now, on_receipt)
    if on_receipt and r.return_shipment is not None:
        step["return_shipment"] = r.return_shipment.received(now)
    what = "the returned item" if on_receipt else f"your {r.subject}"
    text = (
        f"The seller rejected {what} for order {r.order_id}: {reasons.display_text(reason)}. "
        f"You may appeal until {appeal_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_buyer(r, _N.AFTER_SALE_REJECTED, text, now),)
    return r.moved_to(order, action, _S.REJECTED, actor, now, notes, **step)


def withdraw(r: AfterSaleRequest, order: Order, actor: Actor, now: datetime) -> AfterSaleOutcome:
    """The buyer takes back a request the seller has not answered, or a return not yet shipped."""
    r.start_step(order, _A.WITHDRAW, actor)
    r.before_deadline(now)
    text = f"The buyer withdrew the {r.subject} {r.id} for order {r.order_id}."
    notes = (to_shop(r, _N.AFTER_SALE_WITHDRAWN, text, now),)
    return r.moved_to(order, _A.WITHDRAW, _S.WITHDRAWN, actor, now, notes)


# --- Partial-refund offers (R12) --------------------------------------------------------------


def offer_partial_refund(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    amount: Money | None,
    now: datetime,
    *,
    lines: Mapping[str, int] | None = None,
    comment: str | None = None,
) -> AfterSaleOutcome:
    """R12: the seller offers `amount` (positive, at most what the lines can still refund)."""
    action = _A.OFFER_PARTIAL_REFUND
    r.start_step(order, action, actor)
    r.before_deadline(now)
    if r.offers_made >= MAX_OFFERS:
        raise DecisionNotAllowed(
            f"{r.id} had {r.offers_made} offers already (at most {MAX_OFFERS}): approve it in "
            "full or reject it"
        )
    offered = _D.OFFER_PARTIAL_REFUND
    d = decision_for(
        r, order, ledger, actor, offered, now, lines=lines, partial_amount=amount, comment=comment
    )
    if d.partial_amount is None:  # decision_for refuses an offer without one
        raise ValueError("an offer without an amount passed decision_for")
    respond_by = now + r.policy.offer_response_window
    offer = Offer(d.partial_amount, d.lines, d.comment, now, respond_by)
    text = (
        f"The seller offers a refund of {offer.amount} for order {r.order_id} (you keep the "
        f"item): accept or decline by {offer.respond_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_buyer(r, _N.OFFER_MADE, text, now),)
    step = {"reason": offered.value, "comment": d.comment, "deadline": offer.respond_by}
    target = _S.AWAITING_BUYER_RESPONSE
    return r.moved_to(order, action, target, actor, now, notes, **step, offer=offer)


def _answered(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    action: AfterSaleAction,
    answer: OfferAnswer,
    now: datetime,
    **step: object,
) -> AfterSaleOutcome:
    """The offer accepted (refunded through the same ledger and quote as any approval) or
    declined (the seller decides again, R3 holding)."""
    if r.offer is None:
        raise ValueError(f"{r.id} is {r.status.value} without an offer")
    offer = replace(r.offer, answer=answer, answered_at=now)
    if answer in (OfferAnswer.ACCEPTED, OfferAnswer.ACCEPTED_BY_SILENCE):
        terms = (offer.lines, True, offer.amount, None, offer.comment)  # the buyer keeps the item
        decision = Decision(_D.OFFER_PARTIAL_REFUND, *terms, now, actor.kind)
        outcome = carry_out(r, order, ledger, decision, action, actor, now, **step, offer=offer)
        paid = outcome.request.refund.total if outcome.request.refund else offer.amount
        text = (
            f"The offer of {offer.amount} on {r.id} (order {r.order_id}) was accepted; "
            f"{paid} was refunded."
        )
        note = to_shop(r, _N.OFFER_ANSWERED, text, now)
        return replace(outcome, notifications=(*outcome.notifications, note))
    respond_by = now + r.policy.seller_response_window
    text = (
        f"The offer of {offer.amount} on {r.id} (order {r.order_id}) was declined: approve, "
        f"offer again or reject by {respond_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_shop(r, _N.OFFER_ANSWERED, text, now),)
    step |= {"deadline": respond_by, "offer": offer}
    return r.moved_to(order, action, _S.PENDING_SELLER, actor, now, notes, **step)


def answer_offer(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    accept: bool,
    now: datetime,
) -> AfterSaleOutcome:
    """R12: the buyer accepts the offer (refunded that amount, keeps the item) or declines it."""
    action = _A.ACCEPT_OFFER if accept else _A.DECLINE_OFFER
    r.start_step(order, action, actor)
    r.before_deadline(now)
    answer = OfferAnswer.ACCEPTED if accept else OfferAnswer.DECLINED
    return _answered(r, order, ledger, actor, action, answer, now)


def expire_offer(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R12: the buyer did not answer in time; the request's policy says what silence means."""
    why = r.on_deadline(order, _A.EXPIRE_OFFER, actor, now, reasons.BUYER_OFFER_WINDOW_PASSED)
    accepts = r.policy.offer_silence_accepts
    answer = OfferAnswer.ACCEPTED_BY_SILENCE if accepts else OfferAnswer.DECLINED_BY_SILENCE
    return _answered(r, order, ledger, actor, _A.EXPIRE_OFFER, answer, now, **why)


# --- Appeals (R5, R6) ---------------------------------------------------------------------------


def appeal(
    r: AfterSaleRequest, order: Order, actor: Actor, reason: str, comment: str | None, now: datetime
) -> AfterSaleOutcome:
    """R5, R6: the buyer appeals a rejection within the appeal window; the platform mediates."""
    r.start_step(order, _A.APPEAL, actor)
    require_reason(reasons.APPEAL_REASONS, reason)
    comment = clean_comment(comment)
    r.before_deadline(now)
    text = (
        f"The buyer appealed your rejection of {r.id} (order {r.order_id}); "
        "the platform will mediate."
    )
    notes = (to_shop(r, _N.APPEAL_OPENED, text, now),)
    step = {"reason": reason, "comment": comment, "appeal": Appeal(reason, comment, now)}
    return r.moved_to(order, _A.APPEAL, _S.APPEALED, actor, now, notes, **step)


def _mediated(
    r: AfterSaleRequest, order: Order, actor: Actor, for_buyer: bool, note: str, now: datetime
) -> tuple[str, Appeal | None]:
    """R6: the mediator's note, required, and the appeal as decided for one side."""
    r.start_step(order, _A.DECIDE_FOR_BUYER if for_buyer else _A.DECIDE_FOR_SELLER, actor)
    cleaned = clean_comment(note, field="note")
    if cleaned is None:
        raise ValidationFailed("the mediator's decision needs a note", field="note")
    decided = (
        replace(r.appeal, for_buyer=for_buyer, note=cleaned, decided_at=now) if r.appeal else None
    )
    return cleaned, decided


def decide_for_buyer(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, note: str, now: datetime
) -> AfterSaleOutcome:
    """R6: the mediator decides for the buyer: the refund (or replacement) goes ahead."""
    note, decided = _mediated(r, order, actor, True, note, now)
    step = {"reason": reasons.APPEAL_DECIDED_FOR_BUYER, "comment": note, "appeal": decided}
    out = carry_out(r, order, ledger, None, _A.DECIDE_FOR_BUYER, actor, now, **step)
    text = f"The platform decided your appeal on order {r.order_id} for you: {note}"
    told = (to_buyer(r, _N.APPEAL_DECIDED, text, now),)
    return replace(out, notifications=told + out.notifications)


def decide_for_seller(
    r: AfterSaleRequest, order: Order, actor: Actor, note: str, now: datetime
) -> AfterSaleOutcome:
    """R6: the mediator decides for the seller: the request closes."""
    note, decided = _mediated(r, order, actor, False, note, now)
    to_buyer_text = f"The platform decided your appeal on order {r.order_id} for the seller: {note}"
    to_shop_text = f"The platform decided the appeal on {r.id} (order {r.order_id}) for you."
    notes = (
        to_buyer(r, _N.APPEAL_DECIDED, to_buyer_text, now),
        to_shop(r, _N.APPEAL_DECIDED, to_shop_text, now),
    )
    step = {"reason": reasons.APPEAL_DECIDED_FOR_SELLER, "comment": note, "appeal": decided}
    action, target = _A.DECIDE_FOR_SELLER, _S.DECIDED_FOR_SELLER
    return r.moved_to(order, action, target, actor, now, notes, **step)


def finalize_rejection(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R5: the appeal window passed without an appeal; the rejection is final."""
    step = r.on_deadline(order, _A.FINALIZE_REJECTION, actor, now, reasons.APPEAL_WINDOW_PASSED)
    text = f"The rejection of your {r.subject} for order {r.order_id} is final."
    notes = (to_buyer(r, _N.AFTER_SALE_CLOSED, text, now),)
    return r.moved_to(order, _A.FINALIZE_REJECTION, _S.CLOSED_FINAL, actor, now, notes, **step)

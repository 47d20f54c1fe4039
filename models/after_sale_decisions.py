"""The answers to an after-sale request: the seller's (R3, R4, R7, P2, P3: approve with a decision,
reject the request or (R8) the returned parcel on receipt, or the platform's approval when the
seller stays silent), the buyer's withdrawal, the seller's partial-refund offer and the buyer's
answer to it (R12), and the appeal of a rejection with the platform's mediation (R5, R6).

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

from dataclasses import replace

from models import after_sales_reasons as reasons
from models import commands
from models.actors import ActorKind
from models.after_sale_requests import (
    AfterSaleOutcome,
    AfterSaleRequest,
    Appeal,
    Decision,
    Offer,
    OfferAnswer,
    Rejection,
    Step,
    outcome_notes,
)
from models.after_sales_case import pay, snapshot
from models.after_sales_errors import DecisionNotAllowed
from models.after_sales_machine import AfterSaleAction, AfterSaleKind, AfterSaleStatus, DecisionType
from models.after_sales_machine import AfterSaleNotificationKind as _N
from models.errors import ValidationFailed
from models.orders import FulfilmentState, Order
from models.reasons import clean_comment, require_reason
from models.refund_ledger import clean_quantities, refund_quote
from models.replacement_orders import place_replacement_order
from models.request_kinds import profile_of

_K, _S, _A, _D = AfterSaleKind, AfterSaleStatus, AfterSaleAction, DecisionType

# Decisions that need the item delivered: there is nothing to return or replace before.
_NEED_DELIVERY = frozenset({_D.APPROVE_RETURN, _D.APPROVE_REPLACEMENT})
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


def decision_for(s: Step, decision_type: DecisionType, terms: commands.ApprovalTerms) -> Decision:
    """The decision as the seller states it, checked against the request (R7, P2, R12)."""
    r, order, reason, amount = s.request, s.order, terms.reason, terms.partial_amount
    if decision_type is _D.APPROVE_REPLACEMENT and r.kind is not _K.REPLACEMENT:
        raise DecisionNotAllowed(
            f"{r.id} asks for money back; a replacement cannot be imposed on the buyer"
        )
    # Every other decision stated here pays the buyer instead of replacing the item: not for a
    # replacement request, whose money is a step of its own (ISSUE_REPLACEMENT_REFUND, P4).
    if r.kind is _K.REPLACEMENT and decision_type is not _D.APPROVE_REPLACEMENT:
        raise DecisionNotAllowed(
            f"{r.id} asks for a replacement: approve it with APPROVE_REPLACEMENT, or settle it "
            "with a refund instead (ISSUE_REPLACEMENT_REFUND, P4)"
        )
    if decision_type in _NEED_DELIVERY and order.fulfilment_state is not FulfilmentState.DELIVERED:
        raise DecisionNotAllowed(
            f"order {order.id} was not delivered: there is nothing to return or replace"
        )
    if decision_type is _D.APPROVE_REPLACEMENT:
        if reason is None:
            raise ValidationFailed("approving a replacement needs a reason type", field="reason")
        require_reason(reasons.REPLACEMENT_APPROVE_REASONS, reason)
        if amount is not None:
            raise DecisionNotAllowed("a replacement pays no money; approve a refund instead")
    elif reason is not None:
        raise ValidationFailed(
            f"{decision_type.value} takes no reason type (the decision is the reason)",
            field="reason",
        )
    if decision_type is _D.OFFER_PARTIAL_REFUND and amount is None:
        raise ValidationFailed("a partial refund needs an amount", field="amount")
    comment = clean_comment(terms.comment)

    asked = r.quantities
    quantities = asked if terms.lines is None else clean_quantities(order, dict(terms.lines))
    for line_id, quantity in quantities.items():
        if quantity > asked.get(line_id, 0):
            raise ValidationFailed(
                f"{r.id} asks about {asked.get(line_id, 0)} of line {line_id}; "
                f"{quantity} cannot be approved",
                field="lines",
            )
    if amount is not None:  # R7: positive, not above refundable
        refund_quote(order, s.ledger, quantities, amount)
    keeps = terms.buyer_keeps_item or decision_type in _ITEM_KEPT
    approved = snapshot(order, quantities)
    return Decision(decision_type, approved, keeps, amount, reason, comment, s.now, s.actor.kind)


def carry_out(
    s: Step, decision: Decision | None, action: AfterSaleAction, **step: object
) -> AfterSaleOutcome:
    """Move the request where the decision (None: as decided, or as asked) takes it, paying the
    refund if that is where (`step`: `moved_to`'s keywords: why, and what else changes)."""
    r, now = s.request, s.now
    decision = decision or r.decision or r.default_decision(now, s.actor.kind)
    target = _target_of(r, decision)
    ledger, new_order = None, s.order  # the ledger after the refund this step pays, if any
    step = {"decision": decision, **step}
    placed: tuple[Order, ...] = ()
    if target is _S.REFUNDED:
        step["refund"], ledger, new_order = pay(r, s.order, s.ledger, decision, now)
    elif target is _S.AWAITING_BUYER_RETURN:
        step["deadline"] = now + r.policy.buyer_return_shipping_window
    elif target is _S.AWAITING_REPLACEMENT_SHIPMENT and r.replacement_order_id is None:
        replacement, new_order = place_replacement_order(r, s.order, decision, now)  # P4
        step["replacement_order_id"] = replacement.id
        placed = (replacement,)
    outcome = s.moved_to(action, target, **step)
    notes = outcome_notes(outcome.request, now, shop=s.actor.kind is ActorKind.PLATFORM)
    return replace(outcome, order=new_order, notifications=notes, ledger=ledger, new_orders=placed)


def approve(s: Step, c: commands.ApproveAfterSale) -> AfterSaleOutcome:
    """R7, P2: the seller approves with a decision, maybe for fewer lines, maybe for less money."""
    s.start(_A.APPROVE)
    if c.decision in _OWN_STEPS:
        raise DecisionNotAllowed(f"{c.decision.value} is not an approval: {_OWN_STEPS[c.decision]}")
    s.in_time()
    d = decision_for(s, c.decision, c.terms)
    return carry_out(s, d, _A.APPROVE, reason=c.terms.reason or c.decision.value, comment=d.comment)


def auto_approve(s: Step) -> AfterSaleOutcome:
    """R3: the seller did not answer within the response window; the platform approves as asked."""
    why = s.on_deadline(_A.AUTO_APPROVE, reasons.SELLER_RESPONSE_WINDOW_PASSED)
    return carry_out(s, s.request.default_decision(s.now, s.actor.kind), _A.AUTO_APPROVE, **why)


def reject(
    s: Step, c: commands.RejectAfterSale | commands.RejectReturnOnReceipt
) -> AfterSaleOutcome:
    """R4, P3: the seller rejects the request, for a reason from its kind's catalogue, with a
    comment (required for a replacement, P3); R8, R4: or the returned parcel on receipt, for a
    reason of the receipt's catalogue. Either way the buyer may appeal (R5)."""
    on_receipt = isinstance(c, commands.RejectReturnOnReceipt)
    action = _A.REJECT_ON_RECEIPT if on_receipt else _A.REJECT
    r, now = s.start(action), s.now
    catalogue = reasons.RECEIPT_REJECT_REASONS if on_receipt else profile_of(r.kind).reject_reasons
    reason = require_reason(catalogue, c.reason)
    comment = clean_comment(c.comment)
    if r.kind is _K.REPLACEMENT and comment is None and not on_receipt:
        raise ValidationFailed("rejecting a replacement needs a comment", field="comment")
    s.in_time()
    appeal_by = now + r.policy.appeal_window
    step: dict[str, object] = {"reason": reason, "comment": comment, "deadline": appeal_by}
    step["rejection"] = Rejection(reason, comment, now, on_receipt)
    if on_receipt and r.return_shipment is not None:
        step["return_shipment"] = replace(r.return_shipment, received_at=now)
    what = "the returned item" if on_receipt else f"your {r.subject}"
    text = (
        f"The seller rejected {what} for order {r.order_id}: {reasons.display_text(reason)}. "
        f"You may appeal until {appeal_by:%Y-%m-%d %H:%M} UTC."
    )
    return s.moved_to(action, _S.REJECTED, s.to_buyer(_N.AFTER_SALE_REJECTED, text), **step)


def withdraw(s: Step, c: commands.WithdrawAfterSale) -> AfterSaleOutcome:
    """The buyer takes back a request the seller has not answered, or a return not yet shipped."""
    r = s.start(_A.WITHDRAW)
    s.in_time()
    text = f"The buyer withdrew the {r.subject} {r.id} for order {r.order_id}."
    return s.moved_to(_A.WITHDRAW, _S.WITHDRAWN, s.to_shop(_N.AFTER_SALE_WITHDRAWN, text))


# --- Partial-refund offers (R12) --------------------------------------------------------------


def offer_partial_refund(s: Step, c: commands.OfferPartialRefund) -> AfterSaleOutcome:
    """R12: the seller offers an amount (positive, at most what the lines can still refund)."""
    action = _A.OFFER_PARTIAL_REFUND
    r = s.start(action)
    s.in_time()
    if r.offers_made >= MAX_OFFERS:
        raise DecisionNotAllowed(
            f"{r.id} had {r.offers_made} offers already (at most {MAX_OFFERS}): approve it in "
            "full or reject it"
        )
    offered = _D.OFFER_PARTIAL_REFUND
    terms = commands.ApprovalTerms(c.lines, partial_amount=c.amount, comment=c.comment)
    d = decision_for(s, offered, terms)
    assert c.amount is not None  # decision_for refuses an offer without one
    offer = Offer(c.amount, d.lines, d.comment, s.now, s.now + r.policy.offer_response_window)
    text = (
        f"The seller offers a refund of {offer.amount} for order {r.order_id} (you keep the "
        f"item): accept or decline by {offer.respond_by:%Y-%m-%d %H:%M} UTC."
    )
    note = s.to_buyer(_N.OFFER_MADE, text)
    step = {"reason": offered.value, "comment": d.comment, "deadline": offer.respond_by}
    return s.moved_to(action, _S.AWAITING_BUYER_RESPONSE, note, **step, offer=offer)


def _answered(
    s: Step, action: AfterSaleAction, answer: OfferAnswer, **step: object
) -> AfterSaleOutcome:
    """The offer accepted (refunded through the same ledger and quote as any approval) or
    declined (the seller decides again, R3 holding)."""
    r, now = s.request, s.now
    assert r.offer is not None  # the table's only way to an answer is through an offer
    offer = replace(r.offer, answer=answer, answered_at=now)
    if answer in (OfferAnswer.ACCEPTED, OfferAnswer.ACCEPTED_BY_SILENCE):
        terms = (offer.lines, True, offer.amount, None, offer.comment)  # the buyer keeps the item
        decision = Decision(_D.OFFER_PARTIAL_REFUND, *terms, now, s.actor.kind)
        outcome = carry_out(s, decision, action, **step, offer=offer)
        paid = outcome.request.refund.total if outcome.request.refund else offer.amount
        text = (
            f"The offer of {offer.amount} on {r.id} (order {r.order_id}) was accepted; "
            f"{paid} was refunded."
        )
        note = s.to_shop(_N.OFFER_ANSWERED, text)
        return replace(outcome, notifications=(*outcome.notifications, note))
    respond_by = now + r.policy.seller_response_window
    text = (
        f"The offer of {offer.amount} on {r.id} (order {r.order_id}) was declined: approve, "
        f"offer again or reject by {respond_by:%Y-%m-%d %H:%M} UTC."
    )
    step |= {"deadline": respond_by, "offer": offer}
    return s.moved_to(action, _S.PENDING_SELLER, s.to_shop(_N.OFFER_ANSWERED, text), **step)


def answer_offer(s: Step, c: commands.AnswerOffer) -> AfterSaleOutcome:
    """R12: the buyer accepts the offer (refunded that amount, keeps the item) or declines it."""
    action = _A.ACCEPT_OFFER if c.accept else _A.DECLINE_OFFER
    s.start(action)
    s.in_time()
    return _answered(s, action, OfferAnswer.ACCEPTED if c.accept else OfferAnswer.DECLINED)


def expire_offer(s: Step) -> AfterSaleOutcome:
    """R12: the buyer did not answer in time; the request's policy says what silence means."""
    why = s.on_deadline(_A.EXPIRE_OFFER, reasons.BUYER_OFFER_WINDOW_PASSED)
    accepts = s.request.policy.offer_silence_accepts
    answer = OfferAnswer.ACCEPTED_BY_SILENCE if accepts else OfferAnswer.DECLINED_BY_SILENCE
    return _answered(s, _A.EXPIRE_OFFER, answer, **why)


# --- Appeals (R5, R6) ---------------------------------------------------------------------------


def appeal(s: Step, c: commands.AppealAfterSale) -> AfterSaleOutcome:
    """R5, R6: the buyer appeals a rejection within the appeal window; the platform mediates."""
    r = s.start(_A.APPEAL)
    require_reason(reasons.APPEAL_REASONS, c.reason)
    comment = clean_comment(c.comment)
    s.in_time()
    text = (
        f"The buyer appealed your rejection of {r.id} (order {r.order_id}); "
        "the platform will mediate."
    )
    step = {"reason": c.reason, "comment": comment, "appeal": Appeal(c.reason, comment, s.now)}
    return s.moved_to(_A.APPEAL, _S.APPEALED, s.to_shop(_N.APPEAL_OPENED, text), **step)


def decide_appeal(s: Step, c: commands.DecideAppeal) -> AfterSaleOutcome:
    """R6: the mediator decides, with a note: for the buyer, the refund (or replacement) goes
    ahead; for the seller, the request closes."""
    action = _A.DECIDE_FOR_BUYER if c.for_buyer else _A.DECIDE_FOR_SELLER
    r = s.start(action)
    note = clean_comment(c.note, field="note")
    if note is None:
        raise ValidationFailed("the mediator's decision needs a note", field="note")
    decided = (
        replace(r.appeal, for_buyer=c.for_buyer, note=note, decided_at=s.now) if r.appeal else None
    )
    side = "you" if c.for_buyer else "the seller"
    text = f"The platform decided your appeal on order {r.order_id} for {side}: {note}"
    told = s.to_buyer(_N.APPEAL_DECIDED, text)
    step = {"comment": note, "appeal": decided}
    if c.for_buyer:
        out = carry_out(s, None, action, reason=reasons.APPEAL_DECIDED_FOR_BUYER, **step)
        return replace(out, notifications=(told, *out.notifications))
    text = f"The platform decided the appeal on {r.id} (order {r.order_id}) for you."
    shop = s.to_shop(_N.APPEAL_DECIDED, text)
    why = reasons.APPEAL_DECIDED_FOR_SELLER
    return s.moved_to(action, _S.DECIDED_FOR_SELLER, told, shop, reason=why, **step)


def finalize_rejection(s: Step) -> AfterSaleOutcome:
    """R5: the appeal window passed without an appeal; the rejection is final."""
    r = s.request
    why = s.on_deadline(_A.FINALIZE_REJECTION, reasons.APPEAL_WINDOW_PASSED)
    text = f"The rejection of your {r.subject} for order {r.order_id} is final."
    note = s.to_buyer(_N.AFTER_SALE_CLOSED, text)
    return s.moved_to(_A.FINALIZE_REJECTION, _S.CLOSED_FINAL, note, **why)

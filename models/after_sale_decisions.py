"""The seller's answer (R3, R4, R7, P2, P3): approve with a decision, reject, or the platform's
approval when the seller stays silent; and the buyer's withdrawal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from models.actors import Actor, ActorKind
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, Decision, Rejection
from models.after_sale_steps import (
    at_deadline,
    before_deadline,
    default_decision,
    move,
    moved_to,
    outcome_notes,
    start_step,
    subject,
)
from models.after_sales_case import pay, snapshot
from models.after_sales_errors import DecisionNotAllowed
from models.after_sales_machine import (
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleNotificationKind,
    AfterSaleStatus,
    DecisionType,
)
from models.after_sales_reasons import (
    REPLACEMENT_APPROVE_REASONS,
    SELLER_RESPONSE_WINDOW_PASSED,
    display_text,
)
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
_N = AfterSaleNotificationKind


# Decisions that pay the buyer instead of replacing the item: not for a replacement request,
# whose money is its own decision (ISSUE_REPLACEMENT_REFUND, P4).
_MONEY_DECISIONS = frozenset(
    {DecisionType.APPROVE_REFUND, DecisionType.APPROVE_RETURN, DecisionType.OFFER_PARTIAL_REFUND}
)
# Decisions that are steps of their own (R12, P4), not an approval.
_OWN_STEPS = {
    DecisionType.OFFER_PARTIAL_REFUND: "an offer waits for the buyer (R12)",
    DecisionType.ISSUE_REPLACEMENT_REFUND: "a refund instead is its own step (P4)",
}


def _needs_return(r: AfterSaleRequest, decision: Decision) -> bool:
    if decision.buyer_keeps_item:
        return False
    if decision.type is DecisionType.APPROVE_RETURN:
        return True
    if decision.type is DecisionType.APPROVE_REPLACEMENT:
        return r.policy.replacement_needs_item_back  # P2, from the request's own policy (Y1)
    return False


def _target_of(r: AfterSaleRequest, decision: Decision, item_back: bool) -> AfterSaleStatus:
    """Where a decision takes the request; `item_back`: the buyer has already shipped it back."""
    if decision.type is DecisionType.APPROVE_REPLACEMENT:
        if _needs_return(r, decision) and not item_back:
            return _S.AWAITING_BUYER_RETURN
        return _S.AWAITING_REPLACEMENT_SHIPMENT
    if _needs_return(r, decision) and not item_back:
        return _S.AWAITING_BUYER_RETURN
    return _S.REFUNDED


def decision_for(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    decision_type: DecisionType,
    now: datetime,
    *,
    lines: Mapping[str, int] | None = None,
    buyer_keeps_item: bool = False,
    partial_amount: Money | None = None,
    reason: str | None = None,
    comment: str | None = None,
) -> Decision:
    """The decision as the seller states it, checked against the request (R7, P2, R12)."""
    if decision_type is DecisionType.APPROVE_REPLACEMENT and r.kind is not _K.REPLACEMENT:
        raise DecisionNotAllowed(
            f"{r.id} asks for money back; a replacement cannot be imposed on the buyer"
        )
    if r.kind is _K.REPLACEMENT and decision_type in _MONEY_DECISIONS:
        raise DecisionNotAllowed(
            f"{r.id} asks for a replacement: approve it with APPROVE_REPLACEMENT, or settle it "
            "with a refund instead (ISSUE_REPLACEMENT_REFUND, P4)"
        )
    if (
        decision_type in (DecisionType.APPROVE_RETURN, DecisionType.APPROVE_REPLACEMENT)
        and order.fulfilment_state is not FulfilmentState.DELIVERED
    ):
        raise DecisionNotAllowed(
            f"order {order.id} was not delivered: there is nothing to return or replace"
        )
    if decision_type is DecisionType.APPROVE_REPLACEMENT:
        if reason is None:
            raise ValidationFailed("approving a replacement needs a reason type", field="reason")
        require_reason(REPLACEMENT_APPROVE_REASONS, reason)
        if partial_amount is not None:
            raise DecisionNotAllowed("a replacement pays no money; approve a refund instead")
    elif reason is not None:
        raise ValidationFailed(
            f"{decision_type.value} takes no reason type (the decision is the reason)",
            field="reason",
        )
    if decision_type is DecisionType.OFFER_PARTIAL_REFUND and partial_amount is None:
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
    keeps = buyer_keeps_item or decision_type in (
        DecisionType.APPROVE_REFUND,
        DecisionType.OFFER_PARTIAL_REFUND,
        DecisionType.ISSUE_REPLACEMENT_REFUND,
    )
    approved = snapshot(order, quantities)
    return Decision(
        decision_type, approved, keeps, partial_amount, reason, comment, now, actor.kind
    )


def carry_out(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    decision: Decision,
    action: AfterSaleAction,
    actor: Actor,
    now: datetime,
    **step: object,
) -> AfterSaleOutcome:
    """Move the request where the decision takes it, paying the refund if that is where
    (`step`: `move`'s keywords: why, and what else changes)."""
    target = _target_of(r, decision, item_back=r.return_shipment is not None)
    new_ledger, new_order = None, order
    step = {"decision": decision, "deadline": None, **step}
    placed: tuple[Order, ...] = ()
    if target is _S.REFUNDED:
        step["refund"], new_ledger, new_order = pay(r, order, ledger, decision, now)
    elif target is _S.AWAITING_BUYER_RETURN:
        step["deadline"] = now + r.policy.buyer_return_shipping_window
    elif target is _S.AWAITING_REPLACEMENT_SHIPMENT and r.replacement_order_id is None:
        replacement, new_order = place_replacement_order(r, order, decision, now)  # P4
        step["replacement_order_id"] = replacement.id
        placed = (replacement,)
    moved, record = move(r, action, target, actor, now, **step)  # type: ignore[arg-type]
    notes = outcome_notes(moved, now, shop=actor.kind is ActorKind.PLATFORM)
    return AfterSaleOutcome(
        moved, new_order, (record,), notes, r.status, new_ledger, new_orders=placed
    )


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
    start_step(r, order, _A.APPROVE, actor)
    if decision in _OWN_STEPS:
        raise DecisionNotAllowed(f"{decision.value} is not an approval: {_OWN_STEPS[decision]}")
    before_deadline(r, now)
    d = decision_for(
        r,
        order,
        ledger,
        actor,
        decision,
        now,
        lines=lines,
        buyer_keeps_item=buyer_keeps_item,
        partial_amount=partial_amount,
        reason=reason,
        comment=comment,
    )
    why = {"reason": reason or decision.value, "comment": d.comment}
    return carry_out(r, order, ledger, d, _A.APPROVE, actor, now, **why)


def auto_approve(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R3: the seller did not answer within the response window; the platform approves as asked."""
    start_step(r, order, _A.AUTO_APPROVE, actor)
    deadline = at_deadline(r, now)
    decision = default_decision(r, now, actor.kind)
    why = {"reason": SELLER_RESPONSE_WINDOW_PASSED, "acted_on": deadline}
    return carry_out(r, order, ledger, decision, _A.AUTO_APPROVE, actor, now, **why)


def reject(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    now: datetime,
) -> AfterSaleOutcome:
    """R4, P3: a reason from the kind's catalogue; a comment, required for a replacement (P3)."""
    start_step(r, order, _A.REJECT, actor)
    require_reason(profile_of(r.kind).reject_reasons, reason)
    comment = clean_comment(comment)
    if r.kind is _K.REPLACEMENT and comment is None:
        raise ValidationFailed("rejecting a replacement needs a comment", field="comment")
    before_deadline(r, now)
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
        step["return_shipment"] = replace(r.return_shipment, received_at=now)
    what = "the returned item" if on_receipt else f"your {subject(r.kind)}"
    text = (
        f"The seller rejected {what} for order {r.order_id}: {display_text(reason)}. "
        f"You may appeal until {appeal_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_buyer(r, _N.AFTER_SALE_REJECTED, text, now),)
    return moved_to(r, order, action, _S.REJECTED, actor, now, notes, **step)


def withdraw(r: AfterSaleRequest, order: Order, actor: Actor, now: datetime) -> AfterSaleOutcome:
    """The buyer takes back a request the seller has not answered, or a return not yet shipped."""
    start_step(r, order, _A.WITHDRAW, actor)
    before_deadline(r, now)
    text = f"The buyer withdrew the {subject(r.kind)} {r.id} for order {r.order_id}."
    notes = (to_shop(r, _N.AFTER_SALE_WITHDRAWN, text, now),)
    return moved_to(r, order, _A.WITHDRAW, _S.WITHDRAWN, actor, now, notes)

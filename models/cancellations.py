"""Order cancellations (C1-C9): one explicit state machine, decided here without I/O.

Every step takes what it starts from (the `Opening` of a new request, or the request), where it
acts (`OnOrder`: the order, its refund ledger, who acts, when) and its command (models/commands.py),
and returns its `Outcome` (models/requests.py): the request as it now is, the order as it now is,
the ledger if the step refunds, the timeline record and the notifications. Storage writes all of
them in one transaction, or none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from models import cancellation_states as machine
from models import commands, errors, reasons, request_kinds
from models.actors import Actor, ActorKind
from models.cancellation_states import CancellationAction, CancellationStatus, CancellationTab
from models.money import Money
from models.notifications import NotificationKind as _N
from models.orders import FulfilmentState, LineItem, Order
from models.policy import CategoryPolicy
from models.refund_ledger import RefundBreakdown, RefundLedger
from models.requests import (
    Initiator,
    NextAction,
    OpenedRequest,
    Opening,
    Outcome,
    TimelineRecord,
    after_step,
    opened_on,
    require_actor,
    to_buyer,
    to_shop,
)

PROFILE = request_kinds.CANCELLATION
_A = CancellationAction


@dataclass(frozen=True)
class Cancellation(OpenedRequest[CancellationAction, CancellationStatus]):
    status: CancellationStatus
    lines: tuple[LineItem, ...]
    # C2, C6: the seller's deadline; kept once decided (next_action says whether it still runs).
    respond_by: datetime | None = None
    rejection_reason: str | None = None
    rejection_comment: str | None = None

    @property
    def tab(self) -> CancellationTab:
        return machine.TAB_OF_STATUS[self.status]

    @property
    def next_action(self) -> NextAction | None:
        rule = machine.NEXT_ACTION_OF_STATUS.get(self.status)
        if rule is None or self.respond_by is None:
            return None
        return NextAction(rule.actor_kind, rule.action, self.respond_by)


# A cancellation after one step, with that step's record.
CancellationStep = tuple[Cancellation, TimelineRecord[CancellationAction, CancellationStatus]]


@dataclass(frozen=True)
class OnOrder:
    """Where a cancellation step acts: its order as read, with the order's refund ledger (a step
    that refunds books its entry there), who acts, and when (an opening's moment)."""

    order: Order
    ledger: RefundLedger
    actor: Actor
    now: datetime


# What a step of a cancellation decided (its one record: a cancellation moves once a step).
CancellationOutcome = Outcome[Cancellation]


@dataclass(frozen=True)
class Eligibility:
    """What happens if the buyer asks to cancel now (shown before they ask)."""

    allowed: bool
    at_once: bool
    code: str | None
    message: str
    window_ends_at: datetime | None


def _check_actor(action: CancellationAction, actor: Actor) -> None:
    transition = machine.TRANSITIONS.only(action)
    source = transition.source.value if transition.source else "NONE"
    require_actor(action, transition.actors, actor.kind, source)


def _check_pending(c: Cancellation, at: OnOrder, action: CancellationAction) -> None:
    """A step on a waiting request: still pending, and by the actor kind the step is for."""
    if c.status is not machine.TRANSITIONS.only(action).source:
        message = f"cancellation {c.id} is no longer pending: it is {c.status.value}"
        raise errors.NotPending(message, current_state=c.status.value, field="cancellationId")
    _check_actor(action, at.actor)


def _refund_of(order: Order, refund: Money) -> RefundBreakdown:
    shipping = order.shipping_fee if refund.minor else Money.zero(order.currency)
    return RefundBreakdown(items=refund - shipping, shipping=shipping)


def refund_if_accepted(c: Cancellation, order: Order, now: datetime) -> RefundBreakdown:
    """What accepting the request now would refund (C4): what its order's cancel refunds."""
    return _refund_of(order, order.cancelled(now, c.id)[1])


def _cancelled(at: OnOrder, step: CancellationStep, why: str) -> CancellationOutcome:
    """C1, C4, C6, C7, C8: the order cancelled whole by this step (the request after it, and its
    record), the refund booked in its ledger; the buyer is told why, and the shop unless it made
    the step itself."""
    c, record = step
    cancelled, refund = at.order.cancelled(at.now, c.id)
    ledger = at.ledger.with_cancellation(cancelled, c.id, refund, at.now) if refund.minor else None
    c = replace(c, refund=_refund_of(at.order, refund))
    paid_back = f" A refund of {refund} is on its way." if refund.minor else ""
    text = f"Your order {c.order_id} was cancelled ({why}).{paid_back}"
    notes = [to_buyer(c, _N.ORDER_CANCELLED, text, at.now)]
    if at.actor.kind is not ActorKind.SELLER_AGENT:
        shop_text = f"Order {c.order_id} was cancelled ({why})."
        notes.append(to_shop(c, _N.ORDER_CANCELLED, shop_text, at.now))
    return Outcome(c, cancelled, (record,), tuple(notes), ledger)


# C3: the states with nothing left to cancel, and what the refusal says.
_NOT_CANCELLABLE = {
    FulfilmentState.IN_TRANSIT: (
        "ORDER_IN_TRANSIT",
        "has been handed to the carrier and cannot be cancelled; "
        "the buyer may refuse the delivery or ask for a return once it arrives",
    ),
    FulfilmentState.DELIVERED: (
        "ORDER_DELIVERED",
        "was delivered and cannot be cancelled; ask for a return or refund",
    ),
    FulfilmentState.CANCELLED: ("ORDER_ALREADY_CANCELLED", "is already cancelled"),
}


def _refuse_if_not_cancellable(order: Order) -> None:
    """C3, and the states in which there is nothing left to cancel."""
    state = order.fulfilment_state
    if state in _NOT_CANCELLABLE:
        code, why = _NOT_CANCELLABLE[state]
        raise errors.OrderNotCancellable(
            f"order {order.id} {why}", code=code, fulfilment_state=state.value
        )
    if order.open_cancellation_id:
        message = f"order {order.id} already has a cancellation request waiting for the seller"
        raise errors.DuplicateRequest(message, existing_id=order.open_cancellation_id)
    if order.replacement_of:
        # P4: a replacement order is called off only with its request (a refund instead).
        raise errors.InvalidTransition(
            f"order {order.id} replaces an item of order {order.replacement_of}; it is settled "
            f"through its request {order.replacement_request_id}, not cancelled",
            current_state="REPLACEMENT_ORDER",
            field="orderId",
        )


def seller_cancels(
    at: OnOrder, action: CancellationAction, cmd: commands.CancelOrder | commands.CancelOrderLines
) -> str | None:
    """C7, C10: the seller's cancel checked (the step, the reason, no buyer's request waiting:
    the seller answers it first); the comment as kept."""
    order = at.order
    _check_actor(action, at.actor)
    reasons.require_reason(reasons.SELLER_CANCEL_REASONS, cmd.reason)
    comment = reasons.clean_comment(cmd.comment)
    if order.open_cancellation_id:
        instead = "accept it instead" if action is _A.SELLER_CANCEL else "accept or reject it first"
        raise errors.InvalidTransition(
            f"order {order.id} has a buyer's cancellation request waiting: {instead}",
            current_state="CANCELLATION_PENDING",
            field="orderId",
        )
    _refuse_if_not_cancellable(order)
    return comment


def buyer_eligibility(order: Order, policy: CategoryPolicy, now: datetime) -> Eligibility:
    """What the buyer's cancel button would do right now (C1, C2, C3)."""
    try:
        _refuse_buyer(order)
    except errors.DomainError as refusal:  # each refusal _refuse_buyer makes
        return Eligibility(False, False, refusal.code, refusal.message, None)
    window_ends = order.placed_at + policy.unconditional_cancel_window
    # A zero window is none, even for an order stamped ahead of this clock.
    inside = policy.unconditional_cancel_window > timedelta(0) and now < window_ends
    if order.fulfilment_state is FulfilmentState.UNPAID or inside:
        return Eligibility(True, True, None, "The order will be cancelled at once.", window_ends)
    asks_seller = "The seller will be asked to accept the cancellation."
    return Eligibility(True, False, None, asks_seller, window_ends)


def _refuse_buyer(order: Order) -> None:
    """C3, and C5: a buyer does not ask again once the seller rejected a request for the order."""
    _refuse_if_not_cancellable(order)
    if order.rejected_cancellation_id:
        raise errors.DuplicateRequest(
            f"the seller already rejected a cancellation request for order {order.id}; "
            "refuse the delivery or ask for a return once it arrives",
            existing_id=order.rejected_cancellation_id,
        )


def opened(
    at: OnOrder, action: CancellationAction, start: OpenedRequest[Any, Any], **changes: object
) -> CancellationStep:
    """A new cancellation after the step that opens it (`start`: models/requests.py::opened_on),
    with that step's record: its first move."""
    target = machine.TRANSITIONS.only(action).target
    c = Cancellation(**vars(start), status=target, lines=at.order.lines)
    return _moved(c, at, action, start.reason, start.note, **changes)


def _moved(
    c: Cancellation,
    at: OnOrder,
    action: CancellationAction,
    reason: str | None = None,
    comment: str | None = None,
    deadline: datetime | None = None,
    **changes: object,
) -> CancellationStep:
    """The request after this step (of the one step its action has), with its record; resolved
    unless it waits for the seller (every step from PENDING ends it)."""
    step = machine.TRANSITIONS.only(action)
    source, target = step.source, step.target
    record = TimelineRecord(
        at.now, at.actor.kind, at.actor.id, action, source, target, reason, comment, deadline
    )
    resolved = None if target is CancellationStatus.PENDING else at.now
    return after_step(c, record, resolved_at=resolved, **changes), record


def request_by_buyer(
    opening: Opening, at: OnOrder, cmd: commands.RequestCancellation
) -> CancellationOutcome:
    """C1 inside the unconditional window (or an unpaid order): cancelled at once. C2 after it;
    the seller's window is the one for the order's value, counted as the policy says (Y2)."""
    order = at.order
    reasons.require_reason(PROFILE.request_reasons, cmd.reason)
    note = reasons.clean_comment(cmd.note, field="note")
    _refuse_buyer(order)
    at_once = buyer_eligibility(order, opening.policy, at.now).at_once
    action = _A.CANCEL_AT_ONCE if at_once else _A.REQUEST
    _check_actor(action, at.actor)
    start = opened_on(order, opening, Initiator.BUYER, cmd.reason, note)
    if at_once:
        return _cancelled(at, opened(at, action, start), "cancelled by the buyer")
    respond_by = opening.seller_answers_by(order)
    c, record = opened(at, action, start, respond_by=respond_by)
    text = (
        f"New cancellation request for order {c.order_id}; "
        f"answer by {respond_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_shop(c, _N.CANCELLATION_REQUESTED, text, at.now),)
    return Outcome(c, replace(order, open_cancellation_id=c.id), (record,), notes)


def _refuse_after_deadline(c: Cancellation, now: datetime) -> None:
    if c.respond_by is not None and now >= c.respond_by:
        raise errors.ResponseWindowClosed(
            f"the seller's response window for {c.id} closed at {c.respond_by.isoformat()}; "
            "the platform accepts the request",
            deadline=c.respond_by,
        )


def accept(c: Cancellation, at: OnOrder, _: commands.AcceptCancellation) -> CancellationOutcome:
    """C4: the seller accepts; the order is cancelled and the buyer refunded automatically."""
    _check_pending(c, at, _A.ACCEPT)
    _refuse_after_deadline(c, at.now)
    return _cancelled(at, _moved(c, at, _A.ACCEPT), "the seller accepted your request")


def auto_accept(c: Cancellation, at: OnOrder) -> CancellationOutcome:
    """C6: the seller did not answer within the response window; the platform accepts."""
    _check_pending(c, at, _A.AUTO_ACCEPT)
    if c.respond_by is None or at.now < c.respond_by:
        message = f"the seller may still answer {c.id} until {c.respond_by}"
        raise errors.InvalidTransition(message, current_state=c.status.value)
    # The seller's deadline stays on the record: when it was due is part of what happened.
    moved = _moved(c, at, _A.AUTO_ACCEPT, reasons.AUTO_ACCEPT_REASON, None, c.respond_by)
    return _cancelled(at, moved, "the seller did not answer in time")


def reject(c: Cancellation, at: OnOrder, cmd: commands.RejectCancellation) -> CancellationOutcome:
    """C5: a reason from the fixed list, an optional comment; the order goes on as normal."""
    _check_pending(c, at, _A.REJECT)
    reason = reasons.require_reason(PROFILE.reject_reasons, cmd.reason)
    comment = reasons.clean_comment(cmd.comment)
    _refuse_after_deadline(c, at.now)
    rejection = {"rejection_reason": reason, "rejection_comment": comment}
    new_c, record = _moved(c, at, _A.REJECT, reason, comment, **rejection)
    new_order = replace(at.order, open_cancellation_id=None, rejected_cancellation_id=c.id)
    text = (
        f"The seller rejected your cancellation of order {c.order_id}: "
        f"{PROFILE.reject_reasons[reason]}. Your order goes on as normal."
    )
    notes = (to_buyer(c, _N.CANCELLATION_REJECTED, text, at.now),)
    return Outcome(new_c, new_order, (record,), notes)


def withdraw(c: Cancellation, at: OnOrder, _: commands.WithdrawCancellation) -> CancellationOutcome:
    """The buyer takes back a request the seller has not answered (the marketplace allows it)."""
    _check_pending(c, at, _A.WITHDRAW)
    _refuse_after_deadline(c, at.now)
    new_c, record = _moved(c, at, _A.WITHDRAW)
    text = f"The buyer withdrew the cancellation request for order {c.order_id}."
    notes = (to_shop(c, _N.CANCELLATION_WITHDRAWN, text, at.now),)
    return Outcome(new_c, replace(at.order, open_cancellation_id=None), (record,), notes)


def cancel_by_seller(
    opening: Opening, at: OnOrder, cmd: commands.CancelOrder
) -> CancellationOutcome:
    """C7: the seller cancels (out of stock, fraud, ...); the buyer is notified and refunded."""
    comment = seller_cancels(at, _A.SELLER_CANCEL, cmd)
    why = "cancelled by the seller: " + reasons.SELLER_CANCEL_REASONS[cmd.reason]
    start = opened_on(at.order, opening, Initiator.SELLER, cmd.reason, comment)
    return _cancelled(at, opened(at, _A.SELLER_CANCEL, start), why)


def cancel_by_system(
    opening: Opening, at: OnOrder, cmd: commands.CancelUnpaidOrder
) -> CancellationOutcome:
    """C8: the platform cancels an order nobody paid for in time; the seller is notified."""
    order = at.order
    _check_actor(_A.SYSTEM_CANCEL, at.actor)
    if order.fulfilment_state is not FulfilmentState.UNPAID:
        state = order.fulfilment_state.value
        message = f"order {order.id} is {state}; only unpaid orders are cancelled for non-payment"
        raise errors.InvalidTransition(message, current_state=state, field="orderId")
    if order.payment_due_at is not None and at.now < order.payment_due_at:
        message = f"order {order.id} may still be paid until {order.payment_due_at.isoformat()}"
        raise errors.PaymentWindowOpen(message, payment_due_at=order.payment_due_at)
    (reason,) = reasons.SYSTEM_CANCEL_REASONS
    start = opened_on(order, opening, Initiator.PLATFORM, reason, None)
    return _cancelled(at, opened(at, _A.SYSTEM_CANCEL, start), "not paid in time")

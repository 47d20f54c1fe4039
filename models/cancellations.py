"""Order cancellations (C1-C9): one explicit state machine, decided here without I/O.

Every function takes the current state and `now`, and returns a `CancellationOutcome`: the request
as it now is, the order as it now is, the timeline record and the notifications. Storage writes all
of them in one transaction, or none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from models.actors import Actor, ActorKind
from models.errors import (
    DuplicateRequest,
    InvalidTransition,
    NotPending,
    OrderNotCancellable,
    PaymentWindowOpen,
    ResponseWindowClosed,
)
from models.money import Money
from models.notifications import Notification, NotificationKind, Recipient
from models.orders import FulfilmentState, LineItem, Order
from models.policy import CategoryPolicy
from models.reasons import (
    AUTO_ACCEPT_REASON,
    BUYER_CANCEL_REASONS,
    CANCELLATION_REJECT_REASONS,
    SELLER_CANCEL_REASONS,
    SYSTEM_CANCEL_REASONS,
    clean_comment,
    require_reason,
)


class CancellationStatus(Enum):
    PENDING = "PENDING"  # waiting for the seller (C2)
    CANCELLED = "CANCELLED"  # the order is cancelled and refunded (C1, C4, C6, C7, C8)
    REJECTED = "REJECTED"  # the seller said no; the order goes on (C5)
    WITHDRAWN = "WITHDRAWN"  # the buyer took the request back before the seller answered


class CancellationTab(Enum):
    """The tabs of Seller Center > Manage Cancellations (seed 000); ALL is every request."""

    TO_PROCEED = "TO_PROCEED"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


TAB_OF_STATUS = {
    CancellationStatus.PENDING: CancellationTab.TO_PROCEED,
    CancellationStatus.CANCELLED: CancellationTab.COMPLETED,
    CancellationStatus.REJECTED: CancellationTab.CLOSED,
    CancellationStatus.WITHDRAWN: CancellationTab.CLOSED,
}


class Initiator(Enum):
    BUYER = "BUYER"
    SELLER = "SELLER"
    SYSTEM = "SYSTEM"


class CancellationAction(Enum):
    CANCEL_AT_ONCE = "CANCEL_AT_ONCE"
    REQUEST = "REQUEST"
    ACCEPT = "ACCEPT"
    AUTO_ACCEPT = "AUTO_ACCEPT"
    REJECT = "REJECT"
    WITHDRAW = "WITHDRAW"
    SELLER_CANCEL = "SELLER_CANCEL"
    SYSTEM_CANCEL = "SYSTEM_CANCEL"


@dataclass(frozen=True)
class Transition:
    source: CancellationStatus | None  # None: the action creates the request
    target: CancellationStatus
    actors: frozenset[ActorKind]
    rule: str


_BUYER = frozenset({ActorKind.BUYER})
_SELLER = frozenset({ActorKind.SELLER_AGENT})
_PLATFORM = frozenset({ActorKind.PLATFORM})

# The whole state machine. Nothing else moves a cancellation.
TRANSITIONS: dict[CancellationAction, Transition] = {
    CancellationAction.CANCEL_AT_ONCE: Transition(None, CancellationStatus.CANCELLED, _BUYER, "C1"),
    CancellationAction.REQUEST: Transition(None, CancellationStatus.PENDING, _BUYER, "C2"),
    CancellationAction.ACCEPT: Transition(
        CancellationStatus.PENDING, CancellationStatus.CANCELLED, _SELLER, "C4"
    ),
    CancellationAction.REJECT: Transition(
        CancellationStatus.PENDING, CancellationStatus.REJECTED, _SELLER, "C5"
    ),
    CancellationAction.AUTO_ACCEPT: Transition(
        CancellationStatus.PENDING, CancellationStatus.CANCELLED, _PLATFORM, "C6"
    ),
    CancellationAction.WITHDRAW: Transition(
        CancellationStatus.PENDING, CancellationStatus.WITHDRAWN, _BUYER, "C2"
    ),
    CancellationAction.SELLER_CANCEL: Transition(None, CancellationStatus.CANCELLED, _SELLER, "C7"),
    CancellationAction.SYSTEM_CANCEL: Transition(
        None, CancellationStatus.CANCELLED, _PLATFORM, "C8"
    ),
}


@dataclass(frozen=True)
class RefundBreakdown:
    items: Money
    shipping: Money

    @property
    def total(self) -> Money:
        return self.items + self.shipping


@dataclass(frozen=True)
class TimelineRecord:
    at: datetime
    actor_kind: ActorKind
    actor_id: str
    action: CancellationAction
    from_status: CancellationStatus | None
    to_status: CancellationStatus
    reason: str | None = None
    comment: str | None = None
    # For a move the platform made because time ran out: the deadline it acted on.
    deadline: datetime | None = None


@dataclass(frozen=True)
class NextAction:
    actor_kind: ActorKind
    action: str
    due_at: datetime


@dataclass(frozen=True)
class Cancellation:
    id: str
    order_id: str
    shop_id: str
    buyer_id: str
    initiator: Initiator
    status: CancellationStatus
    reason: str
    note: str | None
    requested_at: datetime
    lines: tuple[LineItem, ...]
    currency: str
    policy: CategoryPolicy  # the policy the request was opened under (Y1)
    respond_by: datetime | None = None
    resolved_at: datetime | None = None
    rejection_reason: str | None = None
    rejection_comment: str | None = None
    refund: RefundBreakdown | None = None
    timeline: tuple[TimelineRecord, ...] = ()
    version: int = 0

    @property
    def tab(self) -> CancellationTab:
        return TAB_OF_STATUS[self.status]

    @property
    def next_action(self) -> NextAction | None:
        if self.status is CancellationStatus.PENDING and self.respond_by:
            return NextAction(ActorKind.SELLER_AGENT, "ACCEPT_OR_REJECT", self.respond_by)
        return None


@dataclass(frozen=True)
class CancellationOutcome:
    cancellation: Cancellation
    order: Order
    record: TimelineRecord
    notifications: tuple[Notification, ...]
    previous_status: CancellationStatus | None


@dataclass(frozen=True)
class Eligibility:
    """What happens if the buyer asks to cancel now (shown before they ask)."""

    allowed: bool
    at_once: bool
    code: str | None
    message: str
    window_ends_at: datetime | None


def _check_actor(action: CancellationAction, actor: Actor) -> Transition:
    transition = TRANSITIONS[action]
    if actor.kind not in transition.actors:
        allowed = ", ".join(sorted(k.value for k in transition.actors))
        raise InvalidTransition(
            f"{action.value} is for {allowed}, not {actor.kind.value}",
            current_state=transition.source.value if transition.source else "NONE",
        )
    return transition


def _check_pending(c: Cancellation, order: Order, action: CancellationAction) -> Transition:
    if order.id != c.order_id:
        raise ValueError(f"{c.id} belongs to order {c.order_id}, not {order.id}")
    transition = TRANSITIONS[action]
    if c.status is not transition.source:
        raise NotPending(
            f"cancellation {c.id} is no longer pending: it is {c.status.value}",
            current_state=c.status.value,
            field="cancellationId",
        )
    return transition


def _cancel_order(
    order: Order, now: datetime, cancellation_id: str
) -> tuple[Order, RefundBreakdown]:
    cancelled, refund = order.cancelled(now, cancellation_id)
    shipping = order.shipping_fee if refund.minor else Money.zero(order.currency)
    return cancelled, RefundBreakdown(items=refund - shipping, shipping=shipping)


def _cancelled_notifications(
    c: Cancellation, now: datetime, why: str, notify_shop: bool
) -> tuple[Notification, ...]:
    refund = c.refund.total if c.refund else None
    paid_back = f" A refund of {refund} is on its way." if refund and refund.minor else ""
    notes = [
        Notification(
            Recipient.BUYER,
            c.buyer_id,
            NotificationKind.ORDER_CANCELLED,
            c.order_id,
            c.id,
            f"Your order {c.order_id} was cancelled ({why}).{paid_back}",
            now,
        )
    ]
    if notify_shop:
        notes.append(
            Notification(
                Recipient.SHOP,
                c.shop_id,
                NotificationKind.ORDER_CANCELLED,
                c.order_id,
                c.id,
                f"Order {c.order_id} was cancelled ({why}).",
                now,
            )
        )
    return tuple(notes)


def _refuse_if_not_cancellable(order: Order) -> None:
    """C3, and the states in which there is nothing left to cancel."""
    state = order.fulfilment_state
    if state is FulfilmentState.IN_TRANSIT:
        raise OrderNotCancellable(
            f"order {order.id} has been handed to the carrier and cannot be cancelled; "
            "the buyer may refuse the delivery or ask for a return once it arrives",
            code="ORDER_IN_TRANSIT",
            fulfilment_state=state.value,
        )
    if state is FulfilmentState.DELIVERED:
        raise OrderNotCancellable(
            f"order {order.id} was delivered and cannot be cancelled; ask for a return or refund",
            code="ORDER_DELIVERED",
            fulfilment_state=state.value,
        )
    if state is FulfilmentState.CANCELLED:
        raise OrderNotCancellable(
            f"order {order.id} is already cancelled",
            code="ORDER_ALREADY_CANCELLED",
            fulfilment_state=state.value,
        )
    if order.open_cancellation_id:
        raise DuplicateRequest(
            f"order {order.id} already has a cancellation request waiting for the seller",
            existing_id=order.open_cancellation_id,
        )


def buyer_eligibility(order: Order, policy: CategoryPolicy, now: datetime) -> Eligibility:
    """What the buyer's cancel button would do right now (C1, C2, C3)."""
    try:
        _refuse_if_not_cancellable(order)
        _refuse_after_rejection(order)
    except (OrderNotCancellable, DuplicateRequest) as refusal:
        return Eligibility(False, False, refusal.code, refusal.message, None)
    window_ends = order.placed_at + policy.unconditional_cancel_window
    if order.fulfilment_state is FulfilmentState.UNPAID or now < window_ends:
        return Eligibility(True, True, None, "The order will be cancelled at once.", window_ends)
    return Eligibility(
        True, False, None, "The seller will be asked to accept the cancellation.", window_ends
    )


def _refuse_after_rejection(order: Order) -> None:
    if order.rejected_cancellation_id:
        raise DuplicateRequest(
            f"the seller already rejected a cancellation request for order {order.id}; "
            "refuse the delivery or ask for a return once it arrives",
            existing_id=order.rejected_cancellation_id,
        )


def _new(
    *,
    new_id: str,
    order: Order,
    initiator: Initiator,
    status: CancellationStatus,
    reason: str,
    note: str | None,
    now: datetime,
    policy: CategoryPolicy,
) -> Cancellation:
    return Cancellation(
        id=new_id,
        order_id=order.id,
        shop_id=order.shop_id,
        buyer_id=order.buyer_id,
        initiator=initiator,
        status=status,
        reason=reason,
        note=note,
        requested_at=now,
        lines=order.lines,
        currency=order.currency,
        policy=policy,
    )


def _record(
    actor: Actor,
    action: CancellationAction,
    before: CancellationStatus | None,
    after: CancellationStatus,
    now: datetime,
    reason: str | None,
    comment: str | None = None,
    deadline: datetime | None = None,
) -> TimelineRecord:
    return TimelineRecord(
        now, actor.kind, actor.id, action, before, after, reason, comment, deadline
    )


def _with_record(c: Cancellation, record: TimelineRecord, **changes: object) -> Cancellation:
    return replace(c, timeline=(*c.timeline, record), **changes)  # type: ignore[arg-type]


def request_by_buyer(
    order: Order,
    actor: Actor,
    reason: str,
    note: str | None,
    policy: CategoryPolicy,
    now: datetime,
    new_id: str,
) -> CancellationOutcome:
    """C1 inside the unconditional window (or an unpaid order): cancelled at once. C2 after it."""
    require_reason(BUYER_CANCEL_REASONS, reason)
    note = clean_comment(note, field="note")
    _refuse_if_not_cancellable(order)
    _refuse_after_rejection(order)
    at_once = (
        order.fulfilment_state is FulfilmentState.UNPAID
        or now < order.placed_at + policy.unconditional_cancel_window
    )
    action = CancellationAction.CANCEL_AT_ONCE if at_once else CancellationAction.REQUEST
    transition = _check_actor(action, actor)
    c = _new(
        new_id=new_id,
        order=order,
        initiator=Initiator.BUYER,
        status=transition.target,
        reason=reason,
        note=note,
        now=now,
        policy=policy,
    )
    record = _record(actor, action, None, transition.target, now, reason, note)
    if at_once:
        new_order, refund = _cancel_order(order, now, c.id)
        c = _with_record(c, record, refund=refund, resolved_at=now)
        notes = _cancelled_notifications(c, now, "cancelled by the buyer", notify_shop=True)
        return CancellationOutcome(c, new_order, record, notes, None)
    c = _with_record(c, record, respond_by=now + policy.seller_response_window)
    new_order = replace(order, open_cancellation_id=c.id)
    notes = (
        Notification(
            Recipient.SHOP,
            c.shop_id,
            NotificationKind.CANCELLATION_REQUESTED,
            c.order_id,
            c.id,
            f"New cancellation request for order {c.order_id}; "
            f"answer by {c.respond_by:%Y-%m-%d %H:%M} UTC.",
            now,
        ),
    )
    return CancellationOutcome(c, new_order, record, notes, None)


def _refuse_after_deadline(c: Cancellation, now: datetime) -> None:
    if c.respond_by is not None and now >= c.respond_by:
        raise ResponseWindowClosed(
            f"the seller's response window for {c.id} closed at {c.respond_by.isoformat()}; "
            "the platform accepts the request",
            deadline=c.respond_by,
        )


def _accepted(
    c: Cancellation,
    order: Order,
    actor: Actor,
    action: CancellationAction,
    now: datetime,
    reason: str | None,
    deadline: datetime | None,
    why: str,
) -> CancellationOutcome:
    transition = TRANSITIONS[action]
    new_order, refund = _cancel_order(order, now, c.id)
    record = _record(actor, action, c.status, transition.target, now, reason, None, deadline)
    new_c = _with_record(
        c, record, status=transition.target, refund=refund, resolved_at=now, respond_by=None
    )
    notes = _cancelled_notifications(
        new_c, now, why, notify_shop=action is CancellationAction.AUTO_ACCEPT
    )
    return CancellationOutcome(new_c, new_order, record, notes, c.status)


def accept(c: Cancellation, order: Order, actor: Actor, now: datetime) -> CancellationOutcome:
    """C4: the seller accepts; the order is cancelled and the buyer refunded automatically."""
    _check_pending(c, order, CancellationAction.ACCEPT)
    _check_actor(CancellationAction.ACCEPT, actor)
    _refuse_after_deadline(c, now)
    return _accepted(
        c,
        order,
        actor,
        CancellationAction.ACCEPT,
        now,
        None,
        None,
        "the seller accepted your request",
    )


def auto_accept(c: Cancellation, order: Order, actor: Actor, now: datetime) -> CancellationOutcome:
    """C6: the seller did not answer within the response window; the platform accepts."""
    _check_pending(c, order, CancellationAction.AUTO_ACCEPT)
    _check_actor(CancellationAction.AUTO_ACCEPT, actor)
    if c.respond_by is None or now < c.respond_by:
        raise InvalidTransition(
            f"the seller may still answer {c.id} until {c.respond_by}",
            current_state=c.status.value,
        )
    return _accepted(
        c,
        order,
        actor,
        CancellationAction.AUTO_ACCEPT,
        now,
        AUTO_ACCEPT_REASON,
        c.respond_by,
        "the seller did not answer in time",
    )


def reject(
    c: Cancellation,
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    now: datetime,
) -> CancellationOutcome:
    """C5: a reason from the fixed list, an optional comment; the order goes on as normal."""
    transition = _check_pending(c, order, CancellationAction.REJECT)
    _check_actor(CancellationAction.REJECT, actor)
    require_reason(CANCELLATION_REJECT_REASONS, reason)
    comment = clean_comment(comment)
    _refuse_after_deadline(c, now)
    record = _record(
        actor, CancellationAction.REJECT, c.status, transition.target, now, reason, comment
    )
    new_c = _with_record(
        c,
        record,
        status=transition.target,
        rejection_reason=reason,
        rejection_comment=comment,
        resolved_at=now,
        respond_by=None,
    )
    new_order = replace(order, open_cancellation_id=None, rejected_cancellation_id=c.id)
    text = CANCELLATION_REJECT_REASONS[reason]
    notes = (
        Notification(
            Recipient.BUYER,
            c.buyer_id,
            NotificationKind.CANCELLATION_REJECTED,
            c.order_id,
            c.id,
            f"The seller rejected your cancellation of order {c.order_id}: {text}. "
            "Your order goes on as normal.",
            now,
        ),
    )
    return CancellationOutcome(new_c, new_order, record, notes, c.status)


def withdraw(c: Cancellation, order: Order, actor: Actor, now: datetime) -> CancellationOutcome:
    """The buyer takes back a request the seller has not answered (the marketplace allows it)."""
    transition = _check_pending(c, order, CancellationAction.WITHDRAW)
    _check_actor(CancellationAction.WITHDRAW, actor)
    _refuse_after_deadline(c, now)
    record = _record(actor, CancellationAction.WITHDRAW, c.status, transition.target, now, None)
    new_c = _with_record(c, record, status=transition.target, resolved_at=now, respond_by=None)
    new_order = replace(order, open_cancellation_id=None)
    notes = (
        Notification(
            Recipient.SHOP,
            c.shop_id,
            NotificationKind.CANCELLATION_WITHDRAWN,
            c.order_id,
            c.id,
            f"The buyer withdrew the cancellation request for order {c.order_id}.",
            now,
        ),
    )
    return CancellationOutcome(new_c, new_order, record, notes, c.status)


def cancel_by_seller(
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    policy: CategoryPolicy,
    now: datetime,
    new_id: str,
) -> CancellationOutcome:
    """C7: the seller cancels (out of stock, fraud, ...); the buyer is notified and refunded."""
    transition = _check_actor(CancellationAction.SELLER_CANCEL, actor)
    require_reason(SELLER_CANCEL_REASONS, reason)
    comment = clean_comment(comment)
    if order.open_cancellation_id:
        raise InvalidTransition(
            f"order {order.id} has a buyer's cancellation request waiting: accept it instead",
            current_state="CANCELLATION_PENDING",
            field="orderId",
        )
    _refuse_if_not_cancellable(order)
    return _created_cancelled(
        order,
        actor,
        CancellationAction.SELLER_CANCEL,
        transition,
        Initiator.SELLER,
        reason,
        comment,
        policy,
        now,
        new_id,
        "cancelled by the seller: " + SELLER_CANCEL_REASONS[reason],
        notify_shop=False,
    )


def cancel_by_system(
    order: Order, actor: Actor, reason: str, policy: CategoryPolicy, now: datetime, new_id: str
) -> CancellationOutcome:
    """C8: the platform cancels an order nobody paid for in time; the seller is notified."""
    transition = _check_actor(CancellationAction.SYSTEM_CANCEL, actor)
    require_reason(SYSTEM_CANCEL_REASONS, reason)
    if order.fulfilment_state is not FulfilmentState.UNPAID:
        raise InvalidTransition(
            f"order {order.id} is {order.fulfilment_state.value}; only unpaid orders are "
            "cancelled for non-payment",
            current_state=order.fulfilment_state.value,
            field="orderId",
        )
    if order.payment_due_at is not None and now < order.payment_due_at:
        raise PaymentWindowOpen(
            f"order {order.id} may still be paid until {order.payment_due_at.isoformat()}",
            payment_due_at=order.payment_due_at,
        )
    return _created_cancelled(
        order,
        actor,
        CancellationAction.SYSTEM_CANCEL,
        transition,
        Initiator.SYSTEM,
        reason,
        None,
        policy,
        now,
        new_id,
        "not paid in time",
        notify_shop=True,
    )


def _created_cancelled(
    order: Order,
    actor: Actor,
    action: CancellationAction,
    transition: Transition,
    initiator: Initiator,
    reason: str,
    comment: str | None,
    policy: CategoryPolicy,
    now: datetime,
    new_id: str,
    why: str,
    *,
    notify_shop: bool,
) -> CancellationOutcome:
    c = _new(
        new_id=new_id,
        order=order,
        initiator=initiator,
        status=transition.target,
        reason=reason,
        note=comment,
        now=now,
        policy=policy,
    )
    new_order, refund = _cancel_order(order, now, c.id)
    record = _record(actor, action, None, transition.target, now, reason, comment)
    c = _with_record(c, record, refund=refund, resolved_at=now)
    notes = _cancelled_notifications(c, now, why, notify_shop=notify_shop)
    return CancellationOutcome(c, new_order, record, notes, None)

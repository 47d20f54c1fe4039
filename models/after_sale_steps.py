"""The plumbing every after-sale step goes through: its kind's table, its window, its record,
its notifications, and what approving means when nobody says otherwise.

Every step writes its timeline record through `record_step`, which accepts only a step of the
request's kind's table (models/request_kinds.py), made by one of the actor kinds the step names.
An action from a state that does not allow it raises `InvalidTransition` (or `NotPending`) naming
the current state, before anything is computed.
"""

from __future__ import annotations

from datetime import datetime

from models.actors import Actor, ActorKind
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRecord, AfterSaleRequest, Decision
from models.after_sales_errors import DeadlineNotReached, WindowClosed
from models.after_sales_machine import (
    FINAL_STATUSES,
    TRANSITIONS,
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleNotificationKind,
    AfterSaleStatus,
    DecisionType,
    sources_of,
)
from models.errors import InvalidTransition, NotPending, ResponseWindowClosed
from models.money import Money
from models.notifications import Notification
from models.orders import Order
from models.request_kinds import profile_of
from models.requests import after_step, record_of, to_buyer, to_shop
from models.transitions import actors_of, require_actor

_S = AfterSaleStatus
_N = AfterSaleNotificationKind


# --- State machine plumbing ---------------------------------------------------------------


def _wrong_state(r: AfterSaleRequest, action: AfterSaleAction) -> InvalidTransition:
    sources = sources_of(action)
    allowed = ", ".join(sorted(s.value for s in sources if s is not None))
    message = (
        f"cannot {action.value} request {r.id}: it is {r.status.value} "
        f"({action.value} is for {allowed})"
    )
    if sources == {_S.PENDING_SELLER}:
        return NotPending(message, current_state=r.status.value, field="requestId")
    return InvalidTransition(message, current_state=r.status.value, field="requestId")


def start_step(r: AfterSaleRequest, order: Order, action: AfterSaleAction, actor: Actor) -> None:
    """Check the request may take this action now from its state, by this kind of actor."""
    if order.id != r.order_id:
        raise ValueError(f"{r.id} belongs to order {r.order_id}, not {order.id}")
    edges = profile_of(r.kind).table.edges(action, r.status)
    if not edges and TRANSITIONS.edges(action, r.status):
        raise InvalidTransition(
            f"{action.value} is not a step of a {r.kind.value} request ({r.id})",
            current_state=r.status.value,
            field="requestId",
        )
    if not edges:
        raise _wrong_state(r, action)
    require_actor(action, actors_of(edges), actor.kind, r.status.value, "requestId")


def check_create(action: AfterSaleAction, actor: Actor, kind: AfterSaleKind) -> None:
    require_actor(action, actors_of(TRANSITIONS.edges(action, None)), actor.kind, "NONE")
    if not profile_of(kind).table.edges(action, None):
        raise InvalidTransition(f"{action.value} cannot open a {kind.value}", current_state="NONE")


def record_step(
    r: AfterSaleRequest | None,
    kind: AfterSaleKind,
    action: AfterSaleAction,
    target: AfterSaleStatus,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
    comment: str | None = None,
    deadline: datetime | None = None,
) -> AfterSaleRecord:
    """The record of one step, only if the kind's table has it for this actor kind."""
    source = r.status if r is not None else None
    edge = profile_of(kind).table.step(action, source, target)
    if edge is None or actor.kind not in edge.actors:
        raise InvalidTransition(
            f"{action.value} from {source.value if source else 'NONE'} to {target.value} "
            f"by {actor.kind.value} is not a step of a {kind.value}",
            current_state=source.value if source else "NONE",
        )
    return record_of(actor, action, source, target, now, reason, comment, deadline)


def move(
    r: AfterSaleRequest,
    action: AfterSaleAction,
    target: AfterSaleStatus,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    comment: str | None = None,
    acted_on: datetime | None = None,
    deadline: datetime | None = None,
    **changes: object,
) -> tuple[AfterSaleRequest, AfterSaleRecord]:
    """The request after one step of its kind's table, with the step's record appended."""
    record = record_step(r, r.kind, action, target, actor, now, reason, comment, acted_on)
    resolved = now if target in FINAL_STATUSES else None
    return after_step(r, record, deadline=deadline, resolved_at=resolved, **changes), record


def moved_to(
    r: AfterSaleRequest,
    order: Order,
    action: AfterSaleAction,
    target: AfterSaleStatus,
    actor: Actor,
    now: datetime,
    notes: tuple[Notification, ...],
    **step: object,
) -> AfterSaleOutcome:
    """The outcome of a step that moves the request and sends `notes`, paying and placing
    nothing (`step`: `move`'s keywords)."""
    moved, record = move(r, action, target, actor, now, **step)  # type: ignore[arg-type]
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


def before_deadline(r: AfterSaleRequest, now: datetime) -> None:
    """The side that must act may do so only while its window is open."""
    if r.deadline is None or now < r.deadline:
        return
    when = r.deadline.isoformat()
    if r.status is _S.PENDING_SELLER:
        raise ResponseWindowClosed(
            f"the seller's response window for {r.id} closed at {when}; the platform approves it",
            deadline=r.deadline,
        )
    codes = {
        _S.AWAITING_BUYER_RETURN: "RETURN_SHIPPING_WINDOW_CLOSED",
        _S.RETURN_IN_TRANSIT: "RECEIPT_WINDOW_CLOSED",
        _S.REJECTED: "APPEAL_WINDOW_CLOSED",
        _S.AWAITING_BUYER_RESPONSE: "OFFER_WINDOW_CLOSED",
    }
    raise WindowClosed(
        f"the window for {r.id} ({r.status.value}) closed at {when}",
        code=codes[r.status],
        deadline=r.deadline,
    )


def at_deadline(r: AfterSaleRequest, now: datetime) -> datetime:
    if r.deadline is None or now < r.deadline:
        raise DeadlineNotReached(
            f"{r.id} is {r.status.value}; its deadline is {r.deadline}, not yet reached",
            current_state=r.status.value,
            deadline=r.deadline,
        )
    return r.deadline


# --- Notifications ----------------------------------------------------------------------------


def subject(kind: AfterSaleKind) -> str:
    """How a message names a request of this kind ("refund request", ...)."""
    return profile_of(kind).notification_subject


def refunded_note(r: AfterSaleRequest, now: datetime) -> Notification:
    amount = r.refund.total if r.refund else Money.zero(r.currency)
    text = f"A refund of {amount} for order {r.order_id} is on its way."
    return to_buyer(r, _N.AFTER_SALE_REFUNDED, text, now)


def outcome_notes(r: AfterSaleRequest, now: datetime, *, shop: bool) -> tuple[Notification, ...]:
    """What the buyer (and, for a platform move, the shop) hears when a request moves on."""
    notes: list[Notification] = []
    if r.status is _S.REFUNDED:
        notes.append(refunded_note(r, now))
    elif r.status is _S.AWAITING_BUYER_RETURN:
        text = (
            f"Your {subject(r.kind)} for order {r.order_id} was approved: ship the item "
            f"back by {r.deadline:%Y-%m-%d %H:%M} UTC."
        )
        notes.append(to_buyer(r, _N.AFTER_SALE_APPROVED, text, now))
    elif r.status is _S.AWAITING_REPLACEMENT_SHIPMENT:
        text = f"Your replacement for order {r.order_id} was approved; the seller ships it next."
        notes.append(to_buyer(r, _N.AFTER_SALE_APPROVED, text, now))
    if shop:
        kind = _N.AFTER_SALE_APPROVED if r.status is not _S.REFUNDED else _N.AFTER_SALE_REFUNDED
        text = (
            f"The platform moved the {subject(r.kind)} {r.id} of order {r.order_id} "
            f"to {r.status.value}."
        )
        notes.append(to_shop(r, kind, text, now))
    return tuple(notes)


def default_decision(r: AfterSaleRequest, now: datetime, by: ActorKind) -> Decision:
    """The request as asked: what silence (R3) or a mediator for the buyer (R6) approves."""
    decision_type = profile_of(r.kind).default_decision
    if decision_type is None:
        raise ValueError(f"a {r.kind.value} has no default decision")
    keeps = decision_type is DecisionType.APPROVE_REFUND
    return Decision(decision_type, r.lines, keeps, None, None, None, now, by)

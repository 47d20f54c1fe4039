"""The vocabulary every kind of request shares: cancellations and after-sale requests alike.

Tickets, the live feed, storage and the API speak of any request in these terms: its kind, who
opened it, the record of each step, who must act next and the deadline rule that says so. Each
kind's steps are made of the same parts: what a new request holds (`OpenedRequest`, `opened_on`),
a step's record and the request after it (`TimelineRecord`, `after_step`), and its messages to the
buyer and the shop (`to_buyer`, `to_shop`).

A kind's state machine is data, one `TransitionTable` of `Transition`s: a step names its action,
the status it leaves (None: the step opens the request), the status it reaches, the actor kinds
allowed to make it, the rule it carries out and, in a table shared by several kinds, the kinds it
applies to. The domain moves a request only through a step of its kind's table
(models/request_kinds.py); the property tests check every timeline against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import KW_ONLY, dataclass, replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from models.actors import ActorKind
from models.errors import InvalidTransition
from models.notifications import Notification, Recipient
from models.policy import WEEKENDS_ONLY, BusinessCalendar, seller_response_window

if TYPE_CHECKING:
    from models.orders import Order
    from models.policy import CategoryPolicy
    from models.refund_ledger import RefundBreakdown, RefundLedger


class RequestKind(Enum):
    CANCELLATION = "CANCELLATION"
    REFUND_ONLY = "REFUND_ONLY"
    RETURN_AND_REFUND = "RETURN_AND_REFUND"
    REPLACEMENT = "REPLACEMENT"


class Initiator(Enum):
    """Who opened a request: the buyer, the seller (C7, R9) or the platform (C8, R10)."""

    BUYER = "BUYER"
    SELLER = "SELLER"
    PLATFORM = "PLATFORM"

    @classmethod
    def _missing_(cls, value: object) -> Initiator | None:
        # Cancellations stored before the two spellings became one say SYSTEM for the platform.
        return cls.PLATFORM if value == "SYSTEM" else None


S = TypeVar("S", bound=Enum)  # a kind's status
A = TypeVar("A", bound=Enum)  # a kind's action


# Who may take a step, as a transition table names it.
BUYER = frozenset({ActorKind.BUYER})
SELLER = frozenset({ActorKind.SELLER_AGENT})
PLATFORM = frozenset({ActorKind.PLATFORM})


@dataclass(frozen=True)
class Transition(Generic[A, S]):
    action: A
    source: S | None  # None: the action creates the request
    target: S
    actors: frozenset[ActorKind]
    rule: str
    kinds: frozenset[Enum] = frozenset()  # empty: every kind the table serves


class TransitionTable(Generic[A, S]):
    """The steps of one state machine, looked up by action, source and target."""

    def __init__(self, steps: Iterable[Transition[A, S]]) -> None:
        self.steps = tuple(steps)
        self._edges = {(t.action, t.source, t.target): t for t in self.steps}
        if len(self._edges) != len(self.steps):
            raise ValueError("a step is declared twice")

    def __iter__(self) -> Iterator[Transition[A, S]]:
        return iter(self.steps)

    def step(self, action: A, source: S | None, target: S) -> Transition[A, S] | None:
        return self._edges.get((action, source, target))

    def edges(self, action: A, source: S | None) -> list[Transition[A, S]]:
        return [t for t in self.steps if t.action is action and t.source is source]

    def only(self, action: A) -> Transition[A, S]:
        """The one step of an action that has a single step (every action of a cancellation)."""
        [step] = [t for t in self.steps if t.action is action]
        return step

    def sources_of(self, action: A) -> frozenset[S | None]:
        return frozenset(t.source for t in self.steps if t.action is action)

    def for_kind(self, kind: Enum) -> TransitionTable[A, S]:
        """The steps that apply to one kind of request."""
        return TransitionTable(t for t in self.steps if not t.kinds or kind in t.kinds)


def actors_of(steps: Iterable[Transition[A, S]]) -> frozenset[ActorKind]:
    return frozenset().union(*(t.actors for t in steps))


def require_actor(
    action: Enum, kinds: frozenset[ActorKind], by: ActorKind, state: str, field: str | None = None
) -> None:
    """Refuse a step `by` an actor kind it is not for, naming the `kinds` it is for; `state` is
    the request's current state, as the refusal names it."""
    if by not in kinds:
        allowed = ", ".join(sorted(k.value for k in kinds))
        message = f"{action.value} is for {allowed}, not {by.value}"
        raise InvalidTransition(message, current_state=state, field=field)


@dataclass(frozen=True)
class OpenedRequest(Generic[A, S]):
    """What a request of any kind holds from the moment it is opened, from its order and from
    who opens it: the base of every kind's request (models/cancellations.py,
    models/after_sale_requests.py), and what `opened_on` gives a new one."""

    id: str
    order_id: str
    shop_id: str
    buyer_id: str
    initiator: Initiator
    reason: str
    note: str | None
    currency: str
    policy: CategoryPolicy  # the policy the request was opened under (Y1)
    requested_at: datetime
    _: KW_ONLY
    # What its steps leave on it, whatever its kind (none yet when it is opened).
    refund: RefundBreakdown | None = None
    resolved_at: datetime | None = None
    timeline: tuple[TimelineRecord[A, S], ...] = ()
    version: int = 0


def opened_on(
    order: Order, opening: Opening, initiator: Initiator, reason: str, note: str | None
) -> OpenedRequest[Any, Any]:
    return OpenedRequest(
        id=opening.new_id,
        order_id=order.id,
        shop_id=order.shop_id,
        buyer_id=order.buyer_id,
        initiator=initiator,
        reason=reason,
        note=note,
        currency=order.currency,
        policy=opening.policy,
        requested_at=opening.now,
    )


@dataclass(frozen=True)
class Opening:
    """What opening a request of any kind takes besides its order, who opens it and why: the
    policy it is opened under (Y1), the moment, the new request's id, and the business calendar
    the seller's window is counted on (Y2)."""

    policy: CategoryPolicy
    now: datetime
    new_id: str
    calendar: BusinessCalendar = WEEKENDS_ONLY

    def seller_answers_by(self, order: Order) -> datetime:
        """C2, R3, Y2: when the seller must answer a buyer's request on this order: the response
        window for the order's value, counted on the calendar if the policy says so."""
        window = seller_response_window(self.policy, order.items_total.minor)
        return window.ends(self.now, self.calendar)


@dataclass(frozen=True)
class TimelineRecord(Generic[A, S]):
    """One step of a request (R11): who, when, which action, from what status to what, why."""

    at: datetime
    actor_kind: ActorKind
    actor_id: str
    action: A
    from_status: S | None
    to_status: S
    reason: str | None = None
    comment: str | None = None
    # For a move the platform made because time ran out: the deadline it acted on.
    deadline: datetime | None = None


Q = TypeVar("Q", bound=OpenedRequest[Any, Any])


def after_step(r: Q, record: TimelineRecord[Any, Any], **changes: object) -> Q:
    """The request after one step of any kind: its status and its timeline follow the record."""
    timeline = (*r.timeline, record)
    return replace(r, status=record.to_status, timeline=timeline, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Outcome(Generic[Q]):
    """What one step of any kind decided, written whole or not at all: the request as it now
    is, its order as it now is, the records the step appended to the request's timeline (in
    order) and its notifications."""

    request: Q
    order: Order
    records: tuple[TimelineRecord[Any, Any], ...]
    notifications: tuple[Notification, ...]
    ledger: RefundLedger | None = None  # the ledger after the refund this step booked, if any
    superseded: tuple[Q, ...] = ()  # R5: rejections closed by a second request
    new_orders: tuple[Order, ...] = ()  # P4: the replacement order this step placed
    moved_orders: tuple[tuple[Order, Order], ...] = ()  # P4: a replacement order it moved


def to_buyer(r: OpenedRequest[Any, Any], kind: Enum, text: str, now: datetime) -> Notification:
    # Notification.kind is typed NotificationKind; every kind's notification kinds belong there.
    return Notification(Recipient.BUYER, r.buyer_id, kind, r.order_id, r.id, text, now)  # type: ignore[arg-type]


def to_shop(r: OpenedRequest[Any, Any], kind: Enum, text: str, now: datetime) -> Notification:
    return Notification(Recipient.SHOP, r.shop_id, kind, r.order_id, r.id, text, now)  # type: ignore[arg-type]


@dataclass(frozen=True)
class NextAction:
    """Who must act on a request next, what they do, and by when (None: no window applies)."""

    actor_kind: ActorKind
    action: str
    due_at: datetime | None


@dataclass(frozen=True)
class DeadlineRule(Generic[A]):
    """Who must act in a status, what they do, and what the platform does when they don't.

    `window` names the deadline where the platform acts on it (the deadline worker's name for it,
    in its status and metrics).
    """

    actor_kind: ActorKind
    action: str
    on_expiry: A | None
    rule: str
    window: str | None = None

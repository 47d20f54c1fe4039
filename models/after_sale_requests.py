"""An after-sale request as the domain holds it (what was asked, decided, shipped and paid), and
the plumbing every step of it goes through: its kind's table, its window, its record, its
notifications, and what approving means when nobody says otherwise.

Every step writes its timeline record through `record_step`, which accepts only a step of the
request's kind's table (models/request_kinds.py), made by one of the actor kinds the step names.
An action from a state that does not allow it raises `InvalidTransition` (or `NotPending`) naming
the current state, before anything is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from models import after_sales_machine as machine
from models.actors import Actor, ActorKind
from models.after_sales_errors import DeadlineNotReached, WindowClosed
from models.after_sales_machine import AfterSaleAction, AfterSaleKind, AfterSaleStatus, DecisionType
from models.after_sales_machine import AfterSaleNotificationKind as _N
from models.errors import InvalidTransition, NotPending, ResponseWindowClosed
from models.money import Money
from models.notifications import Notification
from models.orders import LineItem, Order
from models.refund_ledger import RefundLedger
from models.request_kinds import profile_of
from models.requests import (
    Initiator,
    NextAction,
    OpenedRequest,
    Outcome,
    TimelineRecord,
    actors_of,
    after_step,
    require_actor,
    to_buyer,
    to_shop,
)

_S = AfterSaleStatus

# R5: what a rejected first request waits for: the buyer appeals or asks a second time.
APPEAL_OR_REQUEST_AGAIN = "APPEAL_OR_REQUEST_AGAIN"

# One step of an after-sale request.
AfterSaleRecord = TimelineRecord[AfterSaleAction, AfterSaleStatus]


@dataclass(frozen=True)
class Decision:
    """R7, P2: what was approved (by the seller, the platform's silence rule, or a mediator)."""

    type: DecisionType
    lines: tuple[LineItem, ...]  # the approved lines with the approved quantities
    buyer_keeps_item: bool
    partial_amount: Money | None
    reason: str | None  # P2: the reason type of an approved replacement
    comment: str | None
    decided_at: datetime
    decided_by: ActorKind

    @property
    def quantities(self) -> dict[str, int]:
        return {line.line_id: line.quantity for line in self.lines}


@dataclass(frozen=True)
class Rejection:
    reason: str
    comment: str | None
    at: datetime
    on_receipt: bool  # R8: the returned parcel was rejected


@dataclass(frozen=True)
class Appeal:
    reason: str
    comment: str | None
    at: datetime
    for_buyer: bool | None = None  # None while the platform mediates
    note: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    shipped_at: datetime
    received_at: datetime | None = None

    @property
    def label(self) -> str:
        """How the timeline names the parcel: its carrier and tracking number."""
        return f"{self.carrier} {self.tracking_number}"


class OfferAnswer(Enum):
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    ACCEPTED_BY_SILENCE = "ACCEPTED_BY_SILENCE"  # the policy reads silence as yes (R12)
    DECLINED_BY_SILENCE = "DECLINED_BY_SILENCE"


@dataclass(frozen=True)
class Offer:
    """R12: the seller's partial-refund offer and the buyer's answer to it."""

    amount: Money
    lines: tuple[LineItem, ...]  # the lines and quantities the amount settles
    comment: str | None
    made_at: datetime
    respond_by: datetime
    answer: OfferAnswer | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class AfterSaleRequest(OpenedRequest[AfterSaleAction, AfterSaleStatus]):
    kind: AfterSaleKind
    status: AfterSaleStatus
    lines: tuple[LineItem, ...]  # the lines asked about, with the quantities asked for
    follows_id: str | None = None  # R5: the rejected request this second request follows
    deadline: datetime | None = None  # the current step's deadline (NEXT_ACTION_OF_STATUS)
    decision: Decision | None = None
    rejection: Rejection | None = None
    appeal: Appeal | None = None
    return_shipment: Shipment | None = None
    replacement_shipment: Shipment | None = None
    offer: Offer | None = None  # R12: the latest partial-refund offer
    replacement_order_id: str | None = None  # P4: the order that ships the replacement

    @property
    def offers_made(self) -> int:
        return sum(1 for r in self.timeline if r.action is AfterSaleAction.OFFER_PARTIAL_REFUND)

    @property
    def tab(self) -> machine.AfterSaleTab:
        return machine.TAB_OF_STATUS[self.status]

    @property
    def is_open(self) -> bool:
        return self.status in machine.OPEN_STATUSES

    @property
    def quantities(self) -> dict[str, int]:
        return {line.line_id: line.quantity for line in self.lines}

    @property
    def covered(self) -> dict[str, int]:
        """The lines and quantities the request is about now: the approved ones once approved."""
        return self.decision.quantities if self.decision else self.quantities

    @property
    def holds_units(self) -> bool:
        """Whether the covered units are spoken for: open, appealable, or settled for good."""
        if self.status is _S.REFUNDED:
            # A seller's or the platform's partial refund is a price adjustment, not a settlement.
            partial = self.decision is not None and self.decision.partial_amount is not None
            return self.initiator is Initiator.BUYER or not partial
        return self.is_open or self.status in (_S.REJECTED, _S.REPLACED, _S.DECIDED_FOR_SELLER)

    @property
    def seller_rejections(self) -> int:
        """R5: how many times the seller rejected this request (on request or on receipt)."""
        return sum(1 for r in self.timeline if r.action in machine.SELLER_REJECTION_ACTIONS)

    @property
    def may_ask_again(self) -> bool:
        """R5: a buyer's first request, rejected once, may be followed by a second request as
        well as appealed; a second request (or one rejected twice) only appealed. Decided from
        the request alone: a rejection of another request on the order is not seen here (the
        request itself then refuses with SECOND_REJECTION_ONLY_APPEAL)."""
        return (
            self.status is _S.REJECTED
            and self.initiator is Initiator.BUYER
            and self.follows_id is None
            and self.seller_rejections < 2
        )

    @property
    def next_action(self) -> NextAction | None:
        rule = machine.NEXT_ACTION_OF_STATUS.get(self.status)
        if rule is None:
            return None
        action = APPEAL_OR_REQUEST_AGAIN if self.may_ask_again else rule.action
        return NextAction(rule.actor_kind, action, self.deadline)

    def default_decision(self, now: datetime, by: ActorKind) -> Decision:
        """The request as asked: what silence (R3) or a mediator for the buyer (R6) approves."""
        decision_type = profile_of(self.kind).default_decision
        if decision_type is None:
            raise ValueError(f"a {self.kind.value} has no default decision")
        keeps = decision_type is DecisionType.APPROVE_REFUND
        return Decision(decision_type, self.lines, keeps, None, None, None, now, by)

    @property
    def subject(self) -> str:
        """How a message names a request of this kind ("refund request", ...)."""
        return profile_of(self.kind).notification_subject


# What a step of an after-sale request decided.
AfterSaleOutcome = Outcome[AfterSaleRequest]


@dataclass(frozen=True)
class Step:
    """Where one step acts: the request, its order and the order's refund ledger as its case holds
    them, who acts and when (`replacement`: the request's replacement order, P4)."""

    request: AfterSaleRequest
    order: Order
    ledger: RefundLedger
    actor: Actor
    now: datetime
    replacement: Order | None = None

    def start(self, action: AfterSaleAction) -> AfterSaleRequest:
        """Check the request may take this action now from its state, by this kind of actor."""
        r = self.request
        edges = profile_of(r.kind).table.edges(action, r.status)
        if not edges and machine.TRANSITIONS.edges(action, r.status):
            message = f"{action.value} is not a step of a {r.kind.value} request ({r.id})"
            raise InvalidTransition(message, current_state=r.status.value, field="requestId")
        if not edges:
            sources = machine.TRANSITIONS.sources_of(action)
            allowed = ", ".join(sorted(s.value for s in sources if s is not None))
            message = (
                f"cannot {action.value} request {r.id}: it is {r.status.value} "
                f"({action.value} is for {allowed})"
            )
            wrong_state = NotPending if sources == {_S.PENDING_SELLER} else InvalidTransition
            raise wrong_state(message, current_state=r.status.value, field="requestId")
        require_actor(action, actors_of(edges), self.actor.kind, r.status.value, "requestId")
        return r

    def in_time(self) -> None:
        """The side that must act may do so only while its window is open."""
        r = self.request
        if r.deadline is None or self.now < r.deadline:
            return
        when = r.deadline.isoformat()
        if r.status is _S.PENDING_SELLER:
            raise ResponseWindowClosed(
                f"the seller's response window for {r.id} closed at {when}; the platform "
                "approves it",
                deadline=r.deadline,
            )
        message = f"the window for {r.id} ({r.status.value}) closed at {when}"
        raise WindowClosed(message, code=_WINDOW_CLOSED[r.status], deadline=r.deadline)

    def on_deadline(self, action: AfterSaleAction, why: str) -> dict[str, object]:
        """Start the platform's move on a deadline that has passed: the step's reason (`why`)
        and the deadline it acts on, as `moved_to`'s keywords."""
        r = self.start(action)
        if r.deadline is None or self.now < r.deadline:
            message = f"{r.id} is {r.status.value}; its deadline is {r.deadline}, not yet reached"
            raise DeadlineNotReached(message, current_state=r.status.value, deadline=r.deadline)
        return {"reason": why, "acted_on": r.deadline}

    def moved_to(
        self,
        action: AfterSaleAction,
        target: AfterSaleStatus,
        *notes: Notification,
        reason: str | None = None,
        comment: str | None = None,
        acted_on: datetime | None = None,
        deadline: datetime | None = None,
        **changes: object,
    ) -> AfterSaleOutcome:
        """The outcome of one step of the request's kind's table that sends `notes`, paying and
        placing nothing: the request with the step's record appended (`acted_on`: the deadline
        the platform acted on; `deadline`: the next step's; `changes`: what else the step sets)."""
        r, now = self.request, self.now
        step = TimelineRecord(
            now, self.actor.kind, self.actor.id, action, r.status, target, reason, comment, acted_on
        )
        record = record_step(r.kind, step)
        resolved = now if target in machine.FINAL_STATUSES else None
        moved = after_step(r, record, deadline=deadline, resolved_at=resolved, **changes)
        return Outcome(moved, self.order, (record,), notes)

    def to_buyer(self, kind: _N, text: str) -> Notification:
        return to_buyer(self.request, kind, text, self.now)

    def to_shop(self, kind: _N, text: str) -> Notification:
        return to_shop(self.request, kind, text, self.now)


# What a side that missed its window is told (the seller's response window has its own error).
_WINDOW_CLOSED = {
    _S.AWAITING_BUYER_RETURN: "RETURN_SHIPPING_WINDOW_CLOSED",
    _S.RETURN_IN_TRANSIT: "RECEIPT_WINDOW_CLOSED",
    _S.REJECTED: "APPEAL_WINDOW_CLOSED",
    _S.AWAITING_BUYER_RESPONSE: "OFFER_WINDOW_CLOSED",
}


@dataclass(frozen=True)
class LineEligibility:
    """What the buyer may ask for on one line, for one kind, right now (R1, R5, P1)."""

    line_id: str
    kind: AfterSaleKind
    eligible: bool
    code: str | None
    message: str
    available_quantity: int
    window_ends_at: datetime | None


# --- State machine plumbing ---------------------------------------------------------------


def check_create(action: AfterSaleAction, actor: Actor) -> None:
    """Refuse an actor kind the opening step is not for, before anything is computed (that the
    request's kind opens with it is checked as the step is recorded: `record_step`)."""
    require_actor(action, actors_of(machine.TRANSITIONS.edges(action, None)), actor.kind, "NONE")


def record_step(kind: AfterSaleKind, record: AfterSaleRecord) -> AfterSaleRecord:
    """The record of one step (models/requests.py::TimelineRecord), only if the kind's table has it
    for the actor kind that made it."""
    source, target = record.from_status, record.to_status
    edge = profile_of(kind).table.step(record.action, source, target)
    if edge is None or record.actor_kind not in edge.actors:
        raise InvalidTransition(
            f"{record.action.value} from {source.value if source else 'NONE'} to {target.value} "
            f"by {record.actor_kind.value} is not a step of a {kind.value}",
            current_state=source.value if source else "NONE",
        )
    return record


# --- Notifications ----------------------------------------------------------------------------


def refunded_note(r: AfterSaleRequest, now: datetime) -> Notification:
    amount = r.refund.total if r.refund else Money.zero(r.currency)
    text = f"A refund of {amount} for order {r.order_id} is on its way."
    return to_buyer(r, _N.AFTER_SALE_REFUNDED, text, now)


def outcome_notes(r: AfterSaleRequest, now: datetime, *, shop: bool) -> tuple[Notification, ...]:
    """What the buyer (and, for a platform move, the shop) hears when a request moves on."""
    notes = [refunded_note(r, now)] if r.status is _S.REFUNDED else []
    if r.status is _S.AWAITING_BUYER_RETURN:
        text = (
            f"Your {r.subject} for order {r.order_id} was approved: ship the item "
            f"back by {r.deadline:%Y-%m-%d %H:%M} UTC."
        )
        notes.append(to_buyer(r, _N.AFTER_SALE_APPROVED, text, now))
    elif r.status is _S.AWAITING_REPLACEMENT_SHIPMENT:
        text = f"Your replacement for order {r.order_id} was approved; the seller ships it next."
        notes.append(to_buyer(r, _N.AFTER_SALE_APPROVED, text, now))
    if shop:
        kind = _N.AFTER_SALE_APPROVED if r.status is not _S.REFUNDED else _N.AFTER_SALE_REFUNDED
        text = (
            f"The platform moved the {r.subject} {r.id} of order {r.order_id} to {r.status.value}."
        )
        notes.append(to_shop(r, kind, text, now))
    return tuple(notes)

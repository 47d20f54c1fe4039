"""An after-sale request as the domain holds it: what was asked, decided, shipped and paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from models.actors import ActorKind
from models.after_sales_machine import (
    NEXT_ACTION_OF_STATUS,
    OPEN_STATUSES,
    SELLER_REJECTION_ACTIONS,
    TAB_OF_STATUS,
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleStatus,
    AfterSaleTab,
    DecisionType,
)
from models.money import Money
from models.notifications import Notification
from models.orders import LineItem, Order
from models.refund_ledger import RefundLedger
from models.requests import Initiator, NextAction, OpenedRequest, TimelineRecord

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
    def tab(self) -> AfterSaleTab:
        return TAB_OF_STATUS[self.status]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

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
        if self.is_open or self.status in (_S.REJECTED, _S.REPLACED, _S.DECIDED_FOR_SELLER):
            return True
        if self.status is _S.REFUNDED:
            # A seller's or the platform's partial refund is a price adjustment, not a settlement.
            partial = self.decision is not None and self.decision.partial_amount is not None
            return self.initiator is Initiator.BUYER or not partial
        return False

    @property
    def seller_rejections(self) -> int:
        """R5: how many times the seller rejected this request (on request or on receipt)."""
        return sum(1 for r in self.timeline if r.action in SELLER_REJECTION_ACTIONS)

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
        rule = NEXT_ACTION_OF_STATUS.get(self.status)
        if rule is None:
            return None
        action = APPEAL_OR_REQUEST_AGAIN if self.may_ask_again else rule.action
        return NextAction(rule.actor_kind, action, self.deadline)


@dataclass(frozen=True)
class AfterSaleOutcome:
    request: AfterSaleRequest
    order: Order
    records: tuple[AfterSaleRecord, ...]  # appended to `request.timeline` by this step, in order
    notifications: tuple[Notification, ...]
    previous_status: AfterSaleStatus | None
    ledger: RefundLedger | None = None  # the ledger after the refund this step booked, if any
    superseded: tuple[AfterSaleRequest, ...] = ()  # R5: rejections closed by a second request
    new_orders: tuple[Order, ...] = ()  # P4: the replacement order this step placed
    moved_orders: tuple[tuple[Order, Order], ...] = ()  # P4: a replacement order it moved

    @property
    def record(self) -> AfterSaleRecord:
        return self.records[-1]


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

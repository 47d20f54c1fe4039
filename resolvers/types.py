"""GraphQL object types. Each wraps a domain object and exposes it; none holds a rule."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from graphql_runtime.execution_plans import serve_from
from models import cancellations as cancel_domain
from models.actors import ActorKind as DomainActorKind
from models.money import Money as DomainMoney
from models.orders import FulfilmentState as DomainFulfilmentState
from models.orders import LineItem as DomainLineItem
from models.orders import Order as DomainOrder
from models.orders import PaymentMethod as DomainPaymentMethod
from models.orders import PaymentState as DomainPaymentState
from models.policy import CategoryPolicy as DomainPolicy
from models.reasons import display_text
from models.requests import Initiator as DomainInitiator
from models.requests import RequestKind as DomainRequestKind
from resolvers.context import Context, actor_of, services_of

if TYPE_CHECKING:
    from resolvers.evidence_types import Evidence
    from resolvers.refunds import Refund

ActorKind = strawberry.enum(DomainActorKind, name="ActorKind")
RequestKind = strawberry.enum(DomainRequestKind, name="RequestKind")
PaymentMethod = strawberry.enum(DomainPaymentMethod, name="PaymentMethod")
PaymentState = strawberry.enum(DomainPaymentState, name="PaymentState")
FulfilmentState = strawberry.enum(
    DomainFulfilmentState,
    name="FulfilmentState",
    description="IN_TRANSIT covers 'handed to the carrier' and 'in transit'.",
)
CancellationStatus = strawberry.enum(cancel_domain.CancellationStatus, name="CancellationStatus")
CancellationAction = strawberry.enum(cancel_domain.CancellationAction, name="CancellationAction")


@strawberry.enum(description="The tabs of Seller Center > Manage Cancellations.")
class CancellationTab(Enum):
    ALL = "ALL"
    TO_PROCEED = "TO_PROCEED"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"

    def domain(self) -> cancel_domain.CancellationTab | None:
        return None if self is CancellationTab.ALL else cancel_domain.CancellationTab(self.value)


@strawberry.enum(name="CancellationInitiator")
class CancellationInitiator(Enum):
    """The API's spelling of `models.requests.Initiator` on a cancellation: SYSTEM is the platform
    (C8), as this enum has always said; after-sale requests say PLATFORM."""

    BUYER = "BUYER"
    SELLER = "SELLER"
    SYSTEM = "SYSTEM"


_CANCELLATION_INITIATOR = {
    DomainInitiator.BUYER: CancellationInitiator.BUYER,
    DomainInitiator.SELLER: CancellationInitiator.SELLER,
    DomainInitiator.PLATFORM: CancellationInitiator.SYSTEM,
}


# A domain tab's GraphQL member by lookup: Enum's call by value costs ~1 us, 50 times a page.
_TAB_OF_DOMAIN = {tab: CancellationTab(tab.value) for tab in cancel_domain.CancellationTab}


@strawberry.type(description="Exact money: `amount` is a decimal string, never a float.")
class Money:
    # The attribute names are the domain Money's, so a domain Money is served as it is where a
    # domain value holds one (a line's unit price and subtotal); `of` copies one elsewhere.
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code.")
    minor: int = strawberry.field(
        name="minorUnits", description="The amount in the currency's minor unit."
    )

    @classmethod
    def of(cls, m: DomainMoney) -> Money:
        return cls(amount=m.amount, currency=m.currency, minor=m.minor)


@strawberry.type
class Reason:
    code: str
    display_text: str

    @classmethod
    def of(cls, code: str) -> Reason:
        return _reason(code)


@lru_cache(maxsize=1024)
def _reason(code: str) -> Reason:
    # One object per code, shared: nothing changes a Reason once made, and a tab page shows
    # ~100 of a few codes.
    return Reason(code=code, display_text=display_text(code))


@strawberry.type
class LineItem:
    """The shape of the domain's line item (models/orders.py), which resolvers serve as it is:
    an immutable value, so a page of requests needs no copy of its lines, and `subtotal` (the
    domain's own property) is computed only when a document asks for it."""

    line_id: strawberry.ID
    sku: str
    title: str
    quantity: int
    unit_price: Money
    subtotal: Money
    category: str


serve_from(LineItem, DomainLineItem)
serve_from(Money, DomainMoney)
Lines = tuple[DomainLineItem, ...]  # served as [LineItem!]!


@strawberry.type(description="What the buyer's cancel button would do now (C1, C2, C3).")
class CancellationEligibility:
    allowed: bool
    at_once: bool = strawberry.field(description="True: cancelled at once, no seller step (C1).")
    code: str | None = strawberry.field(description="Why not, when not allowed.")
    message: str
    window_ends_at: datetime | None = strawberry.field(
        description="End of the unconditional cancellation window."
    )


@strawberry.type(description="One update the order intake received about an order.")
class OrderIntakeEntry:
    action: str = strawberry.field(description="PLACED, or the step the update reported.")
    at: datetime = strawberry.field(description="When it happened, by the sender's clock.")
    outcome: str = strawberry.field(
        description="PLACED, APPLIED, REPEATED, or the code it was refused with (STALE_UPDATE, "
        "ORDER_CONFLICT, ORDER_IN_TRANSIT, ...)."
    )
    actor_kind: ActorKind
    actor_id: str
    received_at: datetime


@strawberry.type
class Order:
    _order: strawberry.Private[DomainOrder]

    @classmethod
    def of(cls, order: DomainOrder) -> Order:
        return cls(_order=order)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self._order.id)

    @strawberry.field
    def shop_id(self) -> strawberry.ID:
        return strawberry.ID(self._order.shop_id)

    @strawberry.field
    def buyer_id(self) -> strawberry.ID:
        return strawberry.ID(self._order.buyer_id)

    @strawberry.field(graphql_type=list[LineItem])
    def lines(self) -> Lines:
        return self._order.lines

    @strawberry.field
    def shipping_fee(self) -> Money:
        return Money.of(self._order.shipping_fee)

    @strawberry.field
    def items_total(self) -> Money:
        return Money.of(self._order.items_total)

    @strawberry.field
    def total(self) -> Money:
        return Money.of(self._order.grand_total)

    @strawberry.field
    def amount_paid(self) -> Money:
        return Money.of(self._order.amount_paid)

    @strawberry.field
    def refunded(self) -> Money:
        o = self._order
        return Money.of(o.refunded or DomainMoney.zero(o.currency))

    @strawberry.field
    def payment_method(self) -> PaymentMethod:
        return self._order.payment_method

    @strawberry.field
    def payment_state(self) -> PaymentState:
        return self._order.payment_state

    @strawberry.field
    def fulfilment_state(self) -> FulfilmentState:
        return self._order.fulfilment_state

    @strawberry.field
    def placed_at(self) -> datetime:
        return self._order.placed_at

    @strawberry.field
    def payment_due_at(self) -> datetime | None:
        return self._order.payment_due_at

    @strawberry.field
    def paid_at(self) -> datetime | None:
        return self._order.paid_at

    @strawberry.field
    def shipped_at(self) -> datetime | None:
        return self._order.shipped_at

    @strawberry.field
    def delivered_at(self) -> datetime | None:
        return self._order.delivered_at

    @strawberry.field
    def cancelled_at(self) -> datetime | None:
        return self._order.cancelled_at

    @strawberry.field
    def carrier(self) -> str | None:
        return self._order.carrier

    @strawberry.field
    def tracking_number(self) -> str | None:
        return self._order.tracking_number

    @strawberry.field(
        description="What the order intake received about this order, oldest first (the "
        "latest 100): each update with the time it says it happened and what became of it."
    )
    async def intake_timeline(self, info: Info[Context, Any]) -> list[OrderIntakeEntry]:
        found = await services_of(info).orders.intake.timeline(self._order)
        return [
            OrderIntakeEntry(
                action=e.action,
                at=e.at,
                outcome=e.outcome,
                actor_kind=DomainActorKind(e.actor_kind),
                actor_id=e.actor_id,
                received_at=e.received_at,
            )
            for e in found
        ]

    @strawberry.field(description="Every cancellation of this order, newest first (C9).")
    async def cancellations(self, info: Info[Context, Any]) -> list[Cancellation]:
        found = await services_of(info).cancellations.for_order(self._order)
        return [Cancellation.of(c) for c in found]

    @strawberry.field(description="What a cancellation would do now, for the buyer's app.")
    async def cancellation_eligibility(self, info: Info[Context, Any]) -> CancellationEligibility:
        e = await services_of(info).cancellations.eligibility(actor_of(info), self._order.id)

        return CancellationEligibility(
            allowed=e.allowed,
            at_once=e.at_once,
            code=e.code,
            message=e.message,
            window_ends_at=e.window_ends_at,
        )


@strawberry.type
class RefundBreakdown:
    items: Money
    shipping: Money
    total: Money


@strawberry.type
class Rejection:
    reason: Reason
    comment: str | None


@strawberry.type(description="One change of a request (R11): who, when, from what to what, why.")
class TimelineRecord:
    at: datetime
    actor_kind: ActorKind
    actor_id: str
    action: CancellationAction
    from_status: CancellationStatus | None
    to_status: CancellationStatus
    reason: Reason | None
    comment: str | None
    deadline: datetime | None = strawberry.field(
        description="For a move made because time ran out: the deadline it acted on."
    )


@strawberry.type(description="Who must act next, and by when.")
class NextAction:
    """The shape of the domain's NextAction (models/cancellations.py), served as it is."""

    actor_kind: ActorKind
    action: str
    due_at: datetime


serve_from(NextAction, cancel_domain.NextAction)


@strawberry.type(description="The windows a request was opened under (Y1), in seconds.")
class PolicySnapshot:
    unconditional_cancel_window_seconds: int
    seller_response_window_seconds: int

    @classmethod
    def of(cls, p: DomainPolicy) -> PolicySnapshot:
        return cls(
            unconditional_cancel_window_seconds=int(p.unconditional_cancel_window.total_seconds()),
            seller_response_window_seconds=int(p.seller_response_window.total_seconds()),
        )


@strawberry.type
class Cancellation:
    # Plain fields filled once in `of()`: a tab page resolves ~1,750 fields, and a method
    # resolver per field cost ~1.7 ms more per page (benchmarks/tab_query.py).
    _c: strawberry.Private[cancel_domain.Cancellation]
    id: strawberry.ID
    order_id: strawberry.ID
    shop_id: strawberry.ID
    buyer_id: strawberry.ID
    initiator: CancellationInitiator
    status: CancellationStatus
    tab: CancellationTab
    reason: Reason
    note: str | None = strawberry.field(
        description="The buyer's note, or the seller's comment on their own cancel."
    )
    requested_at: datetime
    respond_by: datetime | None = strawberry.field(
        description="The seller must answer by then, or the platform accepts (C6)."
    )
    resolved_at: datetime | None
    rejection: Rejection | None
    refund: RefundBreakdown | None = strawberry.field(
        description="What was refunded: everything the buyer paid."
    )
    lines: Lines = strawberry.field(
        graphql_type=list[LineItem],
        description="The order's lines as they were when the request was made.",
    )
    timeline: list[TimelineRecord]
    next_action: cancel_domain.NextAction | None = strawberry.field(graphql_type=NextAction | None)

    @classmethod
    def of(cls, c: cancel_domain.Cancellation) -> Cancellation:
        r = c.refund
        return cls(
            _c=c,
            id=strawberry.ID(c.id),
            order_id=strawberry.ID(c.order_id),
            shop_id=strawberry.ID(c.shop_id),
            buyer_id=strawberry.ID(c.buyer_id),
            initiator=_CANCELLATION_INITIATOR[c.initiator],
            status=c.status,
            tab=_TAB_OF_DOMAIN[c.tab],
            reason=Reason.of(c.reason),
            note=c.note,
            requested_at=c.requested_at,
            respond_by=c.respond_by,
            resolved_at=c.resolved_at,
            rejection=(
                Rejection(reason=Reason.of(c.rejection_reason), comment=c.rejection_comment)
                if c.rejection_reason is not None
                else None
            ),
            refund=(
                RefundBreakdown(
                    items=Money.of(r.items), shipping=Money.of(r.shipping), total=Money.of(r.total)
                )
                if r is not None
                else None
            ),
            lines=c.lines,
            timeline=[
                TimelineRecord(
                    at=t.at,
                    actor_kind=t.actor_kind,
                    actor_id=t.actor_id,
                    action=t.action,
                    from_status=t.from_status,
                    to_status=t.to_status,
                    reason=Reason.of(t.reason) if t.reason else None,
                    comment=t.comment,
                    deadline=t.deadline,
                )
                for t in c.timeline
            ],
            next_action=c.next_action,
        )

    # Computed only when asked (see LineItem.subtotal): a tab page does not show it.
    @strawberry.field
    def policy(self) -> PolicySnapshot:
        return PolicySnapshot.of(self._c.policy)

    @strawberry.field(description="E1: the photos and videos attached to its steps, oldest first.")
    async def evidence(
        self, info: Info[Context, Any]
    ) -> list[Annotated[Evidence, strawberry.lazy("resolvers.evidence_types")]]:
        from resolvers.evidence_types import evidence_of  # it imports this module's types

        return await evidence_of(info, self._c.id)  # visible to whoever sees the request

    @strawberry.field
    async def order(self, info: Info[Context, Any]) -> Order | None:
        # Visible to whoever sees the request: same shop, same buyer.
        order = await info.context.orders.load(self._c.order_id)
        return Order.of(order) if order else None

    @strawberry.field(
        description="Where the refund's money is (INSTRUCTED: refund pending; SETTLED: "
        "refunded); null when the request refunds nothing."
    )
    async def refund_settlement(
        self, info: Info[Context, Any]
    ) -> Annotated[Refund, strawberry.lazy("resolvers.refunds")] | None:
        from resolvers.refunds import refund_of  # it imports this module's types

        return await refund_of(info, self._c.id)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class CancellationEdge:
    cursor: str
    node: Cancellation


@strawberry.type
class CancellationConnection:
    edges: list[CancellationEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Cancellation]:
        return [e.node for e in self.edges]


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Order]:
        return [e.node for e in self.edges]


@strawberry.type
class TabCount:
    tab: CancellationTab
    count: int


@strawberry.type
class Notification:
    id: strawberry.ID
    kind: str
    order_id: strawberry.ID
    request_id: strawberry.ID
    message: str
    at: datetime


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo


@strawberry.type(description="The caller, as the service sees them.")
class Viewer:
    kind: ActorKind
    id: str
    shop_id: str | None
    permissions: list[str]


@strawberry.type
class DeadlineMoves:
    deadline: str = strawberry.field(
        description="seller_response_window (C6), payment_window (C8), "
        "after_sale_seller_response_window (R3), return_shipping_window (R8), "
        "return_receipt_window (R8), appeal_window (R5)"
    )
    moves: int


@strawberry.type(description="The deadline worker of the process that answered.")
class DeadlineWorkerStatus:
    running: bool
    last_run_at: datetime | None
    last_run_moves: int
    total_moves: int
    lag_seconds: float = strawberry.field(
        description="How far behind it was when its last pass began: now minus the oldest "
        "deadline that had passed and was not yet acted on."
    )
    last_error: str | None
    moves_by_deadline: list[DeadlineMoves]

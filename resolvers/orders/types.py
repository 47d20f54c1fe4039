"""GraphQL object types of orders and cancellations. Each wraps a domain object and exposes it;
none holds a rule."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from models import cancellations as cancel_domain
from models.actors import ActorKind as DomainActorKind
from models.money import Money as DomainMoney
from models.orders import FulfilmentState as DomainFulfilmentState
from models.orders import Order as DomainOrder
from models.orders import PaymentMethod as DomainPaymentMethod
from models.orders import PaymentState as DomainPaymentState
from models.policy import CategoryPolicy as DomainPolicy
from models.requests import RequestKind as DomainRequestKind
from resolvers.after_sales.types import AfterSale
from resolvers.context import Context, actor_of, services_of
from resolvers.requests.types import (
    NextAction,
    NotificationKind,
    RefundBreakdown,
    Request,
    RequestEligibility,
    TabCount,
    TimelineRecord,
    initiator_of,
    status_of,
    tab_counts,
)
from resolvers.values import ActorKind, LineItem, Lines, Money, PageInfo, Reason

PaymentMethod = strawberry.enum(DomainPaymentMethod, name="PaymentMethod")
PaymentState = strawberry.enum(DomainPaymentState, name="PaymentState")
FulfilmentState = strawberry.enum(
    DomainFulfilmentState,
    name="FulfilmentState",
    description="IN_TRANSIT covers 'handed to the carrier' and 'in transit'.",
)


@strawberry.enum(description="The tabs of Seller Center > Manage Cancellations.")
class CancellationTab(Enum):
    ALL = "ALL"
    TO_PROCEED = "TO_PROCEED"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"

    def domain(self) -> cancel_domain.CancellationTab | None:
        return None if self is CancellationTab.ALL else cancel_domain.CancellationTab(self.value)


# A domain tab's GraphQL member by lookup: Enum's call by value costs ~1 us, 50 times a page.
_TAB_OF_DOMAIN = {tab: CancellationTab(tab.value) for tab in cancel_domain.CancellationTab}


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

    @strawberry.field(
        description="Every request of this order, cancellations and after-sale requests alike, "
        "newest first."
    )
    async def requests(self, info: Info[Context, Any]) -> list[Request]:
        services = services_of(info)
        found: list[Request] = [
            *(Cancellation.of(c) for c in await services.cancellations.for_order(self._order)),
            *(AfterSale.of(r) for r in await services.after_sales.for_order(self._order)),
        ]
        return sorted(found, key=lambda r: (r.requested_at, r.id), reverse=True)

    @strawberry.field(description="What a cancellation would do now, for the buyer's app.")
    async def cancellation_eligibility(self, info: Info[Context, Any]) -> RequestEligibility:
        e = await services_of(info).cancellations.eligibility(actor_of(info), self._order.id)
        return RequestEligibility.of_cancellation(e)


@strawberry.type
class Rejection:
    reason: Reason
    comment: str | None


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


@strawberry.type(description="A buyer's, a seller's or the marketplace's cancellation of an order.")
class Cancellation(Request):
    # Plain fields filled once in `of()`: a tab page resolves ~1,750 fields, and a method
    # resolver per field cost ~1.7 ms more per page (benchmarks/tab_query.py).
    _c: strawberry.Private[cancel_domain.Cancellation]
    tab: CancellationTab
    note: str | None = strawberry.field(
        description="The buyer's note, or the seller's comment on their own cancel."
    )
    respond_by: datetime | None = strawberry.field(
        description="The seller must answer by then, or the platform accepts (C6)."
    )
    rejection: Rejection | None
    refund: RefundBreakdown | None = strawberry.field(
        description="What was refunded: everything the buyer paid."
    )
    lines: Lines = strawberry.field(
        graphql_type=list[LineItem],
        description="The order's lines as they were when the request was made.",
    )

    @classmethod
    def of(cls, c: cancel_domain.Cancellation) -> Cancellation:
        r = c.refund
        next_action = c.next_action
        return cls(
            _c=c,
            id=strawberry.ID(c.id),
            kind=DomainRequestKind.CANCELLATION,
            order_id=strawberry.ID(c.order_id),
            shop_id=strawberry.ID(c.shop_id),
            buyer_id=strawberry.ID(c.buyer_id),
            initiator=initiator_of(c.initiator),
            status=status_of(c.status),
            tab=_TAB_OF_DOMAIN[c.tab],
            reason=Reason.of(c.reason),
            note=c.note,
            requested_at=c.requested_at,
            respond_by=c.respond_by,
            resolved_at=c.resolved_at,
            deadline=next_action.due_at if next_action else None,
            rejection=(
                Rejection(reason=Reason.of(c.rejection_reason), comment=c.rejection_comment)
                if c.rejection_reason is not None
                else None
            ),
            refund=RefundBreakdown.of(r) if r is not None else None,
            lines=c.lines,
            timeline=[TimelineRecord.of(t, Reason.of) for t in c.timeline],
            next_action=NextAction.of(next_action),
        )

    # Computed only when asked (see LineItem.subtotal): a tab page does not show it.
    @strawberry.field
    def policy(self) -> PolicySnapshot:
        return PolicySnapshot.of(self._c.policy)


@strawberry.type
class CancellationEdge:
    cursor: str
    node: Cancellation


@strawberry.type
class CancellationConnection:
    edges: list[CancellationEdge]
    page_info: PageInfo
    _shop_id: strawberry.Private[str | None]
    _filter: strawberry.Private[Any]  # the list's filter, as the service takes it

    @strawberry.field
    def nodes(self) -> list[Cancellation]:
        return [e.node for e in self.edges]

    @strawberry.field(description="The count of every tab (ALL included) under the same filter.")
    async def tab_counts(self, info: Info[Context, Any]) -> list[TabCount]:
        svc = services_of(info).cancellations
        return tab_counts(await svc.tab_counts(actor_of(info), self._shop_id, self._filter))


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
class Notification:
    id: strawberry.ID
    kind: NotificationKind
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

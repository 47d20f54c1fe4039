"""GraphQL types of orders: an order with its lines, payment and fulfilment, what the order intake
received about it, and the requests made on it. Each wraps a domain object; none holds a rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models.actors import ActorKind as DomainActorKind
from models.money import Money as DomainMoney
from models.orders import FulfilmentState as DomainFulfilmentState
from models.orders import Order as DomainOrder
from models.orders import PaymentMethod as DomainPaymentMethod
from models.orders import PaymentState as DomainPaymentState
from resolvers.after_sales.types import AfterSale
from resolvers.cancellations.types import Cancellation
from resolvers.context import Context, actor_of, services_of
from resolvers.requests.types import Request, RequestEligibility
from resolvers.values import ActorKind, Connection, LineItem, Lines, Money, Reason

PaymentMethod = strawberry.enum(DomainPaymentMethod, name="PaymentMethod")
PaymentState = strawberry.enum(DomainPaymentState, name="PaymentState")
FulfilmentState = strawberry.enum(
    DomainFulfilmentState,
    name="FulfilmentState",
    description="IN_TRANSIT covers 'handed to the carrier' and 'in transit'.",
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


@strawberry.type(description="C10: units of one line the seller cancelled; the order goes on.")
class CancelledLine:
    line_id: strawberry.ID
    quantity: int
    cancellation_id: strawberry.ID = strawberry.field(description="The cancellation record.")
    reason: Reason
    actor_kind: ActorKind
    actor_id: str
    at: datetime
    refunded: Money = strawberry.field(
        description="Paid back for them; zero when cancelled before any money moved (then the "
        "buyer never pays for them: see `amountDue`)."
    )


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

    @strawberry.field(description="The total less units cancelled before any money moved (C10).")
    def amount_due(self) -> Money:
        return Money.of(self._order.amount_due)

    @strawberry.field(
        description="C10: the lines and quantities the seller cancelled, oldest first; `lines` "
        "keeps what was bought."
    )
    def cancelled_lines(self) -> list[CancelledLine]:
        return [
            CancelledLine(
                line_id=strawberry.ID(u.line_id),
                quantity=u.quantity,
                cancellation_id=strawberry.ID(u.cancellation_id),
                reason=Reason.of(u.reason),
                actor_kind=u.actor_kind,
                actor_id=u.actor_id,
                at=u.at,
                refunded=Money.of(u.refunded),
            )
            for u in self._order.cancelled_lines
        ]

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

    @strawberry.field(description="P4: on a replacement order, the order it replaces an item of.")
    def replacement_of(self) -> strawberry.ID | None:
        o = self._order.replacement_of
        return strawberry.ID(o) if o else None

    @strawberry.field(description="P4: on a replacement order, the request it ships for.")
    def replacement_request_id(self) -> strawberry.ID | None:
        o = self._order.replacement_request_id
        return strawberry.ID(o) if o else None

    @strawberry.field(description="P4: the replacement orders placed for this order.")
    def replacement_order_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(o) for o in self._order.replacement_order_ids]

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


OrderConnection = Connection[Order]

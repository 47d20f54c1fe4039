"""The order intake over GraphQL: `placeOrders` and `updateOrders` for a shop's integration
(a batch of 1 to 500, one result per item in the order sent), and `orderEvents`, the live feed's
order changes. Each resolver checks the input's shape, calls one service method
(services/order_intake.py) and maps each outcome to its union member."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from feed.live_feed import SubscriberTooSlow
from models import access
from models import events as event_domain
from models import order_intake as domain
from models.errors import DomainError, ValidationFailed
from resolvers.context import Context, actor_of, services_of
from resolvers.errors import (
    CursorExpiredError,
    ErrorCode,
    ForbiddenError,
    InvalidStateError,
    NotFoundError,
    OrderNotCancellableError,
    UserError,
    ValidationError,
    to_user_error,
    typed_error_codes,
)
from resolvers.feed.reading import closer_of, decode_cursor, encode_cursor, feed_of
from resolvers.inputs import well_formed_id
from resolvers.orders.types import Order, PaymentMethod
from resolvers.values import ActorKind
from services.order_intake import ExternalUpdate, Moved, Placed
from services.read_types import StoredEvent

OrderStep = strawberry.enum(
    domain.OrderStep,
    name="OrderStep",
    description="What the marketplace reports about an order; CANCELLED_UPSTREAM: the "
    "marketplace cancelled it.",
)
OrderStage = strawberry.enum(
    domain.Stage,
    name="OrderStage",
    description="Where an order is on its way, in this order: PLACED, PAID, HANDED_TO_CARRIER, "
    "IN_TRANSIT, DELIVERED; CANCELLED ends it. An order never moves back.",
)


@strawberry.input
class OrderLineInput:
    line_id: strawberry.ID = strawberry.field(description="Unique within the order.")
    sku: str
    title: str
    quantity: int = strawberry.field(description=f"1 to {domain.MAX_QUANTITY}.")
    unit_price_minor: int = strawberry.field(
        description=f"In the order's currency's minor unit, 0 to {domain.MAX_MINOR}."
    )
    category: str = strawberry.field(description="A category the policy knows.")


@strawberry.input
class PlaceOrderInput:
    external_id: strawberry.ID = strawberry.field(
        description="The marketplace's order id, unique within the shop: a repeat with the "
        "same content returns the stored order, a changed one is an OrderConflictError."
    )
    buyer_id: strawberry.ID
    currency: str = strawberry.field(description="ISO 4217; every amount of the order is in it.")
    lines: list[OrderLineInput] = strawberry.field(description=f"1 to {domain.MAX_LINES}.")
    shipping_fee_minor: int
    payment_method: PaymentMethod
    placed_at: datetime
    paid: bool = strawberry.field(default=False, description="Prepaid and paid already.")
    payment_due_at: datetime | None = strawberry.field(
        default=None, description="An unpaid prepaid order's deadline (default: 24 h)."
    )


@strawberry.input
class PlaceOrdersInput:
    shop_id: strawberry.ID
    orders: list[PlaceOrderInput] = strawberry.field(description=f"1 to {domain.MAX_BATCH}.")


@strawberry.input
class OrderUpdateInput:
    external_id: strawberry.ID
    step: OrderStep  # type: ignore[valid-type]
    at: datetime = strawberry.field(description="When it happened, by the marketplace's clock.")
    carrier: str | None = strawberry.field(
        default=None, description="Needed to hand over (or to move past the hand-over)."
    )
    tracking_number: str | None = None


@strawberry.input
class UpdateOrdersInput:
    shop_id: strawberry.ID
    updates: list[OrderUpdateInput] = strawberry.field(description=f"1 to {domain.MAX_BATCH}.")


@strawberry.type(description="The order is placed (or was: `repeated`, nothing written).")
class OrderPlaced:
    external_id: strawberry.ID
    repeated: bool
    order: Order


@strawberry.type(description="The update is applied (or the order was there: `repeated`).")
class OrderMoved:
    external_id: strawberry.ID
    repeated: bool
    stage: OrderStage  # type: ignore[valid-type]
    order: Order


@strawberry.type(
    description="The marketplace sent this order (or step) before with other content; "
    "`fields` names what differs. Nothing was written."
)
class OrderConflictError(UserError):
    order_id: strawberry.ID
    fields: list[str]


@strawberry.type(
    description="The update would move the order back, or came after its cancellation: not "
    "applied, recorded on the order's intake record."
)
class StaleUpdateError(UserError):
    current_stage: OrderStage  # type: ignore[valid-type]
    stage_at: datetime | None


PlaceOrderOutcome = Annotated[
    OrderPlaced | OrderConflictError | ValidationError, strawberry.union("PlaceOrderOutcome")
]
UpdateOrderOutcome = Annotated[
    OrderMoved
    | StaleUpdateError
    | OrderConflictError
    | OrderNotCancellableError
    | InvalidStateError
    | NotFoundError
    | ValidationError,
    strawberry.union("UpdateOrderOutcome"),
]


@strawberry.type(description="One result per order sent, in the order sent.")
class PlaceOrdersPayload:
    results: list[PlaceOrderOutcome]


@strawberry.type(description="One result per update sent, in the order sent.")
class UpdateOrdersPayload:
    results: list[UpdateOrderOutcome]


PlaceOrdersResult = Annotated[
    PlaceOrdersPayload | ForbiddenError | ValidationError, strawberry.union("PlaceOrdersResult")
]
UpdateOrdersResult = Annotated[
    UpdateOrdersPayload | ForbiddenError | ValidationError, strawberry.union("UpdateOrdersResult")
]


def _item_error(err: DomainError) -> UserError:
    common: dict[str, Any] = {"message": err.message, "field": err.field}
    codes = typed_error_codes.get()
    if isinstance(err, domain.StaleUpdate | domain.OrderConflict) and codes is not None:
        codes.append(err.code)
    if isinstance(err, domain.StaleUpdate):
        return StaleUpdateError(
            code=ErrorCode.STALE_UPDATE,
            **common,
            current_stage=err.current_stage,
            stage_at=err.stage_at,
        )
    if isinstance(err, domain.OrderConflict):
        return OrderConflictError(
            code=ErrorCode.ORDER_CONFLICT,
            **common,
            order_id=strawberry.ID(err.order_id),
            fields=list(err.fields),
        )
    return to_user_error(err)


def _prefixed(err: DomainError, at: str) -> DomainError:
    """The item's field named from the batch's input (`orders[3].lines[0].quantity`)."""
    err.field = f"{at}.{err.field}" if err.field else at
    return err


def _placement(o: PlaceOrderInput) -> domain.PlaceOrder:
    return domain.PlaceOrder(
        external_id=str(o.external_id),
        buyer_id=str(o.buyer_id),
        currency=o.currency,
        lines=tuple(
            domain.NewLine(
                str(li.line_id), li.sku, li.title, li.quantity, li.unit_price_minor, li.category
            )
            for li in o.lines
        ),
        shipping_fee_minor=o.shipping_fee_minor,
        payment_method=o.payment_method,
        placed_at=o.placed_at,
        paid=o.paid,
        payment_due_at=o.payment_due_at,
    )


@strawberry.type
class OrderIntakeMutation:
    @strawberry.mutation(
        description="Integration: place the shop's orders, 1 to 500, each answered in order. "
        "Not all-or-nothing: a refused order does not stop the others."
    )
    async def place_orders(
        self, info: Info[Context, Any], input: PlaceOrdersInput
    ) -> PlaceOrdersResult:
        try:
            shop_id = well_formed_id(str(input.shop_id), "shopId")
            intake = services_of(info).orders.intake
            outcomes = await intake.place(
                actor_of(info), shop_id, [_placement(o) for o in input.orders]
            )
        except DomainError as err:
            return to_user_error(err)  # type: ignore[return-value]
        results: list[Any] = []
        for n, out in enumerate(outcomes):
            if isinstance(out, Placed):
                results.append(
                    OrderPlaced(
                        external_id=strawberry.ID(out.external_id),
                        repeated=out.repeated,
                        order=Order.of(out.order),
                    )
                )
            else:
                results.append(_item_error(_prefixed(out, f"orders[{n}]")))
        return PlaceOrdersPayload(results=results)

    @strawberry.mutation(
        description="Integration: move the shop's orders (paid, handed to the carrier, in "
        "transit, delivered, cancelled upstream), 1 to 500, applied and answered in order. An "
        "update that would move an order back is a StaleUpdateError, recorded, never applied."
    )
    async def update_orders(
        self, info: Info[Context, Any], input: UpdateOrdersInput
    ) -> UpdateOrdersResult:
        try:
            shop_id = well_formed_id(str(input.shop_id), "shopId")
            intake = services_of(info).orders.intake
            updates = []
            for n, u in enumerate(input.updates):
                try:
                    ext = well_formed_id(str(u.external_id), "externalId")
                except ValidationFailed as err:
                    raise _prefixed(err, f"updates[{n}]") from None
                step = domain.OrderUpdate(u.step, u.at, u.carrier, u.tracking_number)
                updates.append(ExternalUpdate(ext, step))
            outcomes = await intake.move(actor_of(info), shop_id, updates)
        except DomainError as err:
            return to_user_error(err)  # type: ignore[return-value]
        results: list[Any] = []
        for n, out in enumerate(outcomes):
            if isinstance(out, Moved):
                ext = strawberry.ID(out.external_id or out.order.id)
                results.append(
                    OrderMoved(
                        external_id=ext,
                        repeated=out.repeated,
                        stage=out.stage,
                        order=Order.of(out.order),
                    )
                )
            else:
                results.append(_item_error(_prefixed(out, f"updates[{n}]")))
        return UpdateOrdersPayload(results=results)


# ---- the live feed's order changes -----------------------------------------------------------


@strawberry.type(description="An order was placed or moved. `cursor` resumes the feed after it.")
class OrderEvent:
    _stored: strawberry.Private[StoredEvent]
    cursor: str
    order_id: strawberry.ID
    shop_id: strawberry.ID
    buyer_id: strawberry.ID
    external_id: strawberry.ID | None = strawberry.field(description="The marketplace's id.")
    action: str = strawberry.field(description="PLACED, or the OrderStep that moved it.")
    from_stage: OrderStage | None  # type: ignore[valid-type]
    to_stage: OrderStage  # type: ignore[valid-type]
    actor_kind: ActorKind
    actor_id: str
    at: datetime

    @classmethod
    def of(cls, stored: StoredEvent) -> OrderEvent:
        e = stored.event
        assert isinstance(e, event_domain.OrderEvent)
        return cls(
            _stored=stored,
            cursor=encode_cursor(e.shop_id, stored.seq),
            order_id=strawberry.ID(e.order_id),
            shop_id=strawberry.ID(e.shop_id),
            buyer_id=strawberry.ID(e.buyer_id),
            external_id=strawberry.ID(e.external_id) if e.external_id else None,
            action=e.action,
            from_stage=domain.Stage(e.from_stage) if e.from_stage else None,
            to_stage=domain.Stage(e.to_stage),
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            at=e.at,
        )

    @strawberry.field(description="The order as it now is.")
    async def order(self, info: Info[Context, Any]) -> Order | None:
        e = self._stored.event
        assert isinstance(e, event_domain.OrderEvent)
        lookups = services_of(info).lookups
        key = ("order", e.order_id, self._stored.seq)
        o = await feed_of(info).reads.get(key, lambda: lookups.order(e.order_id))
        return Order.of(o) if o else None


OrderEventsMessage = Annotated[
    OrderEvent | CursorExpiredError | ForbiddenError | ValidationError,
    strawberry.union("OrderEventsMessage"),
]


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(
        description="Every order placed or moved in one shop (the order intake's changes and "
        "the platform's order mutations), after `after` (a cursor of this shop's feed). "
        "Sellers: their shop; buyers: their own orders in the shop named; the platform: the "
        "shop named."
    )
    async def order_events(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[OrderEventsMessage, None]:
        try:
            scope = access.list_scope(actor_of(info), shop_id)
            if scope.shop_id is None:
                raise ValidationFailed("name the shop (shopId) whose feed you want", field="shopId")
            position = decode_cursor(after, scope.shop_id) if after is not None else None
            feed = feed_of(info).read(scope.shop_id, position, on_too_slow=closer_of(info))
            async for stored in feed:
                e = stored.event
                if not isinstance(e, event_domain.OrderEvent):
                    continue
                if scope.buyer_id is not None and e.buyer_id != scope.buyer_id:
                    continue
                yield OrderEvent.of(stored)
        except DomainError as err:
            yield to_user_error(err)  # type: ignore[misc]
        except SubscriberTooSlow:
            return

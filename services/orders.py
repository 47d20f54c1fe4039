"""Order use cases: reading orders, and the carrier and payment events that move them (through
the order intake's handler, services/order_intake.py, as the marketplace's own updates do)."""

from __future__ import annotations

from typing import Any

from models import access
from models.actors import Actor
from models.clock import Clock
from models.errors import NotFound, ValidationFailed
from models.order_intake import OrderStep, OrderUpdate
from models.orders import Order
from services.order_intake import OnOrdersMoved, OrderIntake
from storage import notifications
from storage import orders as order_store
from storage.mongo import Database
from storage.orders import OrderFilter
from storage.pagination import Page, check_page_size

TRACKING_MAX_LENGTH = 64


class OrderService:
    def __init__(
        self, db: Database, clock: Clock, on_orders_moved: OnOrdersMoved | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.intake = OrderIntake(db, clock, on_orders_moved)

    async def get(self, actor: Actor, order_id: str) -> Order:
        order = await order_store.get(self.db, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}", field="id")
        access.require_view(actor, order.shop_id, order.buyer_id, f"order {order_id}")
        return order

    async def page(
        self, actor: Actor, shop_id: str | None, f: OrderFilter, first: int, after: str | None
    ) -> tuple[list[Order], Page]:
        scope = access.list_scope(actor, shop_id)
        if not scope.shop_id and not scope.buyer_id:
            raise ValidationFailed("shopId is required for the platform", field="shopId")
        return await order_store.page(self.db, scope, f, first, after)

    async def record_payment(self, actor: Actor, order_id: str) -> Order:
        update = OrderUpdate(OrderStep.PAID, self.clock.now())
        return await self.intake.move_order(actor, order_id, update, handing_to_carrier=False)

    async def hand_to_carrier(
        self, actor: Actor, order_id: str, carrier: str, tracking_number: str
    ) -> Order:
        carrier, tracking_number = carrier.strip(), tracking_number.strip()
        if not 1 <= len(carrier) <= TRACKING_MAX_LENGTH:
            raise ValidationFailed("carrier is 1 to 64 characters", field="carrier")
        if not 1 <= len(tracking_number) <= TRACKING_MAX_LENGTH:
            raise ValidationFailed("tracking number is 1 to 64 characters", field="trackingNumber")

        update = OrderUpdate(
            OrderStep.HANDED_TO_CARRIER, self.clock.now(), carrier, tracking_number
        )
        return await self.intake.move_order(actor, order_id, update, handing_to_carrier=True)

    async def record_delivery(self, actor: Actor, order_id: str) -> Order:
        update = OrderUpdate(OrderStep.DELIVERED, self.clock.now())
        return await self.intake.move_order(actor, order_id, update, handing_to_carrier=False)

    async def notifications(
        self, actor: Actor, first: int, after: str | None
    ) -> tuple[list[dict[str, Any]], Page]:
        inbox = access.inbox_of(actor)
        if inbox is None:
            check_page_size(first)  # the same answer to a bad page size as everyone gets
            return [], Page([], False, [])
        return await notifications.page(self.db, *inbox, first, after)

"""Order use cases: reading orders, and the carrier and payment events that move them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models import access
from models.actors import Actor
from models.clock import Clock
from models.errors import NotFound, ValidationFailed
from models.orders import Order
from storage import notifications
from storage import orders as order_store
from storage.mongo import Database, Session
from storage.orders import OrderFilter
from storage.pagination import Page, check_page_size

TRACKING_MAX_LENGTH = 64


class OrderService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

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
        def move(order: Order) -> Order:
            access.require_platform(actor)
            return order.paid(self.clock.now())

        return await self._move(order_id, move)

    async def hand_to_carrier(
        self, actor: Actor, order_id: str, carrier: str, tracking_number: str
    ) -> Order:
        carrier, tracking_number = carrier.strip(), tracking_number.strip()
        if not 1 <= len(carrier) <= TRACKING_MAX_LENGTH:
            raise ValidationFailed("carrier is 1 to 64 characters", field="carrier")
        if not 1 <= len(tracking_number) <= TRACKING_MAX_LENGTH:
            raise ValidationFailed("tracking number is 1 to 64 characters", field="trackingNumber")

        def move(order: Order) -> Order:
            access.require_shop_or_platform(actor, order.shop_id)
            return order.handed_to_carrier(self.clock.now(), carrier, tracking_number)

        return await self._move(order_id, move)

    async def record_delivery(self, actor: Actor, order_id: str) -> Order:
        def move(order: Order) -> Order:
            access.require_platform(actor)
            return order.delivered(self.clock.now())

        return await self._move(order_id, move)

    async def notifications(
        self, actor: Actor, first: int, after: str | None
    ) -> tuple[list[dict[str, Any]], Page]:
        inbox = access.inbox_of(actor)
        if inbox is None:
            check_page_size(first)  # the same answer to a bad page size as everyone gets
            return [], Page([], False, [])
        return await notifications.page(self.db, *inbox, first, after)

    async def _move(self, order_id: str, move: Callable[[Order], Order]) -> Order:
        async def work(session: Session) -> Order:
            order = await order_store.get(self.db, order_id, session)
            if order is None:
                raise NotFound(f"no order {order_id}", field="orderId")
            return await order_store.save(self.db, order, move(order), session)

        return await self.db.transaction(work)

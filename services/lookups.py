"""Reads by id with no access check, for the API's batch loaders and the live feed.

Their callers have checked access already: a loader serves a field of a request its caller may
see (a request's order: same shop, same buyer), and a subscription scopes its caller to a shop
(and a buyer to their own requests) before it reads what an event names.
"""

from __future__ import annotations

from models.after_sale_requests import AfterSaleRequest
from models.cancellations import Cancellation
from models.orders import Order
from models.refunds import Refund
from models.tickets import Ticket
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage import events as event_log
from storage import orders as order_store
from storage import refunds as refund_store
from storage import tab_counts
from storage import tickets as ticket_store
from storage.mongo import Database


class Lookups:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def orders(self, ids: list[str]) -> dict[str, Order]:
        return await order_store.get_many(self.db, ids)

    async def after_sales(self, ids: list[str]) -> dict[str, AfterSaleRequest]:
        return {r.id: r for r in await after_sale_store.get_many(self.db, ids)}

    async def order(self, order_id: str) -> Order | None:
        return await order_store.get(self.db, order_id)

    async def cancellation(self, cancellation_id: str) -> Cancellation | None:
        return await cancellation_store.get(self.db, cancellation_id)

    async def after_sale(self, request_id: str) -> AfterSaleRequest | None:
        return await after_sale_store.get(self.db, request_id)

    async def ticket(self, ticket_id: str) -> Ticket | None:
        return await ticket_store.get(self.db, ticket_id)

    async def tickets_of_requests(self, request_ids: list[str]) -> dict[str, Ticket]:
        """The ticket each request opened, by request id (a request that opened none: absent)."""
        return await ticket_store.for_requests(self.db, request_ids)

    async def refunds_of_requests(self, request_ids: list[str]) -> dict[str, Refund]:
        """The refund each request decided, by request id (one that refunds nothing: absent)."""
        return await refund_store.of_requests(self.db, request_ids)

    async def feed_head(self, shop_id: str) -> int:
        """The number of the shop's latest event (its feed's position now)."""
        return await event_log.head(self.db, shop_id)

    async def tab_counters(self, shop_id: str, section: str) -> dict[str, int]:
        """The shop's tab counters of one section ("cancellations", "after_sales"), as stored."""
        return await tab_counts.read(self.db, shop_id, section)

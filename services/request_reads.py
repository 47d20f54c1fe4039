"""What every kind of request reads the same way: one request, a page of a tab, the tab counts.

Parameterised by kind: its write path's store, tab counters and name
(services/request_writes.py), its tabs and its filter (the empty filter is the whole shop, which
reads the tab counters moved by every write).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from models import access
from models.actors import Actor
from models.errors import NotFound
from models.orders import Order
from models.refund_ledger import RefundLedger
from services.request_writes import R, RequestWrites
from storage import orders as order_store
from storage import tab_counts
from storage.mongo import Session
from storage.pagination import Page
from storage.request_store import TabPage

Tab = TypeVar("Tab", bound=Enum)
Filter = TypeVar("Filter")


@dataclass(eq=False)  # a service: equal to itself alone
class RequestReads(RequestWrites[R], Generic[R, Tab, Filter]):
    """The reads of one kind of request, through the store, section and name of its write path;
    its tabs, and the filter that is the whole shop."""

    tabs: type[Tab]
    whole_shop: Filter

    async def get(self, actor: Actor, request_id: str, field: str = "id") -> R:
        """The request, to whoever may see it; `field` is the argument that named it."""
        r = await self.kind.store.get(self.db, request_id)
        if r is None:
            raise NotFound(f"no {self.kind.name} {request_id}", field=field)
        access.require_view(actor, r.shop_id, r.buyer_id, f"{self.kind.name} {request_id}", field)
        return r

    async def page(self, actor: Actor, shop_id: str | None, asked: TabPage) -> tuple[list[R], Page]:
        return await self.kind.store.page(self.db, access.request_scope(actor, shop_id), asked)

    async def tab_counts(self, actor: Actor, shop_id: str | None, f: Filter) -> dict[Tab, int]:
        """Counters when the whole shop is asked for (one read); index-backed counts otherwise."""
        scope = access.request_scope(actor, shop_id)
        if scope.shop_id and not scope.buyer_id and f == self.whole_shop:
            stored = await tab_counts.read(self.db, scope.shop_id, self.kind.section)
            return {tab: max(0, stored.get(tab.value, 0)) for tab in self.tabs}
        return {tab: await self.kind.store.count(self.db, scope, tab, f) for tab in self.tabs}  # type: ignore[arg-type]

    async def for_order(self, order: Order) -> list[R]:
        """Every request of an order, in the kind's order (the order's viewer sees them all)."""
        return (await self.kind.store.for_orders(self.db, [order.id]))[order.id]

    async def order(
        self, order_id: str, session: Session | None = None
    ) -> tuple[Order, RefundLedger]:
        """The order a request of any kind is about and its refund ledger (storage/orders.py),
        read in `session` if given."""
        found = await order_store.with_ledgers(self.db, [order_id], session)
        if order_id not in found:
            raise NotFound(f"no order {order_id}", field="orderId")
        return found[order_id]

    async def visible_order(self, actor: Actor, order_id: str) -> tuple[Order, RefundLedger]:
        order, ledger = await self.order(order_id)
        access.require_view(actor, order.shop_id, order.buyer_id, f"order {order_id}", "orderId")
        return order, ledger

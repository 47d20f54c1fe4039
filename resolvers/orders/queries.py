"""Read side of orders: one order, and a shop's or a buyer's orders, newest first."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context, actor_of, services_of
from resolvers.inputs import well_formed_id
from resolvers.orders.inputs import OrderFilter
from resolvers.orders.types import Order, OrderConnection
from services.read_types import OrderFilter as ServiceOrderFilter


@strawberry.type
class OrderQueries:
    @strawberry.field
    async def order(self, info: Info[Context, Any], id: strawberry.ID) -> Order:
        svc = services_of(info).orders
        order = await svc.get(actor_of(info), well_formed_id(id, "id"))
        return Order.of(order)

    @strawberry.field(description="Newest first. Sellers see their shop; buyers their orders.")
    async def orders(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        filter: OrderFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> OrderConnection:
        f = ServiceOrderFilter()
        if filter is not None:
            f = ServiceOrderFilter(
                fulfilment_state=filter.fulfilment_state,
                buyer_id=well_formed_id(filter.buyer_id, "filter.buyerId"),
                placed_from=filter.placed_from,
                placed_to=filter.placed_to,
            )
        svc = services_of(info).orders
        orders, page = await svc.page(actor_of(info), shop_id, f, first, after)
        return OrderConnection.of(orders, page, Order.of)

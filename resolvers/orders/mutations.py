"""Write side of orders: the platform's and the carrier's events (payment, hand-over, delivery).
Each resolver checks the caller and the input's shape and calls one OrderService method."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from resolvers.context import Context, caller_who, services_of
from resolvers.errors import InvalidStateError, outcome, result_union
from resolvers.inputs import well_formed_id
from resolvers.orders.inputs import HandToCarrierInput, OrderInput
from resolvers.orders.types import Order

OrderEventResult = result_union("OrderEventResult", Order, InvalidStateError)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Platform: the buyer paid.")
    async def record_payment(self, info: Info[Context, Any], input: OrderInput) -> OrderEventResult:
        svc = services_of(info).orders

        async def call() -> Any:
            actor = caller_who(info, access.require_platform)
            order_id = well_formed_id(input.order_id, "orderId")
            return await svc.record_payment(actor, order_id)

        return await outcome(call(), Order.of)

    @strawberry.mutation(description="Shop or platform: the carrier has the parcel.")
    async def hand_to_carrier(
        self, info: Info[Context, Any], input: HandToCarrierInput
    ) -> OrderEventResult:
        svc = services_of(info).orders

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent_or_platform)
            order_id = well_formed_id(input.order_id, "orderId")
            return await svc.hand_to_carrier(actor, order_id, input.carrier, input.tracking_number)

        return await outcome(call(), Order.of)

    @strawberry.mutation(description="Platform (carrier event): the parcel was delivered.")
    async def record_delivery(
        self, info: Info[Context, Any], input: OrderInput
    ) -> OrderEventResult:
        svc = services_of(info).orders

        async def call() -> Any:
            actor = caller_who(info, access.require_platform)
            order_id = well_formed_id(input.order_id, "orderId")
            return await svc.record_delivery(actor, order_id)

        return await outcome(call(), Order.of)

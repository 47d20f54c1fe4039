"""Write side of orders: the platform's and the carrier's events (payment, hand-over, delivery).
Each mutation is who may send it and its one OrderService call (resolvers/commands.py)."""

from __future__ import annotations

from typing import Any

import strawberry

from models import access
from models.actors import Actor
from resolvers.commands import ResultMutations
from resolvers.errors import InvalidStateError, result_union
from resolvers.inputs import well_formed_id
from resolvers.orders.inputs import HandToCarrierInput, OrderInput
from resolvers.orders.types import Order
from services.bootstrap import Services

OrderEventResult = result_union("OrderEventResult", Order, InvalidStateError)


order_event = ResultMutations(OrderEventResult, Order.of)


@strawberry.type
class OrderMutations:
    @order_event.service_call(access.require_platform, "Platform: the buyer paid.")
    async def record_payment(services: Services, actor: Actor, input: OrderInput) -> Any:
        order_id = well_formed_id(input.order_id, "orderId")
        return await services.orders.record_payment(actor, order_id)

    @order_event.service_call(
        access.require_an_agent_or_platform, "Shop or platform: the carrier has the parcel."
    )
    async def hand_to_carrier(services: Services, actor: Actor, input: HandToCarrierInput) -> Any:
        order_id = well_formed_id(input.order_id, "orderId")
        return await services.orders.hand_to_carrier(
            actor, order_id, input.carrier, input.tracking_number
        )

    @order_event.service_call(
        access.require_platform, "Platform (carrier event): the parcel was delivered."
    )
    async def record_delivery(services: Services, actor: Actor, input: OrderInput) -> Any:
        order_id = well_formed_id(input.order_id, "orderId")
        return await services.orders.record_delivery(actor, order_id)

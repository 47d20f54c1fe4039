"""GraphQL inputs of orders: the list's filter and the platform's and carrier's events."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.orders.types import FulfilmentState


@strawberry.input
class OrderFilter:
    fulfilment_state: FulfilmentState | None = None
    buyer_id: strawberry.ID | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None


@strawberry.input
class OrderInput:
    order_id: strawberry.ID


@strawberry.input
class HandToCarrierInput:
    order_id: strawberry.ID
    carrier: str
    tracking_number: str

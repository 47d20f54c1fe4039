"""GraphQL inputs of cancellations, with the reason catalogues turned into enums (one source:
models/reasons)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from models.reasons import (
    BUYER_CANCEL_REASONS,
    CANCELLATION_REJECT_REASONS,
    SELLER_CANCEL_REASONS,
)
from resolvers.inputs import IDEMPOTENCY_HELP, LineQuantityInput
from resolvers.requests.types import sort_enum

# More lines than any order has (the order intake's bound): the list is read before the order.
MAX_LINES = 100

BuyerCancelReason = strawberry.enum(
    Enum("BuyerCancelReason", {code: code for code in BUYER_CANCEL_REASONS}),  # type: ignore[misc]
    description="Why the buyer wants to cancel.",
)
CancellationRejectReason = strawberry.enum(
    Enum("CancellationRejectReason", {c: c for c in CANCELLATION_REJECT_REASONS}),  # type: ignore[misc]
    description="C5: the fixed list a seller picks from to reject a cancellation.",
)
SellerCancelReason = strawberry.enum(
    Enum("SellerCancelReason", {code: code for code in SELLER_CANCEL_REASONS}),  # type: ignore[misc]
    description="C7: why the seller cancels an order.",
)


CancellationSort = sort_enum("CancellationSort")


@strawberry.input
class CancellationFilter:
    order_id: strawberry.ID | None = None
    buyer_id: strawberry.ID | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
class RequestCancellationInput:
    order_id: strawberry.ID
    reason: BuyerCancelReason  # type: ignore[valid-type]
    note: str | None = strawberry.field(default=None, description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class DecideCancellationInput:
    cancellation_id: strawberry.ID
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class RejectCancellationInput:
    cancellation_id: strawberry.ID
    reason: CancellationRejectReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)
    evidence_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="E1: ids of your photo uploads for this order (POST /evidence); at most 10.",
    )


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: SellerCancelReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class CancelUnpaidOrderInput:
    order_id: strawberry.ID
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input(description="C10: the lines and quantities to cancel, with the reason.")
class CancelOrderLinesInput:
    order_id: strawberry.ID
    lines: list[LineQuantityInput] = strawberry.field(
        description="Each line at most once; a quantity is at most the units left on the line "
        "(bought, less those cancelled before). Every unit left: the whole order is cancelled."
    )
    reason: SellerCancelReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)

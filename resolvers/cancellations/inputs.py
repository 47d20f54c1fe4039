"""GraphQL inputs of cancellations, with the reason catalogues turned into enums (one source:
models/reasons)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import commands
from models.errors import ValidationFailed
from models.reasons import BUYER_CANCEL_REASONS, CANCELLATION_REJECT_REASONS, SELLER_CANCEL_REASONS
from resolvers.commands import takes
from resolvers.inputs import LineQuantityInput, well_formed_id
from resolvers.requests.types import api_enum

# More lines than any order has (the order intake's bound): the list is read before the order.
MAX_LINES = 100

BuyerCancelReason = api_enum(
    "BuyerCancelReason", BUYER_CANCEL_REASONS, "Why the buyer wants to cancel."
)
CancellationRejectReason = api_enum(
    "CancellationRejectReason",
    CANCELLATION_REJECT_REASONS,
    "C5: the fixed list a seller picks from to reject a cancellation.",
)
SellerCancelReason = api_enum(
    "SellerCancelReason", SELLER_CANCEL_REASONS, "C7: why the seller cancels an order."
)


def cancelled_lines(lines: list[LineQuantityInput]) -> commands.Lines:
    """C10's lines as given, each refusal naming its line (the domain refuses one given twice)."""
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"at most {MAX_LINES} lines", field="lines")
    return tuple(
        (well_formed_id(line.line_id, f"lines[{i}].lineId"), line.quantity)
        for i, line in enumerate(lines)
    )


@strawberry.input
class CancellationFilter:
    order_id: strawberry.ID | None = None
    buyer_id: strawberry.ID | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
@takes(commands.RequestCancellation)
class RequestCancellationInput:
    order_id: strawberry.ID
    reason: BuyerCancelReason  # type: ignore[valid-type]
    note: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.input
@takes(commands.WithdrawCancellation, commands.AcceptCancellation)
class DecideCancellationInput:
    cancellation_id: strawberry.ID


@strawberry.input
@takes(
    commands.RejectCancellation,
    evidence="E1: ids of your photo uploads for this order (POST /evidence); at most 10.",
)
class RejectCancellationInput:
    cancellation_id: strawberry.ID
    reason: CancellationRejectReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.input
@takes(commands.CancelOrder)
class CancelOrderInput:
    order_id: strawberry.ID
    reason: SellerCancelReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.input
@takes(commands.CancelUnpaidOrder)
class CancelUnpaidOrderInput:
    order_id: strawberry.ID


@strawberry.input(description="C10: the lines and quantities to cancel, with the reason.")
@takes(commands.CancelOrderLines, lines=cancelled_lines)
class CancelOrderLinesInput:
    order_id: strawberry.ID
    lines: list[LineQuantityInput] = strawberry.field(
        description="Each line at most once; a quantity is at most the units left on the line "
        "(bought, less those cancelled before). Every unit left: the whole order is cancelled."
    )
    reason: SellerCancelReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")

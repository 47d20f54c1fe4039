"""C10 through GraphQL: `cancelOrderLines`, its input and its typed error."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models.commands import CancelOrderLines, Command
from models.errors import ValidationFailed
from resolvers.after_sales.inputs import LineQuantityInput
from resolvers.cancellations.inputs import SellerCancelReason
from resolvers.cancellations.mutations import CancellationResult
from resolvers.cancellations.types import Cancellation
from resolvers.commands import handled
from resolvers.context import Context
from resolvers.inputs import IDEMPOTENCY_HELP, well_formed_id

# More lines than any order has (the order intake's bound): the list is read before the order.
MAX_LINES = 100


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


@strawberry.type
class LineCancelMutation:
    @strawberry.mutation(
        description="Seller: cancel some lines and quantities of an order with a reason (C10). "
        "Those units are refunded and the rest of the order goes on; asking for every unit "
        "left cancels the whole order (C7)."
    )
    async def cancel_order_lines(
        self, info: Info[Context, Any], input: CancelOrderLinesInput
    ) -> CancellationResult:
        def command() -> Command:
            order_id = well_formed_id(input.order_id, "orderId")
            if len(input.lines) > MAX_LINES:
                raise ValidationFailed(f"at most {MAX_LINES} lines", field="lines")
            lines = tuple(
                (well_formed_id(line.line_id, f"lines[{i}].lineId"), line.quantity)
                for i, line in enumerate(input.lines)
            )
            return CancelOrderLines(order_id, lines, input.reason.value, input.comment)

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, Cancellation.of
        )

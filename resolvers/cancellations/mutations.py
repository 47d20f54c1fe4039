"""Write side of cancellations (C1 to C10), per actor: each mutation is who may send it, its input
and the command the input makes (resolvers/commands.py); the rules live in models/, the writes in
services/."""

from __future__ import annotations

import strawberry

from models import access
from models.commands import (
    AcceptCancellation,
    CancelOrder,
    CancelOrderLines,
    CancelUnpaidOrder,
    Command,
    RejectCancellation,
    RequestCancellation,
    WithdrawCancellation,
)
from models.errors import ValidationFailed
from resolvers.cancellations.inputs import (
    MAX_LINES,
    CancelOrderInput,
    CancelOrderLinesInput,
    CancelUnpaidOrderInput,
    DecideCancellationInput,
    RejectCancellationInput,
    RequestCancellationInput,
)
from resolvers.cancellations.types import Cancellation
from resolvers.commands import ResultMutations
from resolvers.errors import (
    AlreadyRequestedError,
    InvalidStateError,
    NotPendingError,
    OrderNotCancellableError,
    PaymentWindowOpenError,
    ResponseWindowClosedError,
    UnitsNotAvailableError,
    result_union,
)
from resolvers.inputs import well_formed_id

# One union for every cancellation step (the policy: resolvers/errors.py::result_union).
CancellationResult = result_union(
    "CancellationResult",
    Cancellation,
    OrderNotCancellableError,
    AlreadyRequestedError,
    PaymentWindowOpenError,
    NotPendingError,
    ResponseWindowClosedError,
    InvalidStateError,
    UnitsNotAvailableError,
)
cancellation = ResultMutations(CancellationResult, Cancellation.of)


def _order_id(value: strawberry.ID) -> str:
    return well_formed_id(value, "orderId")


def _id(value: strawberry.ID) -> str:
    return well_formed_id(value, "cancellationId")


@strawberry.type
class CancellationMutations:
    # ---- buyer ---------------------------------------------------------------------------

    @cancellation.command(
        access.require_a_buyer,
        "Buyer: cancel an order. At once inside the unconditional window (C1), a request to the "
        "seller after it (C2), refused once the carrier has it (C3).",
    )
    def request_cancellation(input: RequestCancellationInput) -> Command:
        return RequestCancellation(_order_id(input.order_id), input.reason.value, input.note)

    @cancellation.command(
        access.require_a_buyer, "Buyer: take back a request the seller has not answered."
    )
    def withdraw_cancellation(input: DecideCancellationInput) -> Command:
        return WithdrawCancellation(_id(input.cancellation_id))

    # ---- seller agent --------------------------------------------------------------------

    @cancellation.command(
        access.require_an_acting_agent, "Seller: accept; the order is cancelled and refunded (C4)."
    )
    def accept_cancellation(input: DecideCancellationInput) -> Command:
        return AcceptCancellation(_id(input.cancellation_id))

    @cancellation.command(
        access.require_an_acting_agent, "Seller: reject with a reason from the list (C5)."
    )
    def reject_cancellation(input: RejectCancellationInput) -> Command:
        return RejectCancellation(_id(input.cancellation_id), input.reason.value, input.comment)

    @cancellation.command(
        access.require_an_acting_agent, "Seller: cancel an order with a reason (C7)."
    )
    def cancel_order(input: CancelOrderInput) -> Command:
        return CancelOrder(_order_id(input.order_id), input.reason.value, input.comment)

    # ---- platform ------------------------------------------------------------------------

    @cancellation.command(
        access.require_platform, "Platform: cancel an order not paid in time (C8)."
    )
    def cancel_unpaid_order(input: CancelUnpaidOrderInput) -> Command:
        return CancelUnpaidOrder(_order_id(input.order_id))

    # ---- seller agent: some lines --------------------------------------------------------

    @cancellation.command(
        access.require_an_acting_agent,
        "Seller: cancel some lines and quantities of an order with a reason (C10). Those units "
        "are refunded and the rest of the order goes on; asking for every unit left cancels the "
        "whole order (C7).",
    )
    def cancel_order_lines(input: CancelOrderLinesInput) -> Command:
        if len(input.lines) > MAX_LINES:
            raise ValidationFailed(f"at most {MAX_LINES} lines", field="lines")
        lines = tuple(
            (well_formed_id(line.line_id, f"lines[{i}].lineId"), line.quantity)
            for i, line in enumerate(input.lines)
        )
        return CancelOrderLines(_order_id(input.order_id), lines, input.reason.value, input.comment)

"""Write side of cancellations (C1 to C10), by who sends each step (ResultMutations.step)."""

from __future__ import annotations

import strawberry

from models import commands
from resolvers import errors
from resolvers.cancellations import inputs
from resolvers.cancellations.types import Cancellation
from resolvers.commands import ResultMutations

# One union for every cancellation step (the policy: resolvers/errors.py::result_union).
cancellation = ResultMutations.of_type(
    Cancellation,
    errors.OrderNotCancellableError,
    errors.AlreadyRequestedError,
    errors.PaymentWindowOpenError,
    errors.NotPendingError,
    errors.ResponseWindowClosedError,
    errors.InvalidStateError,
    errors.UnitsNotAvailableError,
)


@strawberry.type
class CancellationMutations:
    # ---- buyer ---------------------------------------------------------------------------

    request_cancellation = cancellation.step(
        commands.RequestCancellation,
        inputs.RequestCancellationInput,
        "Buyer: cancel an order. At once inside the unconditional window (C1), a request to the "
        "seller after it (C2), refused once the carrier has it (C3).",
    )
    withdraw_cancellation = cancellation.step(
        commands.WithdrawCancellation,
        inputs.DecideCancellationInput,
        "Buyer: take back a request the seller has not answered.",
    )

    # ---- seller agent --------------------------------------------------------------------

    accept_cancellation = cancellation.step(
        commands.AcceptCancellation,
        inputs.DecideCancellationInput,
        "Seller: accept; the order is cancelled and refunded (C4).",
    )
    reject_cancellation = cancellation.step(
        commands.RejectCancellation,
        inputs.RejectCancellationInput,
        "Seller: reject with a reason from the list (C5).",
    )
    cancel_order = cancellation.step(
        commands.CancelOrder, inputs.CancelOrderInput, "Seller: cancel an order with a reason (C7)."
    )

    # ---- platform ------------------------------------------------------------------------

    cancel_unpaid_order = cancellation.step(
        commands.CancelUnpaidOrder,
        inputs.CancelUnpaidOrderInput,
        "Platform: cancel an order not paid in time (C8).",
    )

    # ---- seller agent: some lines --------------------------------------------------------

    cancel_order_lines = cancellation.step(
        commands.CancelOrderLines,
        inputs.CancelOrderLinesInput,
        "Seller: cancel some lines and quantities of an order with a reason (C10). Those units "
        "are refunded and the rest of the order goes on; asking for every unit left cancels the "
        "whole order (C7).",
        lines=inputs.cancelled_lines,
    )

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
from resolvers.commands import CommandMutations
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
cancellation_step = CommandMutations(CancellationResult, Cancellation.of)


def _order_id(value: strawberry.ID) -> str:
    return well_formed_id(value, "orderId")


def _id(value: strawberry.ID) -> str:
    return well_formed_id(value, "cancellationId")


def _cancel_lines(input: CancelOrderLinesInput) -> Command:
    order_id = _order_id(input.order_id)
    if len(input.lines) > MAX_LINES:
        raise ValidationFailed(f"at most {MAX_LINES} lines", field="lines")
    lines = tuple(
        (well_formed_id(line.line_id, f"lines[{i}].lineId"), line.quantity)
        for i, line in enumerate(input.lines)
    )
    return CancelOrderLines(order_id, lines, input.reason.value, input.comment)


@strawberry.type
class CancellationMutations:
    request_cancellation = cancellation_step(
        "Buyer: cancel an order. At once inside the unconditional window (C1), a request to the "
        "seller after it (C2), refused once the carrier has it (C3).",
        access.require_a_buyer,
        RequestCancellationInput,
        lambda i: RequestCancellation(_order_id(i.order_id), i.reason.value, i.note),
    )
    withdraw_cancellation = cancellation_step(
        "Buyer: take back a request the seller has not answered.",
        access.require_a_buyer,
        DecideCancellationInput,
        lambda i: WithdrawCancellation(_id(i.cancellation_id)),
    )
    accept_cancellation = cancellation_step(
        "Seller: accept; the order is cancelled and refunded (C4).",
        access.require_an_acting_agent,
        DecideCancellationInput,
        lambda i: AcceptCancellation(_id(i.cancellation_id)),
    )
    reject_cancellation = cancellation_step(
        "Seller: reject with a reason from the list (C5).",
        access.require_an_acting_agent,
        RejectCancellationInput,
        lambda i: RejectCancellation(_id(i.cancellation_id), i.reason.value, i.comment),
    )
    cancel_order = cancellation_step(
        "Seller: cancel an order with a reason (C7).",
        access.require_an_acting_agent,
        CancelOrderInput,
        lambda i: CancelOrder(_order_id(i.order_id), i.reason.value, i.comment),
    )
    cancel_unpaid_order = cancellation_step(
        "Platform: cancel an order not paid in time (C8).",
        access.require_platform,
        CancelUnpaidOrderInput,
        lambda i: CancelUnpaidOrder(_order_id(i.order_id)),
    )
    cancel_order_lines = cancellation_step(
        "Seller: cancel some lines and quantities of an order with a reason (C10). Those units "
        "are refunded and the rest of the order goes on; asking for every unit left cancels the "
        "whole order (C7).",
        access.require_an_acting_agent,
        CancelOrderLinesInput,
        _cancel_lines,
    )

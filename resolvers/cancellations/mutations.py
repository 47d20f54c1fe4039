"""Write side of cancellations (C1 to C8). Each resolver builds one command and hands it to
`Services.handle` (resolvers/commands.py::handled), then maps the outcome to its result union; the
rules live in models/, the writes in services/."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models.commands import (
    AcceptCancellation,
    CancelOrder,
    CancelUnpaidOrder,
    Command,
    RejectCancellation,
    RequestCancellation,
    WithdrawCancellation,
)
from resolvers.cancellations.inputs import (
    CancelOrderInput,
    CancelUnpaidOrderInput,
    DecideCancellationInput,
    RejectCancellationInput,
    RequestCancellationInput,
)
from resolvers.cancellations.types import Cancellation
from resolvers.commands import handled, with_evidence
from resolvers.context import Context
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


@strawberry.type
class CancellationMutations:
    # ---- buyer ---------------------------------------------------------------------------

    @strawberry.mutation(
        description="Buyer: cancel an order. At once inside the unconditional window (C1), "
        "a request to the seller after it (C2), refused once the carrier has it (C3)."
    )
    async def request_cancellation(
        self, info: Info[Context, Any], input: RequestCancellationInput
    ) -> CancellationResult:
        def command() -> Command:
            order_id = well_formed_id(input.order_id, "orderId")
            return RequestCancellation(order_id, input.reason.value, input.note)

        return await handled(
            info, access.require_a_buyer, command, input.idempotency_key, Cancellation.of
        )

    @strawberry.mutation(description="Buyer: take back a request the seller has not answered.")
    async def withdraw_cancellation(
        self, info: Info[Context, Any], input: DecideCancellationInput
    ) -> CancellationResult:
        def command() -> Command:
            return WithdrawCancellation(well_formed_id(input.cancellation_id, "cancellationId"))

        return await handled(
            info, access.require_a_buyer, command, input.idempotency_key, Cancellation.of
        )

    # ---- seller agent --------------------------------------------------------------------

    @strawberry.mutation(description="Seller: accept; the order is cancelled and refunded (C4).")
    async def accept_cancellation(
        self, info: Info[Context, Any], input: DecideCancellationInput
    ) -> CancellationResult:
        def command() -> Command:
            return AcceptCancellation(well_formed_id(input.cancellation_id, "cancellationId"))

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, Cancellation.of
        )

    @strawberry.mutation(description="Seller: reject with a reason from the list (C5).")
    async def reject_cancellation(
        self, info: Info[Context, Any], input: RejectCancellationInput
    ) -> CancellationResult:
        def command() -> Command:
            cid = well_formed_id(input.cancellation_id, "cancellationId")
            return RejectCancellation(cid, input.reason.value, input.comment)

        evidence = with_evidence(info, input.evidence_ids)
        return await handled(
            info,
            access.require_an_acting_agent,
            command,
            input.idempotency_key,
            Cancellation.of,
            evidence,
        )

    @strawberry.mutation(description="Seller: cancel an order with a reason (C7).")
    async def cancel_order(
        self, info: Info[Context, Any], input: CancelOrderInput
    ) -> CancellationResult:
        def command() -> Command:
            order_id = well_formed_id(input.order_id, "orderId")
            return CancelOrder(order_id, input.reason.value, input.comment)

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, Cancellation.of
        )

    # ---- platform ------------------------------------------------------------------------

    @strawberry.mutation(description="Platform: cancel an order not paid in time (C8).")
    async def cancel_unpaid_order(
        self, info: Info[Context, Any], input: CancelUnpaidOrderInput
    ) -> CancellationResult:
        def command() -> Command:
            return CancelUnpaidOrder(well_formed_id(input.order_id, "orderId"))

        return await handled(
            info, access.require_platform, command, input.idempotency_key, Cancellation.of
        )

"""Write side. Each resolver checks its input's shape, calls one service method, and maps the
outcome to its result union; the rules live in models/, the writes in services/ and storage/."""

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
from resolvers.commands import handled, with_evidence
from resolvers.context import Context, caller_who, services_of
from resolvers.errors import (
    AlreadyRequestedError,
    InvalidStateError,
    NotPendingError,
    OrderNotCancellableError,
    PaymentWindowOpenError,
    ResponseWindowClosedError,
    outcome,
    result_union,
)
from resolvers.inputs import (
    CancelOrderInput,
    CancelUnpaidOrderInput,
    DecideCancellationInput,
    HandToCarrierInput,
    OrderInput,
    RejectCancellationInput,
    RequestCancellationInput,
    well_formed_id,
)
from resolvers.orders.types import Cancellation, Order

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
)
OrderEventResult = result_union("OrderEventResult", Order, InvalidStateError)


@strawberry.type
class Mutation:
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

    # ---- platform and carrier ------------------------------------------------------------

    @strawberry.mutation(description="Platform: cancel an order not paid in time (C8).")
    async def cancel_unpaid_order(
        self, info: Info[Context, Any], input: CancelUnpaidOrderInput
    ) -> CancellationResult:
        def command() -> Command:
            return CancelUnpaidOrder(well_formed_id(input.order_id, "orderId"))

        return await handled(
            info, access.require_platform, command, input.idempotency_key, Cancellation.of
        )

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

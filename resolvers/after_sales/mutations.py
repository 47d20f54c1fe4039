"""Write side of after-sale requests, per actor. Each resolver checks its input's shape, calls one
service method and maps the outcome to its result union; the rules live in models/after_sales.py.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models.commands import (
    AfterSaleCommand,
    AnswerOffer,
    AppealAfterSale,
    ApprovalTerms,
    ConfirmReturnReceived,
    DecideAppeal,
    Lines,
    PlatformRefund,
    RecordReplacementDelivered,
    RefundOrder,
    RejectAfterSale,
    RejectReturnOnReceipt,
    RequestAfterSale,
    ShipReplacement,
    ShipReturn,
    WithdrawAfterSale,
    chosen_lines,
    decision_command,
)
from models.policy import CategoryPolicy as DomainPolicy
from resolvers.after_sales.inputs import (
    AfterSaleStepInput,
    AnswerOfferInput,
    ApproveAfterSaleInput,
    CategoryPolicyInput,
    DecideAppealInput,
    LineQuantityInput,
    ReasonedStepInput,
    RefundOrderInput,
    RequestAfterSaleInput,
    ShipmentInput,
    lines_of,
)
from resolvers.after_sales.types import AfterSale, CategoryPolicy
from resolvers.commands import handled, with_evidence
from resolvers.context import Context, caller_who, services_of
from resolvers.errors import (
    AfterSaleRefusedError,
    InvalidStateError,
    NotPendingError,
    RefundExceedsRefundableError,
    ResponseWindowClosedError,
    WindowClosedError,
    outcome,
    result_union,
)
from resolvers.inputs import money_of, well_formed_id

# One union for every after-sale step (the policy: resolvers/errors.py::result_union): opening
# a request fails with AfterSaleRefusedError, a step on it with NotPendingError / InvalidStateError
# (naming the current state) or a closed window, a refund with RefundExceedsRefundableError.
AfterSaleResult = result_union(
    "AfterSaleResult",
    AfterSale,
    AfterSaleRefusedError,
    NotPendingError,
    InvalidStateError,
    ResponseWindowClosedError,
    WindowClosedError,
    RefundExceedsRefundableError,
)
SetCategoryPolicyResult = result_union("SetCategoryPolicyResult", CategoryPolicy)


def _id(value: strawberry.ID) -> str:
    return well_formed_id(value, "requestId")


def _chosen(lines: list[LineQuantityInput] | None) -> Lines | None:
    return chosen_lines(lines_of(lines))


@strawberry.type
class AfterSaleMutations:
    # ---- buyer ---------------------------------------------------------------------------

    @strawberry.mutation(
        description="Buyer: ask for a refund only, a return and refund, or a replacement for "
        "some lines and quantities (R1, P1); after one rejection, a second request (R5)."
    )
    async def request_after_sale(
        self, info: Info[Context, Any], input: RequestAfterSaleInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            order_id = well_formed_id(input.order_id, "orderId")
            chosen = chosen_lines(lines_of(input.lines) or {})
            return RequestAfterSale(order_id, input.kind, chosen, input.reason, input.note)

        evidence = with_evidence(info, input.evidence_ids)
        return await handled(
            info, access.require_a_buyer, command, input.idempotency_key, AfterSale.of, evidence
        )

    @strawberry.mutation(description="Buyer: take back a request not yet answered or shipped.")
    async def withdraw_after_sale(
        self, info: Info[Context, Any], input: AfterSaleStepInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return WithdrawAfterSale(_id(input.request_id))

        return await handled(
            info, access.require_a_buyer, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(description="Buyer: appeal a rejection within the appeal window (R5).")
    async def appeal_after_sale(
        self, info: Info[Context, Any], input: ReasonedStepInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return AppealAfterSale(_id(input.request_id), input.reason, input.comment)

        evidence = with_evidence(info, input.evidence_ids)
        return await handled(
            info, access.require_a_buyer, command, input.idempotency_key, AfterSale.of, evidence
        )

    @strawberry.mutation(
        description="Buyer: accept the seller's partial-refund offer (refunded that amount, keep "
        "the item) or decline it (the seller decides again) (R12)."
    )
    async def answer_offer(
        self, info: Info[Context, Any], input: AnswerOfferInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return AnswerOffer(_id(input.request_id), input.accept)

        return await handled(
            info, access.require_a_buyer, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(description="Buyer: the item is on its way back (R8).")
    async def ship_return(self, info: Info[Context, Any], input: ShipmentInput) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return ShipReturn(_id(input.request_id), input.carrier, input.tracking_number)

        return await handled(
            info, access.require_a_buyer, command, input.idempotency_key, AfterSale.of
        )

    # ---- seller agent --------------------------------------------------------------------

    @strawberry.mutation(
        description="Seller: approve with a decision (R7, P2): some lines, a partial amount, "
        "or let the buyer keep the item; or decide otherwise: OFFER_PARTIAL_REFUND offers "
        "partialAmount and waits for the buyer (R12), ISSUE_REPLACEMENT_REFUND settles a "
        "replacement with a refund instead (P4)."
    )
    async def approve_after_sale(
        self, info: Info[Context, Any], input: ApproveAfterSaleInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            terms = ApprovalTerms(
                lines=_chosen(input.lines),
                buyer_keeps_item=input.buyer_keeps_item,
                partial_amount=money_of(input.partial_amount, "partialAmount"),
                reason=input.reason,
                comment=input.comment,
            )
            return decision_command(_id(input.request_id), input.decision, terms)

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(description="Seller: reject with a reason of the kind's catalogue (R4).")
    async def reject_after_sale(
        self, info: Info[Context, Any], input: ReasonedStepInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return RejectAfterSale(_id(input.request_id), input.reason, input.comment)

        evidence = with_evidence(info, input.evidence_ids)
        return await handled(
            info,
            access.require_an_acting_agent,
            command,
            input.idempotency_key,
            AfterSale.of,
            evidence,
        )

    @strawberry.mutation(description="Seller: the returned parcel arrived; the refund is paid.")
    async def confirm_return_received(
        self, info: Info[Context, Any], input: AfterSaleStepInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return ConfirmReturnReceived(_id(input.request_id))

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(description="Seller: the returned parcel is not as agreed (R8).")
    async def reject_return_on_receipt(
        self, info: Info[Context, Any], input: ReasonedStepInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return RejectReturnOnReceipt(_id(input.request_id), input.reason, input.comment)

        evidence = with_evidence(info, input.evidence_ids)
        return await handled(
            info,
            access.require_an_acting_agent,
            command,
            input.idempotency_key,
            AfterSale.of,
            evidence,
        )

    @strawberry.mutation(
        description="Seller: the replacement is on its way (P2); its replacement order is handed "
        "to the carrier with it (P4)."
    )
    async def ship_replacement(
        self, info: Info[Context, Any], input: ShipmentInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return ShipReplacement(_id(input.request_id), input.carrier, input.tracking_number)

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(description="Seller: refund with no buyer request (R9).")
    async def refund_order(
        self, info: Info[Context, Any], input: RefundOrderInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return _refund(RefundOrder, input)

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, AfterSale.of
        )

    # ---- platform ------------------------------------------------------------------------

    @strawberry.mutation(description="Platform: refund with no seller step (R10).")
    async def platform_refund(
        self, info: Info[Context, Any], input: RefundOrderInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return _refund(PlatformRefund, input)

        return await handled(
            info, access.require_platform, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(description="Platform: decide an appeal for the buyer or the seller (R6).")
    async def decide_appeal(
        self, info: Info[Context, Any], input: DecideAppealInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return DecideAppeal(_id(input.request_id), input.for_buyer, input.note)

        return await handled(
            info, access.require_platform, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(
        description="Platform (carrier event): the replacement was delivered (its replacement "
        "order too)."
    )
    async def record_replacement_delivered(
        self, info: Info[Context, Any], input: AfterSaleStepInput
    ) -> AfterSaleResult:
        def command() -> AfterSaleCommand:
            return RecordReplacementDelivered(_id(input.request_id))

        return await handled(
            info, access.require_platform, command, input.idempotency_key, AfterSale.of
        )

    @strawberry.mutation(
        description="Platform: set a category's policy (Y1). Requests already opened keep theirs."
    )
    async def set_category_policy(
        self, info: Info[Context, Any], input: CategoryPolicyInput
    ) -> SetCategoryPolicyResult:
        svc = services_of(info).after_sales

        async def call() -> Any:
            actor = caller_who(info, access.require_platform)
            given: dict[str, Any] = {}
            for f in fields(DomainPolicy):
                seconds = getattr(input, f"{f.name}_seconds", None)
                flag = getattr(input, f.name, None)
                if seconds is not None:
                    given[f.name] = timedelta(seconds=seconds)
                elif flag is not None:
                    given[f.name] = flag
            policy = DomainPolicy(**given)
            await svc.set_policy(actor, input.category, policy)
            return input.category.strip(), policy

        return await outcome(call(), lambda cp: CategoryPolicy.of(*cp))


def _refund(
    cls: type[RefundOrder] | type[PlatformRefund], input: RefundOrderInput
) -> AfterSaleCommand:
    """R9 and R10 take the same input: only who may send it differs."""
    return cls(
        well_formed_id(input.order_id, "orderId"),
        input.reason,
        input.comment,
        _chosen(input.lines),
        money_of(input.partial_amount, "partialAmount"),
    )

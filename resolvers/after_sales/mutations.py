"""Write side of after-sale requests, per actor: each mutation is who may send it, its input and
the command the input makes (resolvers/commands.py); the rules live in models/, the writes in
services/."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models.commands import (
    AnswerOffer,
    AppealAfterSale,
    ApprovalTerms,
    Command,
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
    ReasonedStepInput,
    RefundOrderInput,
    RequestAfterSaleInput,
    ShipmentInput,
    lines_of,
)
from resolvers.after_sales.types import AfterSale, CategoryPolicy
from resolvers.commands import CommandMutations
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
from resolvers.inputs import LineQuantityInput, money_of, well_formed_id

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
after_sale_step = CommandMutations(AfterSaleResult, AfterSale.of)


def _id(value: strawberry.ID) -> str:
    return well_formed_id(value, "requestId")


def _chosen(lines: list[LineQuantityInput] | None) -> Lines | None:
    return chosen_lines(lines_of(lines))


def _request(input: RequestAfterSaleInput) -> Command:
    order_id = well_formed_id(input.order_id, "orderId")
    chosen = chosen_lines(lines_of(input.lines) or {})
    return RequestAfterSale(order_id, input.kind, chosen, input.reason, input.note)


def _decision(input: ApproveAfterSaleInput) -> Command:
    terms = ApprovalTerms(
        lines=_chosen(input.lines),
        buyer_keeps_item=input.buyer_keeps_item,
        partial_amount=money_of(input.partial_amount, "partialAmount"),
        reason=input.reason,
        comment=input.comment,
    )
    return decision_command(_id(input.request_id), input.decision, terms)


def _refund(cls: type[RefundOrder] | type[PlatformRefund]) -> Any:
    """R9 and R10 take the same input: only who may send it differs."""

    def command(input: RefundOrderInput) -> Command:
        return cls(
            well_formed_id(input.order_id, "orderId"),
            input.reason,
            input.comment,
            _chosen(input.lines),
            money_of(input.partial_amount, "partialAmount"),
        )

    return command


@strawberry.type
class AfterSaleMutations:
    request_after_sale = after_sale_step(
        "Buyer: ask for a refund only, a return and refund, or a replacement for some lines and "
        "quantities (R1, P1); after one rejection, a second request (R5).",
        access.require_a_buyer,
        RequestAfterSaleInput,
        _request,
    )
    withdraw_after_sale = after_sale_step(
        "Buyer: take back a request not yet answered or shipped.",
        access.require_a_buyer,
        AfterSaleStepInput,
        lambda i: WithdrawAfterSale(_id(i.request_id)),
    )
    appeal_after_sale = after_sale_step(
        "Buyer: appeal a rejection within the appeal window (R5).",
        access.require_a_buyer,
        ReasonedStepInput,
        lambda i: AppealAfterSale(_id(i.request_id), i.reason, i.comment),
    )
    answer_offer = after_sale_step(
        "Buyer: accept the seller's partial-refund offer (refunded that amount, keep the item) or "
        "decline it (the seller decides again) (R12).",
        access.require_a_buyer,
        AnswerOfferInput,
        lambda i: AnswerOffer(_id(i.request_id), i.accept),
    )
    ship_return = after_sale_step(
        "Buyer: the item is on its way back (R8).",
        access.require_a_buyer,
        ShipmentInput,
        lambda i: ShipReturn(_id(i.request_id), i.carrier, i.tracking_number),
    )
    approve_after_sale = after_sale_step(
        "Seller: approve with a decision (R7, P2): some lines, a partial amount, or let the buyer "
        "keep the item; or decide otherwise: OFFER_PARTIAL_REFUND offers partialAmount and waits "
        "for the buyer (R12), ISSUE_REPLACEMENT_REFUND settles a replacement with a refund "
        "instead (P4).",
        access.require_an_acting_agent,
        ApproveAfterSaleInput,
        _decision,
    )
    reject_after_sale = after_sale_step(
        "Seller: reject with a reason of the kind's catalogue (R4).",
        access.require_an_acting_agent,
        ReasonedStepInput,
        lambda i: RejectAfterSale(_id(i.request_id), i.reason, i.comment),
    )
    confirm_return_received = after_sale_step(
        "Seller: the returned parcel arrived; the refund is paid.",
        access.require_an_acting_agent,
        AfterSaleStepInput,
        lambda i: ConfirmReturnReceived(_id(i.request_id)),
    )
    reject_return_on_receipt = after_sale_step(
        "Seller: the returned parcel is not as agreed (R8).",
        access.require_an_acting_agent,
        ReasonedStepInput,
        lambda i: RejectReturnOnReceipt(_id(i.request_id), i.reason, i.comment),
    )
    ship_replacement = after_sale_step(
        "Seller: the replacement is on its way (P2); its replacement order is handed to the "
        "carrier with it (P4).",
        access.require_an_acting_agent,
        ShipmentInput,
        lambda i: ShipReplacement(_id(i.request_id), i.carrier, i.tracking_number),
    )
    refund_order = after_sale_step(
        "Seller: refund with no buyer request (R9).",
        access.require_an_acting_agent,
        RefundOrderInput,
        _refund(RefundOrder),
    )
    platform_refund = after_sale_step(
        "Platform: refund with no seller step (R10).",
        access.require_platform,
        RefundOrderInput,
        _refund(PlatformRefund),
    )
    decide_appeal = after_sale_step(
        "Platform: decide an appeal for the buyer or the seller (R6).",
        access.require_platform,
        DecideAppealInput,
        lambda i: DecideAppeal(_id(i.request_id), i.for_buyer, i.note),
    )
    record_replacement_delivered = after_sale_step(
        "Platform (carrier event): the replacement was delivered (its replacement order too).",
        access.require_platform,
        AfterSaleStepInput,
        lambda i: RecordReplacementDelivered(_id(i.request_id)),
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

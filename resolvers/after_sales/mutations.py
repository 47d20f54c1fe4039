"""Write side of after-sale requests (R1 to R12, P1 to P4), by who sends each step
(ResultMutations.step), and the category policies (Y1)."""

from __future__ import annotations

import strawberry

from models import access, commands
from models.actors import Actor
from models.commands import Command
from models.policy import CategoryPolicy as DomainPolicy
from resolvers import errors
from resolvers.after_sales import inputs
from resolvers.after_sales.types import AfterSale, CategoryPolicy
from resolvers.commands import ResultMutations
from resolvers.inputs import well_formed_id
from services.bootstrap import Services

# One union for every after-sale step (the policy: resolvers/errors.py::result_union): opening
# a request fails with AfterSaleRefusedError, a step on it with NotPendingError / InvalidStateError
# (naming the current state) or a closed window, a refund with RefundExceedsRefundableError.
after_sale = ResultMutations.of_type(
    AfterSale,
    errors.AfterSaleRefusedError,
    errors.NotPendingError,
    errors.InvalidStateError,
    errors.ResponseWindowClosedError,
    errors.WindowClosedError,
    errors.RefundExceedsRefundableError,
)
SetCategoryPolicyResult = errors.result_union("SetCategoryPolicyResult", CategoryPolicy)
category_policy = ResultMutations(SetCategoryPolicyResult, lambda cp: CategoryPolicy.of(*cp))


@strawberry.type
class AfterSaleMutations:
    # ---- buyer ---------------------------------------------------------------------------

    request_after_sale = after_sale.step(
        commands.RequestAfterSale,
        inputs.RequestAfterSaleInput,
        "Buyer: ask for a refund only, a return and refund, or a replacement for some lines and "
        "quantities (R1, P1); after one rejection, a second request (R5).",
        lines=inputs.lines_of,
    )
    withdraw_after_sale = after_sale.step(
        commands.WithdrawAfterSale,
        inputs.AfterSaleStepInput,
        "Buyer: take back a request not yet answered or shipped.",
    )
    appeal_after_sale = after_sale.step(
        commands.AppealAfterSale,
        inputs.ReasonedStepInput,
        "Buyer: appeal a rejection within the appeal window (R5).",
    )
    answer_offer = after_sale.step(
        commands.AnswerOffer,
        inputs.AnswerOfferInput,
        "Buyer: accept the seller's partial-refund offer (refunded that amount, keep the item) or "
        "decline it (the seller decides again) (R12).",
    )
    ship_return = after_sale.step(
        commands.ShipReturn, inputs.ShipmentInput, "Buyer: the item is on its way back (R8)."
    )

    # ---- seller agent --------------------------------------------------------------------

    @after_sale.command(
        access.require_an_acting_agent,
        "Seller: approve with a decision (R7, P2): some lines, a partial amount, or let the buyer "
        "keep the item; or decide otherwise: OFFER_PARTIAL_REFUND offers partialAmount and waits "
        "for the buyer (R12), ISSUE_REPLACEMENT_REFUND settles a replacement with a refund "
        "instead (P4).",
    )
    def approve_after_sale(input: inputs.ApproveAfterSaleInput) -> Command:
        request_id = well_formed_id(input.request_id, "requestId")
        return commands.decision_command(request_id, input.decision, inputs.approval_terms(input))

    reject_after_sale = after_sale.step(
        commands.RejectAfterSale,
        inputs.ReasonedStepInput,
        "Seller: reject with a reason of the kind's catalogue (R4).",
    )
    confirm_return_received = after_sale.step(
        commands.ConfirmReturnReceived,
        inputs.AfterSaleStepInput,
        "Seller: the returned parcel arrived; the refund is paid.",
    )
    reject_return_on_receipt = after_sale.step(
        commands.RejectReturnOnReceipt,
        inputs.ReasonedStepInput,
        "Seller: the returned parcel is not as agreed (R8).",
    )
    ship_replacement = after_sale.step(
        commands.ShipReplacement,
        inputs.ShipmentInput,
        "Seller: the replacement is on its way (P2); its replacement order is handed to the "
        "carrier with it (P4).",
    )
    refund_order = after_sale.step(
        commands.RefundOrder,
        inputs.RefundOrderInput,
        "Seller: refund with no buyer request (R9).",
        lines=inputs.lines_of,
    )

    # ---- platform ------------------------------------------------------------------------

    platform_refund = after_sale.step(
        commands.PlatformRefund,
        inputs.RefundOrderInput,
        "Platform: refund with no seller step (R10).",
        lines=inputs.lines_of,
    )
    decide_appeal = after_sale.step(
        commands.DecideAppeal,
        inputs.DecideAppealInput,
        "Platform: decide an appeal for the buyer or the seller (R6).",
    )
    record_replacement_delivered = after_sale.step(
        commands.RecordReplacementDelivered,
        inputs.AfterSaleStepInput,
        "Platform (carrier event): the replacement was delivered (its replacement order too).",
    )

    @category_policy.service_call(
        access.require_platform,
        "Platform: set a category's policy (Y1). Requests already opened keep theirs.",
    )
    async def set_category_policy(
        services: Services, actor: Actor, input: inputs.CategoryPolicyInput
    ) -> tuple[str, DomainPolicy]:
        policy = input.policy()
        await services.after_sales.set_policy(actor, input.category, policy)
        return input.category.strip(), policy

"""Write side of after-sale requests, per actor: each mutation is who may send it, its input and
the command the input makes (resolvers/commands.py); the rules live in models/, the writes in
services/."""

from __future__ import annotations

import strawberry

from models import access, commands
from models.actors import Actor
from models.commands import Command
from models.policy import CategoryPolicy as DomainPolicy
from resolvers import errors
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
    approval_terms,
    lines_of,
)
from resolvers.after_sales.types import AfterSale, CategoryPolicy
from resolvers.commands import ResultMutations
from resolvers.inputs import LineQuantityInput, money_of, well_formed_id
from services.bootstrap import Services

# One union for every after-sale step (the policy: resolvers/errors.py::result_union): opening
# a request fails with AfterSaleRefusedError, a step on it with NotPendingError / InvalidStateError
# (naming the current state) or a closed window, a refund with RefundExceedsRefundableError.
AfterSaleResult = errors.result_union(
    "AfterSaleResult",
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
after_sale = ResultMutations(AfterSaleResult, AfterSale.of)


def _id(value: strawberry.ID) -> str:
    return well_formed_id(value, "requestId")


def _chosen(lines: list[LineQuantityInput] | None) -> commands.Lines | None:
    return commands.chosen_lines(lines_of(lines))


def _refund(
    cls: type[commands.RefundOrder] | type[commands.PlatformRefund], input: RefundOrderInput
) -> Command:
    """R9 and R10 take the same input: only who may send it differs."""
    order_id = well_formed_id(input.order_id, "orderId")
    amount = money_of(input.partial_amount, "partialAmount")
    return cls(order_id, input.reason, input.comment, _chosen(input.lines), amount)


@strawberry.type
class AfterSaleMutations:
    # ---- buyer ---------------------------------------------------------------------------

    @after_sale.command(
        access.require_a_buyer,
        "Buyer: ask for a refund only, a return and refund, or a replacement for some lines and "
        "quantities (R1, P1); after one rejection, a second request (R5).",
    )
    def request_after_sale(input: RequestAfterSaleInput) -> Command:
        order_id = well_formed_id(input.order_id, "orderId")
        chosen = commands.chosen_lines(lines_of(input.lines) or {})
        return commands.RequestAfterSale(order_id, input.kind, chosen, input.reason, input.note)

    @after_sale.command(
        access.require_a_buyer, "Buyer: take back a request not yet answered or shipped."
    )
    def withdraw_after_sale(input: AfterSaleStepInput) -> Command:
        return commands.WithdrawAfterSale(_id(input.request_id))

    @after_sale.command(
        access.require_a_buyer, "Buyer: appeal a rejection within the appeal window (R5)."
    )
    def appeal_after_sale(input: ReasonedStepInput) -> Command:
        return commands.AppealAfterSale(_id(input.request_id), input.reason, input.comment)

    @after_sale.command(
        access.require_a_buyer,
        "Buyer: accept the seller's partial-refund offer (refunded that amount, keep the item) or "
        "decline it (the seller decides again) (R12).",
    )
    def answer_offer(input: AnswerOfferInput) -> Command:
        return commands.AnswerOffer(_id(input.request_id), input.accept)

    @after_sale.command(access.require_a_buyer, "Buyer: the item is on its way back (R8).")
    def ship_return(input: ShipmentInput) -> Command:
        return commands.ShipReturn(_id(input.request_id), input.carrier, input.tracking_number)

    # ---- seller agent --------------------------------------------------------------------

    @after_sale.command(
        access.require_an_acting_agent,
        "Seller: approve with a decision (R7, P2): some lines, a partial amount, or let the buyer "
        "keep the item; or decide otherwise: OFFER_PARTIAL_REFUND offers partialAmount and waits "
        "for the buyer (R12), ISSUE_REPLACEMENT_REFUND settles a replacement with a refund "
        "instead (P4).",
    )
    def approve_after_sale(input: ApproveAfterSaleInput) -> Command:
        return commands.decision_command(
            _id(input.request_id), input.decision, approval_terms(input)
        )

    @after_sale.command(
        access.require_an_acting_agent, "Seller: reject with a reason of the kind's catalogue (R4)."
    )
    def reject_after_sale(input: ReasonedStepInput) -> Command:
        return commands.RejectAfterSale(_id(input.request_id), input.reason, input.comment)

    @after_sale.command(
        access.require_an_acting_agent, "Seller: the returned parcel arrived; the refund is paid."
    )
    def confirm_return_received(input: AfterSaleStepInput) -> Command:
        return commands.ConfirmReturnReceived(_id(input.request_id))

    @after_sale.command(
        access.require_an_acting_agent, "Seller: the returned parcel is not as agreed (R8)."
    )
    def reject_return_on_receipt(input: ReasonedStepInput) -> Command:
        return commands.RejectReturnOnReceipt(_id(input.request_id), input.reason, input.comment)

    @after_sale.command(
        access.require_an_acting_agent,
        "Seller: the replacement is on its way (P2); its replacement order is handed to the "
        "carrier with it (P4).",
    )
    def ship_replacement(input: ShipmentInput) -> Command:
        return commands.ShipReplacement(_id(input.request_id), input.carrier, input.tracking_number)

    @after_sale.command(
        access.require_an_acting_agent, "Seller: refund with no buyer request (R9)."
    )
    def refund_order(input: RefundOrderInput) -> Command:
        return _refund(commands.RefundOrder, input)

    # ---- platform ------------------------------------------------------------------------

    @after_sale.command(access.require_platform, "Platform: refund with no seller step (R10).")
    def platform_refund(input: RefundOrderInput) -> Command:
        return _refund(commands.PlatformRefund, input)

    @after_sale.command(
        access.require_platform, "Platform: decide an appeal for the buyer or the seller (R6)."
    )
    def decide_appeal(input: DecideAppealInput) -> Command:
        return commands.DecideAppeal(_id(input.request_id), input.for_buyer, input.note)

    @after_sale.command(
        access.require_platform,
        "Platform (carrier event): the replacement was delivered (its replacement order too).",
    )
    def record_replacement_delivered(input: AfterSaleStepInput) -> Command:
        return commands.RecordReplacementDelivered(_id(input.request_id))

    @category_policy.service_call(
        access.require_platform,
        "Platform: set a category's policy (Y1). Requests already opened keep theirs.",
    )
    async def set_category_policy(
        services: Services, actor: Actor, input: CategoryPolicyInput
    ) -> tuple[str, DomainPolicy]:
        policy = input.policy()
        await services.after_sales.set_policy(actor, input.category, policy)
        return input.category.strip(), policy

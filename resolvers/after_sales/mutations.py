"""Write side of after-sale requests (R1 to R12, P1 to P4): their steps
(resolvers/requests/steps.py) under one result union, and the category policies (Y1)."""

from __future__ import annotations

import strawberry

from models import access
from models.actors import Actor
from models.commands import AfterSaleCommand
from models.policy import CategoryPolicy as DomainPolicy
from resolvers import errors
from resolvers.after_sales import inputs
from resolvers.after_sales.types import AfterSale, CategoryPolicy
from resolvers.commands import ResultMutations
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
AfterSaleMutations = after_sale.steps("AfterSaleMutations", AfterSaleCommand)
SetCategoryPolicyResult = errors.result_union("SetCategoryPolicyResult", CategoryPolicy)
category_policy = ResultMutations(SetCategoryPolicyResult, lambda cp: CategoryPolicy.of(*cp))


@strawberry.type
class CategoryPolicyMutation:
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

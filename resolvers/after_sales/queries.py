"""Read side of after-sale requests: one request, tab pages with counts, what a buyer may ask for,
what a refund would pay, the reason catalogues and the category policies (Y1)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models.errors import ValidationFailed
from resolvers.after_sales import inputs
from resolvers.after_sales.types import AfterSale, AfterSaleTab, CategoryPolicy
from resolvers.context import Context, actor_of, services_of
from resolvers.inputs import well_formed_id
from resolvers.requests.types import KindQueries, RefundBreakdown, RefundLedger, RequestEligibility
from resolvers.values import Reason, reasons_in
from services import read_types


def _default_sort(tab: AfterSaleTab, f: read_types.AfterSaleFilter) -> str:
    """Deadline soonest in To Proceed (and with a deadline filter), else newest; newest with a
    created-between filter, which ranges over the creation key."""
    soonest = tab is AfterSaleTab.TO_PROCEED or f.deadline_before
    return "DEADLINE_SOONEST" if soonest and not (f.created_from or f.created_to) else "NEWEST"


kind = KindQueries("after_sales", AfterSale, AfterSaleTab)


@strawberry.type
class AfterSaleQueries:
    after_sale = kind.one()
    after_sales = kind.page(
        inputs.AfterSaleFilter,
        "A tab of Manage Returns/Refunds, filtered, sorted (default: deadline soonest in To "
        "Proceed, newest elsewhere), paged; with the count of every tab.",
        _default_sort,
    )

    @strawberry.field(description="R1, R5, P1: for each line and kind, may the buyer ask now?")
    async def line_eligibility(
        self, info: Info[Context, Any], order_id: strawberry.ID
    ) -> list[RequestEligibility]:
        svc = services_of(info).after_sales
        found = await svc.line_eligibility(actor_of(info), well_formed_id(order_id, "orderId"))
        return [RequestEligibility.of_line(e) for e in found]

    @strawberry.field(
        description="What a request (or a cancellation) paid, or would pay now: items, shipping, "
        "total, per line. The same code computes the real refund. Give exactly one id."
    )
    async def refund_quote(
        self,
        info: Info[Context, Any],
        request_id: strawberry.ID | None = None,
        cancellation_id: strawberry.ID | None = None,
    ) -> RefundBreakdown:
        if (request_id is None) == (cancellation_id is None):
            raise ValidationFailed("give a requestId or a cancellationId", field="requestId")
        services, actor = services_of(info), actor_of(info)
        if request_id is not None:
            return await services.after_sales.quote(actor, well_formed_id(request_id, "requestId"))
        cid = well_formed_id(cancellation_id, "cancellationId")
        return await services.cancellations.quote(actor, cid)  # type: ignore[arg-type]

    @strawberry.field(
        description="Every refund paid on an order, by its requests and cancellations, in order."
    )
    async def refund_ledger(
        self, info: Info[Context, Any], order_id: strawberry.ID
    ) -> RefundLedger:
        svc = services_of(info).after_sales
        order, ledger = await svc.visible_order(actor_of(info), well_formed_id(order_id, "orderId"))
        return RefundLedger(
            order_id=order.id,
            paid=order.amount_paid,
            refunded=ledger.refunded_total,
            refundable=ledger.refundable_total(order),
            entries=list(ledger.entries),
        )

    @strawberry.field(description="The reasons of one after-sale catalogue, with display text.")
    def after_sale_reasons(self, catalogue: inputs.AfterSaleCatalogue) -> list[Reason]:
        return reasons_in(inputs.CATALOGUES[catalogue.value])

    @strawberry.field(description="Y1: the policy of a category (the default if it sets none).")
    async def category_policy(self, info: Info[Context, Any], category: str) -> CategoryPolicy:
        book = await services_of(info).after_sales.policy_book([category])
        return CategoryPolicy.of(category, book.for_category(category))

    @strawberry.field(description='Y1: the default ("*") and every category that sets its own.')
    async def category_policies(self, info: Info[Context, Any]) -> list[CategoryPolicy]:
        found = await services_of(info).after_sales.all_policies()
        return [CategoryPolicy.of(c, p) for c, p in found.items()]

"""Read side of cancellations: one cancellation, the tabs of Manage Cancellations with their
counts, and the reason catalogues."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models import reasons
from resolvers.cancellations.inputs import CancellationFilter
from resolvers.cancellations.types import Cancellation, CancellationTab
from resolvers.context import Context, actor_of
from resolvers.requests.types import KindQueries, TabCount, list_filter, tab_counts
from resolvers.values import Reason, reasons_in
from services import read_types

kind = KindQueries("cancellations", Cancellation, CancellationTab)


@strawberry.type
class CancellationQueries:
    cancellation = kind.one()
    cancellations = kind.page(
        CancellationFilter, "A tab of Manage Cancellations, filtered, sorted, paged."
    )

    @strawberry.field(
        description="The count of every tab, ALL included.",
        deprecation_reason="Ask `cancellations { tabCounts }`, as `afterSales { tabCounts }`.",
    )
    async def cancellation_tab_counts(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        filter: CancellationFilter | None = None,
    ) -> list[TabCount]:
        f = list_filter(filter, read_types.CancellationFilter)
        return tab_counts(await kind.reads(info).tab_counts(actor_of(info), shop_id, f))

    @strawberry.field(description="C5: the reasons a seller may give to reject a cancellation.")
    def cancellation_reject_reasons(self) -> list[Reason]:
        return reasons_in(reasons.CANCELLATION_REJECT_REASONS)

    @strawberry.field(description="The reasons a buyer may give to cancel.")
    def buyer_cancellation_reasons(self) -> list[Reason]:
        return reasons_in(reasons.BUYER_CANCEL_REASONS)

    @strawberry.field(description="C7: the reasons a seller may give to cancel an order.")
    def seller_cancellation_reasons(self) -> list[Reason]:
        return reasons_in(reasons.SELLER_CANCEL_REASONS)

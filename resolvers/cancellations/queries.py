"""Read side: orders, cancellations by tab, counts, reason catalogues, notifications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models.reasons import (
    BUYER_CANCEL_REASONS,
    CANCELLATION_REJECT_REASONS,
    SELLER_CANCEL_REASONS,
)
from resolvers.context import Context, actor_of, services_of
from resolvers.inputs import CancellationFilter, CancellationSort, OrderFilter, well_formed_id
from resolvers.orders.types import (
    Cancellation,
    CancellationConnection,
    CancellationEdge,
    CancellationTab,
    DeadlineMoves,
    DeadlineWorkerStatus,
    Notification,
    NotificationConnection,
    NotificationEdge,
    Order,
    OrderConnection,
    OrderEdge,
    Viewer,
)
from resolvers.requests.types import NotificationKind, TabCount, tab_counts
from resolvers.values import PageInfo, Reason
from storage import cancellations as cancellation_store
from storage import orders as order_store


def _cancellation_filter(f: CancellationFilter | None) -> cancellation_store.CancellationFilter:
    if f is None:
        return cancellation_store.CancellationFilter()
    return cancellation_store.CancellationFilter(
        order_id=well_formed_id(f.order_id, "filter.orderId"),
        buyer_id=well_formed_id(f.buyer_id, "filter.buyerId"),
        created_from=f.created_from,
        created_to=f.created_to,
    )


def _catalogue(catalogue: Mapping[str, str]) -> list[Reason]:
    return [Reason(code=code, display_text=text) for code, text in catalogue.items()]


@strawberry.type
class Query:
    @strawberry.field(description="The caller, as named by their bearer token.")
    def viewer(self, info: Info[Context, Any]) -> Viewer:
        actor = actor_of(info)
        return Viewer(
            kind=actor.kind,
            id=actor.id,
            shop_id=actor.shop_id,
            permissions=sorted(actor.permissions),
        )

    @strawberry.field(
        description="The platform only: this process's deadline worker (null: it runs none)."
    )
    def deadline_worker(self, info: Info[Context, Any]) -> DeadlineWorkerStatus | None:
        access.require_platform(actor_of(info))  # operations status spans every shop
        worker = info.context.worker
        if worker is None:
            return None
        s = worker.status
        return DeadlineWorkerStatus(
            running=s.running,
            last_run_at=s.last_run_at,
            last_run_moves=s.last_run_moves,
            total_moves=s.total_moves,
            lag_seconds=s.lag.total_seconds(),
            last_error=s.last_error,
            moves_by_deadline=[
                DeadlineMoves(deadline=name, moves=n)
                for name, n in sorted(s.moves_by_deadline.items())
            ],
        )

    @strawberry.field
    async def order(self, info: Info[Context, Any], id: strawberry.ID) -> Order:
        svc = services_of(info).orders
        order = await svc.get(actor_of(info), well_formed_id(id, "id"))
        return Order.of(order)

    @strawberry.field(description="Newest first. Sellers see their shop; buyers their orders.")
    async def orders(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        filter: OrderFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> OrderConnection:
        f = order_store.OrderFilter()
        if filter is not None:
            f = order_store.OrderFilter(
                fulfilment_state=filter.fulfilment_state,
                buyer_id=well_formed_id(filter.buyer_id, "filter.buyerId"),
                placed_from=filter.placed_from,
                placed_to=filter.placed_to,
            )
        svc = services_of(info).orders
        orders, page = await svc.page(actor_of(info), shop_id, f, first, after)
        edges = [
            OrderEdge(cursor=c, node=Order.of(o)) for o, c in zip(orders, page.cursors, strict=True)
        ]
        return OrderConnection(edges=edges, page_info=PageInfo.of(page))

    @strawberry.field
    async def cancellation(self, info: Info[Context, Any], id: strawberry.ID) -> Cancellation:
        svc = services_of(info).cancellations
        c = await svc.get(actor_of(info), well_formed_id(id, "id"))
        return Cancellation.of(c)

    @strawberry.field(description="A tab of Manage Cancellations, filtered, sorted, paged.")
    async def cancellations(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        tab: CancellationTab = CancellationTab.ALL,
        filter: CancellationFilter | None = None,
        sort: CancellationSort = CancellationSort.NEWEST,
        first: int = 20,
        after: str | None = None,
    ) -> CancellationConnection:
        svc = services_of(info).cancellations
        f = _cancellation_filter(filter)
        found, page = await svc.page(
            actor_of(info), shop_id, tab.domain(), f, sort.value, first, after
        )

        edges = [
            CancellationEdge(cursor=cur, node=Cancellation.of(c))
            for c, cur in zip(found, page.cursors, strict=True)
        ]
        return CancellationConnection(
            edges=edges, page_info=PageInfo.of(page), _shop_id=shop_id, _filter=f
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
        svc = services_of(info).cancellations
        return tab_counts(
            await svc.tab_counts(actor_of(info), shop_id, _cancellation_filter(filter))
        )

    @strawberry.field(description="C5: the reasons a seller may give to reject a cancellation.")
    def cancellation_reject_reasons(self) -> list[Reason]:
        return _catalogue(CANCELLATION_REJECT_REASONS)

    @strawberry.field(description="The reasons a buyer may give to cancel.")
    def buyer_cancellation_reasons(self) -> list[Reason]:
        return _catalogue(BUYER_CANCEL_REASONS)

    @strawberry.field(description="C7: the reasons a seller may give to cancel an order.")
    def seller_cancellation_reasons(self) -> list[Reason]:
        return _catalogue(SELLER_CANCEL_REASONS)

    @strawberry.field(description="The caller's notifications, newest first (C7, C8, C9).")
    async def notifications(
        self, info: Info[Context, Any], first: int = 20, after: str | None = None
    ) -> NotificationConnection:
        svc = services_of(info).orders
        docs, page = await svc.notifications(actor_of(info), first, after)
        edges = [
            NotificationEdge(
                cursor=cur,
                node=Notification(
                    id=d["_id"],
                    kind=NotificationKind[d["kind"]],
                    order_id=d["order_id"],
                    request_id=d["request_id"],
                    message=d["message"],
                    at=d["at"],
                ),
            )
            for d, cur in zip(docs, page.cursors, strict=True)
        ]
        return NotificationConnection(edges=edges, page_info=PageInfo.of(page))

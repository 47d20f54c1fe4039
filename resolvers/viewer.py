"""The caller: who they are (`viewer`) and their notifications (C7, C8, C9, and each step of an
after-sale request)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context, actor_of, services_of
from resolvers.requests.types import NotificationKind
from resolvers.values import ActorKind, PageInfo


@strawberry.type
class Notification:
    id: strawberry.ID
    kind: NotificationKind
    order_id: strawberry.ID
    request_id: strawberry.ID
    message: str
    at: datetime


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo


@strawberry.type(description="The caller, as the service sees them.")
class Viewer:
    kind: ActorKind
    id: str
    shop_id: str | None
    permissions: list[str]


@strawberry.type
class ViewerQueries:
    @strawberry.field(description="The caller, as named by their bearer token.")
    def viewer(self, info: Info[Context, Any]) -> Viewer:
        actor = actor_of(info)
        return Viewer(
            kind=actor.kind,
            id=actor.id,
            shop_id=actor.shop_id,
            permissions=sorted(actor.permissions),
        )

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

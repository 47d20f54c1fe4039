"""H4: what a request mirrored from TikTok Shop shows of the marketplace: TikTok's id, status and
deadline, whether that deadline is near, and the seller's decision on its way to TikTok.

Served as `marketplace` on `Cancellation` and `AfterSale` (null for a request of a shop not
linked), loaded in one batch per operation (storage/tiktok_requests.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from integrations.tiktok_shop.statuses import WARN_BEFORE
from models.actors import ActorKind
from resolvers.context import Context
from storage import tiktok_requests as mirrors


@strawberry.enum(description="Where a decision taken here stands at the marketplace.")
class MarketplaceDecisionState(Enum):
    PENDING = "PENDING"  # being sent, or sent and not yet seen applied
    CONFIRMED = "CONFIRMED"  # the marketplace shows it applied
    REFUSED = "REFUSED"  # the marketplace said no: see `refusal`
    OVERTAKEN = "OVERTAKEN"  # the marketplace moved the request first; never applied


_STATE = {
    mirrors.SENDING: MarketplaceDecisionState.PENDING,
    mirrors.SENT: MarketplaceDecisionState.PENDING,
    mirrors.CONFIRMED: MarketplaceDecisionState.CONFIRMED,
    mirrors.REFUSED: MarketplaceDecisionState.REFUSED,
    mirrors.OVERTAKEN: MarketplaceDecisionState.OVERTAKEN,
}


@strawberry.type(description="The marketplace's answer to a decision it did not apply.")
class MarketplaceRefusal:
    code: int | None = strawberry.field(description="TikTok's code; null: no answer in time")
    message: str


@strawberry.type(description="A seller's decision taken here, on its way to the marketplace.")
class MarketplaceDecision:
    action: str = strawberry.field(description="APPROVE or REJECT")
    decision: str | None = strawberry.field(description="TikTok's decision name, for a return")
    state: MarketplaceDecisionState
    decided_at: datetime
    attempts: int
    refusal: MarketplaceRefusal | None


@strawberry.type(description="H4: the marketplace's side of a request mirrored from it.")
class MarketplaceRequest:
    marketplace: str = strawberry.field(description="TIKTOK_SHOP")
    external_id: strawberry.ID = strawberry.field(description="TikTok's cancel_id or return_id")
    external_status: str = strawberry.field(description="TikTok's status, as it last showed it")
    unknown_status: str | None = strawberry.field(
        description="A status TikTok reported that this service has no mapping for (recorded)"
    )
    deadline: datetime | None = strawberry.field(
        description="TikTok's deadline for the seller's answer: the one that counts here"
    )
    deadline_soon: bool = strawberry.field(
        description="The seller's answer is due at TikTok within 12 hours and none is on its way"
    )
    decision: MarketplaceDecision | None = strawberry.field(
        description="The last decision taken here (null for the buyer)"
    )


def _loader(info: Info[Context, Any]) -> DataLoader[str, mirrors.Mirror | None]:
    context = info.context
    loader = getattr(context, "_marketplace_loader", None)
    if loader is None:
        db = context.services.db

        async def load(ids: list[str]) -> list[mirrors.Mirror | None]:
            found = await mirrors.by_locals(db, ids)
            return [found.get(i) for i in ids]

        loader = DataLoader(load_fn=load)
        context._marketplace_loader = loader  # type: ignore[attr-defined]
    return loader


async def marketplace_of(info: Info[Context, Any], request_id: str) -> MarketplaceRequest | None:
    """Visible to whoever sees the request; the decision only to the shop and the platform."""
    mirror = await _loader(info).load(request_id)
    if mirror is None:
        return None
    d = mirror.decision
    actor = info.context.actor
    seller_side = actor is not None and actor.kind is not ActorKind.BUYER
    deadline = datetime.fromtimestamp(mirror.deadline, UTC) if mirror.deadline else None
    in_flight = bool(d and d.get("state") in mirrors.IN_FLIGHT)
    now = info.context.services.clock.now()
    soon = deadline is not None and not in_flight and now <= deadline <= now + WARN_BEFORE
    decision = None
    if d and seller_side:
        refused = d.get("state") in (mirrors.REFUSED, mirrors.OVERTAKEN) and d.get("message")
        decision = MarketplaceDecision(
            action=d["action"],
            decision=(d.get("body") or {}).get("decision"),
            state=_STATE[d["state"]],
            decided_at=d["decided_at"],
            attempts=int(d.get("attempts", 0)),
            refusal=MarketplaceRefusal(code=d.get("code"), message=d["message"])
            if refused
            else None,
        )
    return MarketplaceRequest(
        marketplace="TIKTOK_SHOP",
        external_id=strawberry.ID(mirror.tiktok_id),
        external_status=mirror.tiktok_status,
        unknown_status=mirror.unknown_status,
        deadline=deadline,
        deadline_soon=soon,
        decision=decision,
    )

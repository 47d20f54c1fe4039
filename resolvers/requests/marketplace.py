"""H4: what a request mirrored from TikTok Shop shows of the marketplace: TikTok's id, status and
deadline, whether that deadline is near, and the seller's decision on its way to TikTok.

Served as `marketplace` on `Cancellation` and `AfterSale` (null for a request of a shop not
linked), loaded in one batch per operation (`Context.marketplace`, services/marketplace_views.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from models.actors import ActorKind
from resolvers.context import Context
from resolvers.values import copied


@strawberry.enum(description="Where a decision taken here stands at the marketplace.")
class MarketplaceDecisionState(Enum):
    PENDING = "PENDING"  # being sent, or sent and not yet seen applied
    CONFIRMED = "CONFIRMED"  # the marketplace shows it applied
    REFUSED = "REFUSED"  # the marketplace said no: see `refusal`
    OVERTAKEN = "OVERTAKEN"  # the marketplace moved the request first; never applied


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
        description="The seller's answer is due at TikTok within the warning window (12 hours) "
        "and none is on its way"
    )
    decision: MarketplaceDecision | None = strawberry.field(
        description="The last decision taken here (null for the buyer)"
    )


async def marketplace_of(info: Info[Context, Any], request_id: str) -> MarketplaceRequest | None:
    """Visible to whoever sees the request; the decision only to the shop and the platform."""
    view = await info.context.marketplace.load(request_id)
    if view is None:
        return None
    d = view.decision
    actor = info.context.actor
    decision = None
    if d and actor is not None and actor.kind is not ActorKind.BUYER:
        refusal = None
        if d.refusal_message is not None:
            refusal = MarketplaceRefusal(code=d.refusal_code, message=d.refusal_message)
        state = MarketplaceDecisionState(d.state)
        decision = copied(MarketplaceDecision, d, state=state, refusal=refusal)
    return copied(MarketplaceRequest, view, marketplace="TIKTOK_SHOP", decision=decision)

"""H4: what a request mirrored from TikTok Shop shows of the marketplace, for the API: TikTok's
id, status and deadline, whether that deadline is near (the warning window, `warn_before`, is
the one the connection warns with: services/tiktok_connection.py), and the seller's decision on
its way to TikTok. Read from the mirrors (storage/tiktok_requests.py), one query per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrations.tiktok_shop.statuses import WARN_BEFORE, deadline_soon
from models.clock import Clock
from models.orders import LineItem
from services.tiktok_mirror import CATEGORY
from storage import tiktok_requests as mirrors
from storage.mongo import Database

# Where a decision stands, in the API's words: sending and sent are both still pending.
PENDING, CONFIRMED, REFUSED, OVERTAKEN = "PENDING", "CONFIRMED", "REFUSED", "OVERTAKEN"
_STATE = {
    mirrors.SENDING: PENDING,
    mirrors.SENT: PENDING,
    mirrors.CONFIRMED: CONFIRMED,
    mirrors.REFUSED: REFUSED,
    mirrors.OVERTAKEN: OVERTAKEN,
}


def may_be_mirrored(lines: Iterable[LineItem]) -> bool:
    """Whether a request on these lines may be mirrored from TikTok (the mirror places TikTok's
    orders in their own category): a test without I/O, so the requests of a shop not linked
    are served without a lookup of their marketplace side."""
    return any(line.category == CATEGORY for line in lines)


@dataclass(frozen=True)
class DecisionView:
    action: str  # APPROVE or REJECT
    decision: str | None  # TikTok's decision name, for a return
    state: str  # PENDING, CONFIRMED, REFUSED, OVERTAKEN
    decided_at: datetime
    attempts: int
    refusal_code: int | None
    refusal_message: str | None  # set for REFUSED and OVERTAKEN only


@dataclass(frozen=True)
class MarketplaceView:
    external_id: str
    external_status: str
    unknown_status: str | None
    deadline: datetime | None  # TikTok's, for the seller's answer
    deadline_soon: bool
    decision: DecisionView | None


class MarketplaceViews:
    def __init__(self, db: Database, clock: Clock, warn_before: timedelta = WARN_BEFORE) -> None:
        self.db = db
        self.clock = clock
        self.warn_before = warn_before

    async def of_requests(self, request_ids: list[str]) -> dict[str, MarketplaceView]:
        """The marketplace side of each mirrored request among `request_ids`, by request id."""
        found = await mirrors.by_locals(self.db, request_ids)
        now = self.clock.now()
        return {local: self._view(mirror, now) for local, mirror in found.items()}

    def _view(self, mirror: mirrors.Mirror, now: datetime) -> MarketplaceView:
        d = mirror.decision
        deadline = datetime.fromtimestamp(mirror.deadline, UTC) if mirror.deadline else None
        in_flight = bool(d and d.get("state") in mirrors.IN_FLIGHT)
        decision = None
        if d:
            refused = d.get("state") in (mirrors.REFUSED, mirrors.OVERTAKEN) and d.get("message")
            decision = DecisionView(
                action=d["action"],
                decision=(d.get("body") or {}).get("decision"),
                state=_STATE[d["state"]],
                decided_at=d["decided_at"],
                attempts=int(d.get("attempts", 0)),
                refusal_code=d.get("code") if refused else None,
                refusal_message=d["message"] if refused else None,
            )
        return MarketplaceView(
            external_id=mirror.tiktok_id,
            external_status=mirror.tiktok_status,
            unknown_status=mirror.unknown_status,
            deadline=deadline,
            deadline_soon=deadline_soon(deadline, in_flight, now, self.warn_before),
            decision=decision,
        )

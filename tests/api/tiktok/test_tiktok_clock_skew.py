"""H4 beside C1: TikTok decides a linked shop's free-cancellation window, so a buyer's
cancellation of an order TikTok stamped ahead of this service's clock still waits here for the
seller, as it does at TikTok, instead of being cancelled at once by a local window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from models.clock import SettableClock, SystemClock
from storage.mongo import Database
from tests.support.tiktok_linked import Linked, linked_service

READ = """query($id: ID!) { cancellation(id: $id) { status nextAction { actorKind action } } }"""


@pytest.fixture(scope="module")
def clock() -> SettableClock:
    return SettableClock(SystemClock().now())


@pytest.fixture(scope="module")
async def linked(db: Database, clock: SettableClock) -> AsyncIterator[Linked]:
    async with linked_service(db, "--response-window-seconds", "3600", clock=clock) as service:
        yield service


async def test_h4_c1_an_order_stamped_ahead_of_this_clock_is_not_cancelled_at_once_here(
    linked: Linked, clock: SettableClock
) -> None:
    ahead = int(clock.now().timestamp()) + 5  # TikTok's clock five seconds ahead of ours
    order = await linked.order(
        status="AWAITING_SHIPMENT", buyer_user_id=f"buyer-{linked.shop_id}", create_time=ahead
    )
    cancel = await linked.control("POST", "/_standin/cancellations", {"order_id": order["id"]})

    request_id = await linked.mirrored("cancellation", cancel["cancel_id"])
    await linked.settled()
    agent = f"seller:agent-1@{linked.shop_id}+adjustments"
    here: dict[str, Any] = (await linked.api(READ, {"id": request_id}, agent))["cancellation"]
    assert here["status"] == "PENDING"
    assert here["nextAction"] == {"actorKind": "SELLER_AGENT", "action": "ACCEPT_OR_REJECT"}
    mirror = await linked.mirror("cancellation", cancel["cancel_id"])
    assert mirror is not None and mirror.tiktok_status == "CANCELLATION_REQUEST_PENDING"

"""H4: TikTok's deadline in a mirrored request's `nextAction`: `deadlineSoon` is on only inside
the connection's warning window while no decision from here is on its way; the ticket is
tagged within the same window. The service's clock is moved by
hand; the stand-in's deadline is an hour after the buyer asks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from models.clock import SettableClock, SystemClock
from storage.mongo import Database
from tests.support.tiktok_linked import Linked, eventually, linked_service

WARN_BEFORE = timedelta(minutes=30)
READ = """query($id: ID!) { cancellation(id: $id) { status
  nextAction { actorKind action dueAt deadlineSoon }
  marketplace { deadline deadlineSoon decision { state } } } }"""
ACCEPT = """mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) {
  __typename ... on Cancellation { status } } }"""
TAGS = """query($id: ID!) { requestTicket(requestId: $id) { tags } }"""
CALM = {"throttle": 0, "server_error": 0, "timeout": 0}
NO_FAULTS = {"drop": 0, "duplicate": 0, "delay": 0, "reorder": 0}


@pytest.fixture(scope="module")
def clock() -> SettableClock:
    return SettableClock(SystemClock().now())


@pytest.fixture(scope="module")
async def linked(db: Database, clock: SettableClock) -> AsyncIterator[Linked]:
    async with linked_service(
        db, "--response-window-seconds", "3600", clock=clock, warn_before=WARN_BEFORE
    ) as service:
        yield service


async def read(linked: Linked, request_id: str) -> dict[str, Any]:
    agent = f"seller:agent-1@{linked.shop_id}+adjustments"
    return (await linked.api(READ, {"id": request_id}, agent))["cancellation"]


async def tags(linked: Linked, request_id: str) -> list[str]:
    agent = f"seller:agent-1@{linked.shop_id}+adjustments"
    return (await linked.api(TAGS, {"id": request_id}, agent))["requestTicket"]["tags"]


async def test_h4_the_next_action_warns_inside_the_window_until_a_decision_leaves(
    linked: Linked, clock: SettableClock
) -> None:
    # A buyer of its own: another module's stand-in numbers its requests alike, and a mirrored
    # request is opened under the buyer's idempotency key. Placed a minute before the service's
    # clock, which stands still while the stand-in's runs.
    placed = int(clock.now().timestamp()) - 60
    order = await linked.order(
        status="AWAITING_SHIPMENT", buyer_user_id=f"buyer-{linked.shop_id}", create_time=placed
    )
    cancel = await linked.control("POST", "/_standin/cancellations", {"order_id": order["id"]})

    request_id = await linked.mirrored("cancellation", cancel["cancel_id"])

    # An hour before TikTok's deadline: outside the 30-minute window.
    before = await read(linked, request_id)
    assert before["nextAction"]["actorKind"] == "SELLER_AGENT"
    assert before["nextAction"]["action"] == "ACCEPT_OR_REJECT"
    assert before["nextAction"]["deadlineSoon"] is False
    await linked.connection.warn_deadlines()
    assert "tiktok-deadline-soon" not in await tags(linked, request_id)

    clock.advance(timedelta(minutes=45))
    inside = await read(linked, request_id)
    assert inside["nextAction"]["deadlineSoon"] is True
    assert inside["marketplace"]["deadlineSoon"] is True
    await linked.connection.warn_deadlines()  # the connection warns within the same window
    assert "tiktok-deadline-soon" in await tags(linked, request_id)

    # TikTok answers 500 for now, so the decision stays on its way.
    await linked.control(
        "PUT", "/_standin/chaos", {"webhooks": NO_FAULTS, "calls": CALM | {"server_error": 1.0}}
    )
    agent = f"seller:agent-1@{linked.shop_id}+adjustments"
    accepted = await linked.api(ACCEPT, {"id": request_id}, agent)
    assert accepted["acceptCancellation"]["status"] == "PENDING"
    pending = await read(linked, request_id)
    assert pending["marketplace"]["decision"]["state"] == "PENDING"
    assert pending["nextAction"]["deadlineSoon"] is False
    assert pending["marketplace"]["deadlineSoon"] is False

    await linked.control("PUT", "/_standin/chaos", {"webhooks": NO_FAULTS, "calls": CALM})
    clock.advance(timedelta(minutes=1))  # the sender's retry falls due

    async def confirmed() -> dict[str, Any] | None:
        now = await read(linked, request_id)
        return now if now["marketplace"]["decision"]["state"] == "CONFIRMED" else None

    done = await eventually(confirmed, "the decision confirmed by TikTok")
    assert done["status"] == "CANCELLED"
    assert done["nextAction"] is None
    assert done["marketplace"]["deadlineSoon"] is False

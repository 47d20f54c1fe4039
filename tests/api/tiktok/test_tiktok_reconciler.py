"""H4: the reconciler repairs what TikTok's webhooks did not bring, for cancellations and for
returns alike: it pages through each search by update time with TikTok's page tokens, and reads
again a decision TikTok accepted whose confirmation never came."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.commands import AcceptCancellation
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage import tiktok_requests
from storage.mongo import Database
from storage.tiktok_requests import CONFIRMED, SENDING, SENT
from tests.support.tiktok_linked import Linked, eventually, linked_service

SMALL_PAGE = 2


@pytest.fixture
async def linked(db: Database) -> AsyncIterator[Linked]:
    """A service of each test's own: another's connection would send this one's decisions (a
    sender takes any shop's), and the last test steps the sender itself. Two a page: a handful
    of requests already needs the page tokens. No webhook arrives."""
    async with linked_service(db, reconcile_page_size=SMALL_PAGE) as service:
        await service.control("PUT", "/_standin/chaos", {"webhooks": {"drop": 1.0}})
        yield service


def seller(linked: Linked) -> Actor:
    return Actor(ActorKind.SELLER_AGENT, "agent-1", linked.shop_id, frozenset({ADJUSTMENTS}))


async def cancellation(linked: Linked) -> str:
    order = await linked.order(status="AWAITING_SHIPMENT")
    made = await linked.control("POST", "/_standin/cancellations", {"order_id": order["id"]})
    return str(made["cancel_id"])


async def return_(linked: Linked, return_type: str) -> str:
    order = await linked.order(status="DELIVERED")
    body = {"order_id": order["id"], "return_type": return_type}
    return str((await linked.control("POST", "/_standin/returns", body))["return_id"])


async def status_here(linked: Linked, kind: str, tiktok_id: str) -> str | None:
    """The mirror's status, once the local request agrees with it."""
    mirror = await linked.mirror(kind, tiktok_id)
    if mirror is None or mirror.local_id is None:
        return None
    store: Any = cancellation_store if kind == "cancellation" else after_sale_store
    local = await store.get(linked.services.db, mirror.local_id)
    assert local is not None and local.status.value == mirror.status
    return mirror.status


@pytest.mark.parametrize(
    ("kind", "asked", "moves", "statuses"),
    [
        (
            "cancellation",
            [""] * 5,
            {0: "withdraw", 1: "auto_approve"},
            ["WITHDRAWN", "CANCELLED", "PENDING", "PENDING", "PENDING"],
        ),
        (
            "return",
            ["REFUND", "RETURN_AND_REFUND", "REPLACEMENT", "REFUND", "RETURN_AND_REFUND"],
            {1: "auto_approve", 2: "withdraw"},
            ["PENDING_SELLER", "AWAITING_BUYER_RETURN", "WITHDRAWN"] + ["PENDING_SELLER"] * 2,
        ),
    ],
    ids=["cancellations", "returns"],
)
async def test_h4_dropped_webhooks_are_repaired_by_the_reconcilers_search_page_by_page(
    linked: Linked, kind: str, asked: list[str], moves: dict[int, str], statuses: list[str]
) -> None:
    if kind == "cancellation":
        ids = [await cancellation(linked) for _ in asked]
    else:
        ids = [await return_(linked, return_type) for return_type in asked]
    for n, move in moves.items():
        await linked.control("POST", f"/_standin/{kind}s/{ids[n]}/{move}")
    await linked.settled()
    assert [await linked.mirror(kind, i) for i in ids] == [None] * len(ids)  # no webhook came

    # More than two pages: the reconciler follows TikTok's page tokens within one pass.
    assert await linked.connection.reconcile(linked.shop_id) >= len(ids)

    assert [await status_here(linked, kind, i) for i in ids] == statuses


async def test_h4_a_decision_whose_confirmation_was_lost_is_confirmed_by_the_reconciler(
    linked: Linked,
) -> None:
    # The test moves the sender and the reconciler itself, one step at a time.
    await linked.connection.stop()
    cancel_id = await cancellation(linked)
    await linked.connection.reconcile(linked.shop_id)
    mirror = await linked.mirror("cancellation", cancel_id)
    assert mirror is not None and mirror.local_id is not None
    await linked.services.requests.handle(seller(linked), AcceptCancellation(mirror.local_id))

    # TikTok applies the accept but its answer is lost (500): the decision waits to retry.
    ambiguous = {"server_error": 1.0, "applied_anyway": 1.0}
    await linked.control("PUT", "/_standin/chaos", {"calls": ambiguous})
    assert await linked.connection.sender.send_one()
    await linked.control("PUT", "/_standin/chaos", {"calls": {"server_error": 0}})
    # Meanwhile the reconciler reads the request moved, and its mark passes it: a later
    # change at TikTok is read in the same pass.
    await linked.control("POST", "/_standin/clock/advance", {"seconds": 5})
    await cancellation(linked)
    await linked.connection.reconcile(linked.shop_id)
    assert await status_here(linked, "cancellation", cancel_id) == "CANCELLED"
    assert await _decision_state(linked, cancel_id) == SENDING

    # The retry: TikTok answers its first answer to the same key, and throttles the read
    # after it (seed 7: the first call after the reseed passes, the second is throttled).
    await linked.control("PUT", "/_standin/chaos", {"seed": 7, "calls": {"throttle": 0.5}})
    await eventually(linked.connection.sender.send_one, "the decision sent again")
    assert await _decision_state(linked, cancel_id) == SENT
    await linked.control("PUT", "/_standin/chaos", {"calls": {"throttle": 0}})

    await linked.connection.reconcile(linked.shop_id)
    assert await _decision_state(linked, cancel_id) == CONFIRMED
    counts = (await linked.control("GET", "/_standin/applied"))["counts"]
    assert counts[f"cancellation:{cancel_id}:APPROVE"] == 1


async def _decision_state(linked: Linked, cancel_id: str) -> str:
    mirror = await linked.mirror("cancellation", cancel_id)
    assert mirror is not None and mirror.decision is not None
    return str(mirror.decision["state"])


async def test_h4_a_view_recorded_without_its_move_is_moved_by_the_reconciler(
    linked: Linked,
) -> None:
    cancel_id = await cancellation(linked)
    await linked.connection.reconcile(linked.shop_id)
    assert await status_here(linked, "cancellation", cancel_id) == "PENDING"
    await linked.control("POST", f"/_standin/cancellations/{cancel_id}/auto_approve")
    # The mirror holds TikTok's new view but its request was not moved here (a move that failed
    # or lost a race after the batch recorded what it read).
    [view] = [
        c
        for c in (await linked.control("GET", "/_standin/state"))["cancellations"]
        if c["cancel_id"] == cancel_id
    ]
    mirror = await linked.mirror("cancellation", cancel_id)
    assert mirror is not None
    await tiktok_requests.collection(linked.services.db).update_one(
        {"_id": mirror.id},
        {"$set": {"tiktok_status": view["cancel_status"], "update_time": view["update_time"]}},
    )

    await linked.connection.reconcile(linked.shop_id)

    assert await status_here(linked, "cancellation", cancel_id) == "CANCELLED"

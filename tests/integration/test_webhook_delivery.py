"""Delivery to a real receiver (the stand-in, its own process on loopback): signed, in order per
shop, every event once after dedupe, through failures, timeouts and the receiver being down,
and again on replay under the same delivery ids."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.webhook_delivery import WebhookDispatcher
from storage import event_consumers
from storage import webhooks as store
from storage.mongo import Database
from tests.support.webhook_delivery import eventually, make_events, own_database, register
from tests.support.webhook_receiver import Receiver, running_receiver
from webhooks.retry import RetryPolicy

# Retries fast enough for a test, patient enough to outlast the receiver's 1.5 s down time
# (eleven waits of 0.05 s doubling to at most 0.4 s, each at least half that: 1.9 s at least).
SECRET = "whsec_test_delivery_0123456789abcdef"
POLICY = RetryPolicy(base_seconds=0.05, cap_seconds=0.4, max_attempts=12, pause_after=1000)


@pytest.fixture(scope="module")
def receiver_process() -> Any:
    with running_receiver("--secret", SECRET) as receiver:
        yield receiver


@pytest.fixture
async def hooks_db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        yield database


def _dispatcher(db: Database, **more: Any) -> WebhookDispatcher:
    return WebhookDispatcher(
        db,
        policy=POLICY,
        lease_seconds=2.0,
        poll_seconds=0.02,
        timeout_seconds=0.5,
        rng=random.Random(7),
        **more,
    )


def _summary(receiver: Receiver) -> dict[str, Any]:
    """What the receiver holds; nothing while it is down."""
    try:
        return receiver.summary()
    except httpx.HTTPError:
        return {"deliveries": [], "duplicates": 0}


def _held(summary: dict[str, Any], shop: str) -> list[int]:
    return [d["sequence"] for d in summary["deliveries"] if d["shop"] == shop]


async def test_every_event_reaches_the_receiver_once_in_order_through_failures_timeouts_and_downtime(
    receiver_process: Receiver, hooks_db: Database
) -> None:
    receiver = receiver_process
    receiver.control("POST", "reset")
    receiver.control(
        "POST",
        "faults",
        {
            "rules": [
                {"action": "fail", "attempts": 3, "status": 503, "share": 0.2, "seed": 1},
                {"action": "timeout", "attempts": 1, "seconds": 3, "share": 0.1, "seed": 2},
            ]
        },
    )
    shops = ["shop-a", "shop-b"]
    hooks = {s: await register(hooks_db, s, f"{receiver.base}/hooks", SECRET) for s in shops}
    dispatcher = _dispatcher(hooks_db)
    dispatcher.start()
    try:
        for shop in shops:
            await make_events(hooks_db, shop, 30)
        await eventually(lambda: len(_summary(receiver)["deliveries"]) >= 20, "first deliveries")
        receiver.control("POST", "down", {"seconds": 1.5})
        for shop in shops:
            await make_events(hooks_db, shop, 30)
        summary = await eventually(
            lambda: (s := _summary(receiver)) and len(s["deliveries"]) == 120 and s,
            "all 120 events delivered",
        )

        async def recorded() -> bool:
            # The receiver may hold an event whose 200 the dispatcher has not seen yet (its
            # deadline passed first): it sends it again, and the receiver answers duplicate.
            for shop in shops:
                c = await event_consumers.get(hooks_db, shop, f"webhook:{hooks[shop]}")
                if c is None or c.cursor < 60:
                    return False
            return True

        await _until(recorded, "every delivery recorded")
        summary = _summary(receiver)
    finally:
        await dispatcher.stop()

    for shop in shops:
        assert _held(summary, shop) == list(range(1, 61)), shop  # once each, in order
        assert summary["shops"][shop]["in_order"] and not summary["shops"][shop]["missing"]
    outcomes = [a["outcome"] for a in summary["attempts"]]
    assert not [o for o in outcomes if o.startswith("refused")], "a signature did not verify"
    assert "failed (told to)" in outcomes and "timed out (told to)" in outcomes
    ids = {d["delivery_id"] for d in summary["deliveries"]}
    assert ids == {f"{hooks[s]}.{n}" for s in shops for n in range(1, 61)}
    failed_thrice = [d for d in summary["deliveries"] if d["attempts"] >= 4]
    assert failed_thrice, "no delivery needed its fourth attempt"

    # The service's record of it: every attempt, with the answer or the error.
    records = await store.of_webhook(hooks_db, hooks["shop-a"], 100)
    assert sorted(r.seq for r in records) == list(range(1, 61))
    assert [r for r in records if r.status is not store.DeliveryStatus.DELIVERED] == []
    answers = {a.status_code for r in records for a in r.attempts}
    assert {200, 503, None} <= answers
    timed_out = [a for r in records for a in r.attempts if a.status_code is None]
    assert all(a.error for a in timed_out)
    consumer = await event_consumers.get(hooks_db, "shop-a", f"webhook:{hooks['shop-a']}")
    assert consumer is not None and consumer.cursor == 60


async def test_a_replay_sends_again_under_the_same_ids_and_the_receiver_keeps_each_once(
    receiver_process: Receiver, hooks_db: Database
) -> None:
    receiver = receiver_process
    receiver.control("POST", "reset")
    hook = await register(hooks_db, "shop-r", f"{receiver.base}/hooks", SECRET)
    dispatcher = _dispatcher(hooks_db)
    dispatcher.start()
    try:
        await make_events(hooks_db, "shop-r", 10)
        await eventually(lambda: len(_summary(receiver)["deliveries"]) == 10, "10 delivered")
        from services.webhooks import WebhookService
        from tests.support.webhook_delivery import Actor, ActorKind, SystemClock

        owner = Actor(ActorKind.SELLER_AGENT, "a-1", "shop-r", frozenset({"adjustments"}))
        await WebhookService(hooks_db, SystemClock()).replay(owner, hook, 4)
        summary = await eventually(
            lambda: (s := _summary(receiver))["duplicates"] == 7 and s, "7 sent again"
        )
    finally:
        await dispatcher.stop()
    assert _held(summary, "shop-r") == list(range(1, 11))


async def test_a_webhook_that_keeps_failing_is_paused_and_resumes_where_it_stopped(
    receiver_process: Receiver, hooks_db: Database
) -> None:
    receiver = receiver_process
    receiver.control("POST", "reset")
    receiver.control("POST", "faults", {"rules": [{"action": "fail", "attempts": 2}]})
    hook = await register(hooks_db, "shop-p", f"{receiver.base}/hooks", SECRET)
    policy = RetryPolicy(base_seconds=0.01, cap_seconds=0.01, max_attempts=1, pause_after=2)
    dispatcher = _dispatcher(hooks_db)
    dispatcher.policy = policy
    dispatcher.start()
    try:
        await make_events(hooks_db, "shop-p", 5)

        async def paused() -> bool:
            found = await store.get(hooks_db, hook)
            return found is not None and found.status is store.WebhookStatus.PAUSED

        await _until(paused, "paused after two FAILED deliveries")
        consumer = await event_consumers.get(hooks_db, "shop-p", f"webhook:{hook}")
        assert consumer is not None and consumer.cursor == 1  # event 1 FAILED, kept for replay
        records = {r.seq: r.status for r in await store.of_webhook(hooks_db, hook, 10)}
        assert records == {1: store.DeliveryStatus.FAILED, 2: store.DeliveryStatus.FAILED}

        receiver.control("POST", "faults", {"rules": []})  # the receiver is fixed
        from services.webhooks import WebhookService
        from tests.support.webhook_delivery import Actor, ActorKind, SystemClock

        owner = Actor(ActorKind.SELLER_AGENT, "a-1", "shop-p", frozenset({"adjustments"}))
        await WebhookService(hooks_db, SystemClock()).resume(owner, hook)
        summary = await eventually(
            lambda: (s := _summary(receiver)) and len(s["deliveries"]) == 4 and s, "2 to 5 sent"
        )
    finally:
        await dispatcher.stop()
    assert _held(summary, "shop-p") == [2, 3, 4, 5]  # from where it stopped; 1 awaits a replay


async def _until(check: Any, what: str) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + 30
    while not await check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.05)

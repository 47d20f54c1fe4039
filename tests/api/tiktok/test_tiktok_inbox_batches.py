"""H4: the inbox handled a batch at a time, against the stand-in as its own process. The
connection's own workers are stopped here, so each test decides when a batch is taken
(`process_batch`) and which webhooks are waiting in it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from integrations.tiktok_shop.signing import webhook_signature
from storage import cancellations as cancellation_store
from storage import tiktok_inbox, tiktok_links
from storage.mongo import Database
from tests.support.tiktok_linked import Linked, eventually, linked_service


@pytest.fixture(scope="module")
async def linked(db: Database) -> AsyncIterator[Linked]:
    # A batch takes what this process holds; a claim of the inbox (a retry due, say) only
    # when it holds nothing: not once a second as well, which would make a batch's size
    # depend on how long the test took to get there.
    async with linked_service(db, inbox_poll_seconds=3600) as service:
        await service.connection.stop()
        yield service


async def _waiting(linked: Linked, count: int) -> list[dict[str, Any]]:
    """The shop's NEW webhooks, once `count` of them have arrived and the stand-in has every
    answer: the process holds a webhook for its next batch only as it answers, after the
    inbox has it."""
    inbox = tiktok_inbox.collection(linked.services.db)

    async def arrived() -> list[dict[str, Any]]:
        answered = (await linked.control("GET", "/_standin/webhooks"))["idle"]
        found = await inbox.find({"shop_id": linked.shop_id, "state": "NEW"}).to_list(None)
        return found if answered and len(found) >= count else []

    return await eventually(arrived, f"{count} webhooks in the inbox")


async def _cancelled_order(linked: Linked, **spec: Any) -> tuple[str, str]:
    order = await linked.order(status="AWAITING_SHIPMENT", **spec)
    cancel = await linked.control("POST", "/_standin/cancellations", {"order_id": order["id"]})
    return order["id"], cancel["cancel_id"]


async def _local_status(linked: Linked, cancel_id: str) -> str | None:
    mirror = await linked.mirror("cancellation", cancel_id)
    if mirror is None or mirror.local_id is None:
        return None
    local = await cancellation_store.get(linked.services.db, mirror.local_id)
    return local.status.value if local else None


async def test_a_linked_service_leaves_nothing_waiting_in_the_shared_inbox(db: Database) -> None:
    # Every module's shop shares this worker's inbox, and a claim takes webhooks of any shop: one
    # left waiting when a module's service stops would be taken by the next module's batches.
    async with linked_service(db) as other:
        await other.connection.stop()
        await other.order(status="AWAITING_SHIPMENT")
        await _waiting(other, 1)
    assert await tiktok_inbox.collection(db).count_documents({"shop_id": other.shop_id}) == 0


async def test_h4_a_batch_reads_tiktoks_views_with_one_call_per_kind(linked: Linked) -> None:
    cancel_ids = [(await _cancelled_order(linked))[1] for _ in range(3)]
    await _waiting(linked, 6)  # three orders' webhooks, three cancellations'
    before = (await linked.control("GET", "/_standin/calls"))["total"]

    assert await linked.connection.process_batch() == 6

    after = (await linked.control("GET", "/_standin/calls"))["total"]
    assert after - before == 2  # the orders' detail once, the cancellations' search once
    assert [await _local_status(linked, c) for c in cancel_ids] == ["PENDING"] * 3
    assert await linked.pending() == 0


async def test_h4_a_batch_places_the_orders_its_requests_name_before_their_webhooks_with_one_call(
    linked: Linked,
) -> None:
    no_faults = {"drop": 0, "duplicate": 0, "delay": 0, "reorder": 0}
    await linked.control("PUT", "/_standin/chaos", {"webhooks": no_faults | {"drop": 1.0}})
    try:
        orders = [await linked.order(status="AWAITING_SHIPMENT") for _ in range(3)]
    finally:
        await linked.control("PUT", "/_standin/chaos", {"webhooks": no_faults})
    cancel_ids = []
    for order in orders:
        body = {"order_id": order["id"]}
        cancel_ids.append(
            (await linked.control("POST", "/_standin/cancellations", body))["cancel_id"]
        )
    await _waiting(linked, 3)  # the cancellations' webhooks only: the orders' were lost
    before = (await linked.control("GET", "/_standin/calls"))["total"]

    assert await linked.connection.process_batch() == 3

    after = (await linked.control("GET", "/_standin/calls"))["total"]
    assert after - before == 2  # the cancellations' search, then the orders they name, once
    assert [await _local_status(linked, c) for c in cancel_ids] == ["PENDING"] * 3
    assert await linked.pending() == 0


async def test_h4_a_webhook_is_held_by_the_process_that_received_it_and_handled_with_no_claim(
    linked: Linked,
) -> None:
    _, cancel_id = await _cancelled_order(linked)
    await _waiting(linked, 2)
    db, now = linked.services.db, datetime.now(UTC)

    # Stored leased to the receiving process: another's claim finds nothing to take.
    assert await tiktok_inbox.claim_batch(db, "another/1", now, timedelta(seconds=5), 10) == []
    assert await linked.connection.process_batch() == 2

    assert await _local_status(linked, cancel_id) == "PENDING"
    assert await tiktok_inbox.collection(db).count_documents({"shop_id": linked.shop_id}) == 0


async def test_h4_a_held_webhook_past_half_its_lease_is_renewed_and_handled_not_left_to_a_claim(
    linked: Linked,
) -> None:
    connection = linked.connection
    lease, connection.inbox_lease = connection.inbox_lease, timedelta(seconds=2)
    try:
        _, cancel_id = await _cancelled_order(linked)
        await _waiting(linked, 2)
        await asyncio.sleep(1.1)  # past half the lease the two were stored with, not past it

        assert await connection.process_batch() == 2
    finally:
        connection.inbox_lease = lease

    assert await _local_status(linked, cancel_id) == "PENDING"
    assert (
        await tiktok_inbox.collection(linked.services.db).count_documents(
            {"shop_id": linked.shop_id}
        )
        == 0
    )


async def test_h4_a_batch_with_one_failing_webhook_still_finishes_the_others(
    linked: Linked,
) -> None:
    _, good = await _cancelled_order(linked)
    # An order this service cannot place (no such currency here): its cancellation's webhook
    # fails every time it is handled, as one TikTok sends in a shape not handled here would.
    _, poisoned = await _cancelled_order(linked, currency="XX")
    await _waiting(linked, 4)

    assert await linked.connection.process_batch() == 4

    assert await _local_status(linked, good) == "PENDING"
    inbox = tiktok_inbox.collection(linked.services.db)
    left = await inbox.find({"shop_id": linked.shop_id, "state": "NEW"}).to_list(None)
    assert [d["data"]["cancel_id"] for d in left] == [poisoned]
    assert "could not be mirrored" in left[0]["last_error"]
    assert left[0]["attempts"] == 1  # tried alone within the same claim, then left for later


async def test_h4_a_batch_whose_mirrors_fail_to_record_hands_their_webhooks_on_one_at_a_time(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The requests are opened when the record fails: the webhooks are not finished but handled
    # again on their own, which records the mirrors.
    connection = linked.connection
    while await connection.process_batch():  # what the tests before left due
        pass
    inbox = tiktok_inbox.collection(linked.services.db)
    left = await inbox.count_documents({"shop_id": linked.shop_id})
    record_known, failures = connection.mirror.record_known, []

    async def failing_once(*args: Any, **kwargs: Any) -> None:
        if not failures:
            failures.append("recording")
            raise ConnectionError("the database went away while recording")
        await record_known(*args, **kwargs)

    monkeypatch.setattr(connection.mirror, "record_known", failing_once)
    _, cancel_id = await _cancelled_order(linked)
    await _waiting(linked, left + 2)

    assert await connection.process_batch() == 2

    assert failures == ["recording"]
    assert await _local_status(linked, cancel_id) == "PENDING"  # recorded by its own pass
    assert await inbox.count_documents({"shop_id": linked.shop_id}) == left


async def test_h4_a_webhook_signed_by_a_new_app_is_accepted_as_soon_as_the_shop_is_relinked(
    linked: Linked,
) -> None:
    db, sealer = linked.services.db, linked.connection.sealer
    link = await tiktok_links.get(db, linked.shop_id, sealer)
    assert link is not None
    assert (await _post(linked, "relink-1", link.app_key, link.app_secret)).status_code == 200
    await tiktok_links.put(db, replace(link, app_secret="a-new-secret"), datetime.now(UTC), sealer)

    answer = await _post(linked, "relink-2", link.app_key, "a-new-secret")
    stale = await _post(linked, "relink-3", link.app_key, link.app_secret)

    assert answer.status_code == 200 and answer.json()["accepted"]
    assert stale.status_code == 401
    await tiktok_links.put(db, link, datetime.now(UTC), sealer)


async def _post(linked: Linked, ident: str, app_key: str, app_secret: str) -> httpx.Response:
    """A webhook naming an order TikTok does not have, signed with this app."""
    body = json.dumps(
        {
            "type": 1,
            "tts_notification_id": ident,
            "shop_id": linked.tiktok_shop,
            "timestamp": int(datetime.now(UTC).timestamp()),
            "data": {"order_id": f"none-{ident}"},
        }
    ).encode()
    headers = {"Authorization": webhook_signature(app_key, app_secret, body)}
    return await linked.http.post("/webhooks/tiktok", content=body, headers=headers)


async def test_h4_a_batch_is_handled_while_the_finish_of_the_one_before_is_under_way(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection, inbox = linked.connection, tiktok_inbox.collection(linked.services.db)
    while await connection.process_batch():  # what the tests before left due
        pass
    # A webhook the tests before left failing waits in the inbox for its retry, not taken here.
    left = await inbox.count_documents({"shop_id": linked.shop_id})
    release = asyncio.Event()
    finish_many = tiktok_inbox.finish_many

    async def held(db: Database, items: list[tiktok_inbox.Notification], owner: str) -> None:
        await release.wait()
        await finish_many(db, items, owner)

    monkeypatch.setattr(tiktok_inbox, "finish_many", held)
    _, first = await _cancelled_order(linked)
    await _waiting(linked, left + 2)
    taken, finishing = await connection._batch()
    assert taken == 2 and finishing is not None
    _, second = await _cancelled_order(linked)
    await _waiting(linked, left + 4)  # the first batch's two wait for their finish, leased

    again, finishing_again = await connection._batch()

    assert again == 2
    assert [await _local_status(linked, c) for c in (first, second)] == ["PENDING"] * 2
    assert not finishing.done()
    assert await inbox.count_documents({"shop_id": linked.shop_id}) == left + 4
    release.set()
    await asyncio.gather(finishing, *([finishing_again] if finishing_again else []))
    assert await inbox.count_documents({"shop_id": linked.shop_id}) == left

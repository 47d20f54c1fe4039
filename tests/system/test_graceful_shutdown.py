"""SIGTERM mid-load: requests in flight finish (or, past the shutdown timeout, are cut whole),
new ones are refused, every mutation answered as done is stored, nothing is half-written."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.embedded_db import EmbeddedDatabase
from models.notifications import Recipient
from storage import tab_counts
from storage.indexes import ensure_indexes
from storage.mongo import Database, connect
from storage.notifications import inbox_key
from tests.support.api_client import authorization
from tests.support.factories import pending_requests, seller
from tests.support.notices import count_notices
from tests.support.processes import free_port, start_service, wait_for_line

ACCEPT = """mutation($id: ID!) {
  acceptCancellation(input: {cancellationId: $id}) { __typename ... on Cancellation { status } }
}"""
LOAD = 120  # concurrent mutations


async def _assert_whole_or_untouched(db: Database, cid: str, answered_done: bool) -> None:
    doc = await db.cancellations.find_one({"_id": cid})
    order = await db.orders.find_one({"_id": doc["order_id"]})
    actions = [r["action"] for r in doc["timeline"]]
    notes = await count_notices(db, {"inboxes": inbox_key(Recipient.BUYER, doc["buyer_id"])})
    if answered_done:
        assert doc["status"] == "CANCELLED", "a mutation answered as done must be stored"
    # The request, its record, the order and the notification land together or not at all.
    if doc["status"] == "CANCELLED":
        assert actions == ["REQUEST", "ACCEPT"]
        assert order["fulfilment_state"] == "CANCELLED"
        assert notes == 1
    else:
        assert (doc["status"], actions) == ("PENDING", ["REQUEST"])
        assert order["fulfilment_state"] != "CANCELLED"
        assert notes == 0


async def _assert_counters_match(db: Database, shop_id: str) -> None:
    counts = await tab_counts.read(db, shop_id, "cancellations")
    recount = {
        tab: await db.cancellations.count_documents({"shop_id": shop_id, "tabs": tab})
        for tab in ("TO_PROCEED", "COMPLETED", "CLOSED")
    }
    assert {k: v for k, v in counts.items() if v} == {k: v for k, v in recount.items() if v}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("shops", "shutdown_timeout"),
    [
        # One shop per request: the load clears in a few seconds, well inside the timeout.
        (LOAD, 60.0),
        # One shop for all: every decision moves the same tab counter, so they queue one after
        # another (storage/mongo.py::SerialLocks), ~120 x 10-30 ms, and a 0.5 s timeout cuts
        # most of them off. (At 2 s, a fast run could clear the queue in time: nothing cut.)
        (1, 0.5),
    ],
    ids=["in-flight-finish", "timeout-cuts-whole-transactions"],
)
async def test_sigterm_mid_load_loses_no_accepted_mutation_and_writes_nothing_by_half(
    mongodb_uri: str, db: Database, tmp_path: Path, shops: int, shutdown_timeout: float
) -> None:
    if shutdown_timeout >= 10:
        await _sigterm_mid_load(mongodb_uri, db, tmp_path, shops, shutdown_timeout)
        return
    # Transactions cut off by the timeout stay open in SecantusDB after the client has gone
    # (dropping the database then blocks; MongoDB aborts them when their sessions end or after
    # transactionLifetimeLimitSeconds), so this case gets a server of its own.
    with EmbeddedDatabase(":memory:") as server:
        own = connect(server.uri, "shutdown")
        try:
            await ensure_indexes(own)
            await _sigterm_mid_load(server.uri, own, tmp_path, shops, shutdown_timeout)
        finally:
            await own.close()


async def _sigterm_mid_load(
    mongodb_uri: str, db: Database, tmp_path: Path, shops: int, shutdown_timeout: float
) -> None:
    shop_ids = [f"shop-{uuid.uuid4().hex[:8]}" for _ in range(shops)]
    work: list[tuple[str, str]] = []  # (shop, cancellation id)
    for n in range(shops):
        made = await pending_requests(db, shop_ids[n], [datetime.now(UTC)] * (LOAD // shops))
        work += [(shop_ids[n], cid) for cid in made]
    port = free_port()
    proc = start_service(
        {
            "MONGODB_URI": mongodb_uri,
            "AFTERSALES_DATABASE": db.db.name,
            "AFTERSALES_PORT": str(port),
            "AFTERSALES_DEMO_DATA": "false",
            "AFTERSALES_WORKER_ENABLED": "false",
            "AFTERSALES_SHUTDOWN_TIMEOUT_SECONDS": str(shutdown_timeout),
        },
        tmp_path,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    succeeded: set[str] = set()
    after_sigterm: list[str] = []
    cut: list[str] = []
    sigterm_at: float | None = None
    try:
        wait_for_line(proc, "Uvicorn running")
        limits = httpx.Limits(max_connections=LOAD)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:

            async def accept(shop_id: str, cid: str) -> None:
                try:
                    r = await client.post(
                        url,
                        json={"query": ACCEPT, "variables": {"id": cid}},
                        headers=authorization(seller(shop_id)),
                    )
                except httpx.TransportError:
                    cut.append(cid)
                    return
                done = {"__typename": "Cancellation", "status": "CANCELLED"}
                data = r.json().get("data") if r.status_code == 200 else None
                if data and data["acceptCancellation"] == done:
                    succeeded.add(cid)
                    if sigterm_at is not None:
                        after_sigterm.append(cid)
                else:
                    # 500: cancelled at the shutdown timeout; or an error answer (under this
                    # contention a decision can run out of transaction retries)
                    cut.append(cid)

            load = [asyncio.create_task(accept(shop, cid)) for shop, cid in work]
            # Mid-load: the first answers are back, the rest in flight (never wait for ever:
            # if every call fails, the test fails here, it does not hang).
            started = time.monotonic()
            while not succeeded:
                assert time.monotonic() - started < 60, f"no mutation succeeded; cut: {len(cut)}"
                await asyncio.sleep(0.005)
            proc.send_signal(signal.SIGTERM)
            sigterm_at = time.monotonic()
            await asyncio.sleep(0.5)  # the service has stopped listening by now
            async with httpx.AsyncClient(timeout=5) as late_client:
                with pytest.raises(httpx.ConnectError):  # no new work is taken
                    await late_client.post(url, json={"query": "{ viewer { id } }"})
            await asyncio.gather(*load)
            assert await asyncio.to_thread(proc.wait, shutdown_timeout + 30) == 0
            stopped_after = time.monotonic() - sigterm_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert after_sigterm, "no mutation was in flight at SIGTERM: the test proved nothing"
    assert stopped_after < shutdown_timeout + 10
    if shutdown_timeout < 10:
        assert cut, "the short timeout should have cut some transactions off"
    for _, cid in work:
        await _assert_whole_or_untouched(db, cid, cid in succeeded)
    for shop_id in shop_ids:
        await _assert_counters_match(db, shop_id)

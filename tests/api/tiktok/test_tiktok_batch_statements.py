"""H4: what a batch of TikTok webhooks sends to the database, counted by the driver as it sends
it (tests/support/statements.py): new orders placed in the transaction that opens the
cancellations on them, each order written once; and a batch whose transaction fails placing
its orders and opening its requests on their own."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.tiktok_mirror import CANCELLATION, Known
from storage import cancellations as cancellation_store
from storage import orders as order_store
from storage.indexes import ensure_indexes
from tests.support.statements import Statements, recorded_database
from tests.support.tiktok_linked import Linked, eventually, linked_service

PAIRS = 5
# The writes of a batch of new orders and a cancellation of each: one transaction, one
# statement a collection, and the inbox's finish (the handled keys, the webhooks deleted).
BATCH_WRITES = Counter(
    {
        ("insert", "orders"): 1,
        ("insert", "order_records"): 1,
        ("insert", "cancellations"): 1,
        ("insert", "tickets"): 1,
        ("insert", "events"): 1,
        ("insert", "idempotency_keys"): 1,
        ("update", "tab_counts"): 1,
        ("findAndModify", "event_sequences"): 1,
        ("commitTransaction", ""): 1,
        ("insert", "tiktok_requests"): 1,
        ("insert", "tiktok_seen"): 1,
        ("delete", "tiktok_inbox"): 1,
    }
)
WRITES = {"insert", "update", "delete", "findAndModify", "commitTransaction"}


@pytest.fixture(scope="module")
async def recorded(mongodb_uri: str) -> AsyncIterator[tuple[Linked, Statements]]:
    async with recorded_database(mongodb_uri) as (db, statements):
        await ensure_indexes(db)
        # A batch takes what this process holds; a claim of the inbox (a retry due, say) only
        # when it holds nothing: not once a second as well, which would make a batch's size
        # depend on how long the test took to get there.
        async with linked_service(db, inbox_poll_seconds=3600) as service:
            await service.connection.stop()
            yield service, statements


async def _pairs(linked: Linked, count: int) -> list[str]:
    """`count` new orders at TikTok and a buyer's cancellation of each, their webhooks here."""
    cancel_ids = []
    for _ in range(count):
        order = await linked.order(status="AWAITING_SHIPMENT")
        body = {"order_id": order["id"]}
        cancel = await linked.control("POST", "/_standin/cancellations", body)
        cancel_ids.append(cancel["cancel_id"])

    async def arrived() -> bool:
        # Answered too: the process holds a webhook for its next batch as it answers.
        answered = (await linked.control("GET", "/_standin/webhooks"))["idle"]
        return answered and await linked.pending() >= 2 * count

    await eventually(arrived, f"{2 * count} webhooks in the inbox")
    return cancel_ids


async def _opened(linked: Linked, cancel_id: str) -> tuple[str, str | None]:
    """The local cancellation of TikTok's and the open cancellation its order shows."""
    local_id = await linked.mirrored(CANCELLATION, cancel_id)
    local = await cancellation_store.get(linked.services.db, local_id)
    assert local is not None
    order = await order_store.get(linked.services.db, local.order_id)
    assert order is not None
    return local.status.value, order.open_cancellation_id


async def test_h4_a_batch_of_new_orders_and_their_cancellations_writes_each_order_once_in_one_commit(
    recorded: tuple[Linked, Statements],
) -> None:
    linked, statements = recorded
    cancel_ids = await _pairs(linked, PAIRS)
    statements.sent.clear()

    assert await linked.connection.process_batch() == 2 * PAIRS

    writes = Counter((s.command, s.collection) for s in statements.sent if s.command in WRITES)
    assert writes == BATCH_WRITES
    [orders] = statements.of("insert", "orders")
    assert orders.documents == PAIRS
    assert len(statements.of("find", "category_policies")) == 1  # for the orders and openings
    # The orders are looked for once, by the placement (the openings read them as they wait).
    assert len(statements.of("find", "order_records")) == 1
    assert statements.of("find", "orders") == []
    # Nor the openings' idempotency keys: none can exist for a request on an order placed now.
    assert statements.of("find", "idempotency_keys") == []
    for cancel_id in cancel_ids:
        status, open_cancellation = await _opened(linked, cancel_id)
        local_id = await linked.mirrored(CANCELLATION, cancel_id)
        assert (status, open_cancellation) == ("PENDING", local_id)


async def test_h4_a_batch_whose_transaction_fails_places_its_orders_and_opens_its_requests_apart(
    recorded: tuple[Linked, Statements], monkeypatch: pytest.MonkeyPatch
) -> None:
    linked, _ = recorded
    good, poisoned = await _pairs(linked, 2)
    mirror = linked.connection.mirror
    opening = mirror.openings[CANCELLATION]
    failing = {"together": 0}

    def poisoning(view: dict[str, Any], known: Known) -> tuple[str, Any]:
        """The poisoned view's opening fails while its batch opens requests together."""
        tiktok_id, step = opening(view, known)
        if tiktok_id == poisoned and step is not None:
            failing["together"] += 1
            raise RuntimeError("a poisoned opening")
        return tiktok_id, step

    monkeypatch.setitem(mirror.openings, CANCELLATION, poisoning)
    assert await linked.connection.process_batch() == 4

    assert failing["together"] == 2  # with the batch's orders, then on their own
    assert await _opened(linked, good) == ("PENDING", await linked.mirrored(CANCELLATION, good))
    # The poisoned one's order is placed all the same; its request opened on its own pass.
    assert (await _opened(linked, poisoned))[0] == "PENDING"
    assert await linked.pending() == 0

"""The TikTok inbox's batch claims: each webhook held by one claim at a time, oldest first, and
only the claim that holds a webhook may finish it; a webhook stored leased to the process that
received it; a handled one deleted, its key kept for the replay window; webhooks that come
together stored together; their inserts sent with no retryable write's number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from storage import tiktok_inbox as inbox
from storage.mongo import Database
from tests.support.statements import recorded_database
from tests.support.webhook_delivery import own_database

T0 = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
async def inbox_db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        await inbox.prepare(database)
        yield database


async def _received(db: Database, count: int) -> list[str]:
    for n in range(count):
        await inbox.Accepting(db).accept(
            f"n{n}", "shop-1", 11, {"cancel_id": f"c{n}"}, 0, T0 + n * LEASE / 60
        )
    return [f"shop-1/n{n}" for n in range(count)]


async def test_two_batch_claims_never_hold_the_same_webhook(inbox_db: Database) -> None:
    ids = await _received(inbox_db, 5)

    first = await inbox.claim_batch(inbox_db, "p-1/1", T0, LEASE, 3)
    second = await inbox.claim_batch(inbox_db, "p-1/2", T0, LEASE, 10)
    third = await inbox.claim_batch(inbox_db, "p-2/1", T0, LEASE, 10)

    assert [n.id for n in first] == ids[:3]  # the oldest first
    assert [n.id for n in second] == ids[3:]
    assert third == []
    assert {n.lease_owner for n in first} == {"p-1/1"}
    assert {n.attempts for n in first + second} == {1}


async def test_a_batch_is_finished_only_by_the_claim_that_holds_it(inbox_db: Database) -> None:
    await _received(inbox_db, 2)
    slow = await inbox.claim_batch(inbox_db, "slow/1", T0, LEASE, 10)
    later = T0 + 2 * LEASE  # the slow claim's lease has run out: another takes them
    taken = await inbox.claim_batch(inbox_db, "quick/1", later, LEASE, 10)

    await inbox.finish_many(inbox_db, slow, "slow/1")
    assert await inbox.pending(inbox_db) == 2
    await inbox.finish_many(inbox_db, taken, "quick/1")
    assert await inbox.pending(inbox_db) == 0
    assert {n.attempts for n in taken} == {2}


async def test_a_webhook_stored_leased_is_claimed_by_another_only_after_its_lease(
    inbox_db: Database,
) -> None:
    stored = await inbox.Accepting(inbox_db).accept(
        "n0", "shop-1", 11, {}, 0, T0, ("p-1/received", T0 + LEASE)
    )
    assert stored is not None and stored.attempts == 1

    assert await inbox.claim_batch(inbox_db, "p-2/1", T0 + LEASE / 2, LEASE, 10) == []
    taken = await inbox.claim_batch(inbox_db, "p-2/2", T0 + 2 * LEASE, LEASE, 10)

    assert [(n.id, n.lease_owner, n.attempts) for n in taken] == [("shop-1/n0", "p-2/2", 2)]


async def test_a_handled_webhook_is_deleted_and_its_key_dedupes_until_pruned(
    inbox_db: Database,
) -> None:
    ident = (await _received(inbox_db, 1))[0]
    taken = await inbox.claim_batch(inbox_db, "p-1/1", T0, LEASE, 10)

    await inbox.finish_many(inbox_db, taken, "p-1/1")

    assert await inbox.collection(inbox_db).count_documents({}) == 0
    again = await inbox.Accepting(inbox_db).accept("n0", "shop-1", 11, {}, 0, T0 + LEASE)
    assert again is not None  # stored again: the worker drops it, its key being seen
    assert await inbox.seen_of(inbox_db, [ident, "shop-1/other"]) == {ident}
    await inbox.prune(inbox_db, T0 + LEASE)
    assert await inbox.seen_of(inbox_db, [ident]) == set()


async def test_webhooks_that_come_together_are_stored_by_one_insert_each_answered(
    mongodb_uri: str,
) -> None:
    async with recorded_database(mongodb_uri) as (db, statements):
        await inbox.prepare(db)
        await inbox.Accepting(db).accept("n0", "shop-1", 11, {}, 0, T0)  # stored before
        accepting = inbox.Accepting(db)

        answers = await asyncio.gather(
            *(accepting.accept(n, "shop-1", 11, {}, 0, T0) for n in ["n0", "n1", "n2", "n1"])
        )

        assert [a.id if a else None for a in answers] == [None, "shop-1/n1", "shop-1/n2", None]
        assert len(statements.of("insert")) == 2  # the one before, then the four together
        assert await inbox.pending(db) == 3


async def test_webhooks_and_their_handled_keys_are_stored_without_a_retryable_write_number(
    mongodb_uri: str,
) -> None:
    # SecantusDB keeps every numbered write's record and looks through them all on each one, so
    # inserts idempotent by their `_id` go unnumbered (storage/mongo.py `Database.keyed`).
    async with recorded_database(mongodb_uri) as (db, statements):
        await inbox.prepare(db)
        owner = "process/received"
        stored = await inbox.Accepting(db).accept(
            "n1", "shop-1", 11, {}, 0, T0, lease=(owner, T0 + LEASE)
        )
        assert stored is not None
        await inbox.finish_many(db, [stored], owner)

        inserts = {s.collection: s.numbered for s in statements.of("insert")}
        assert inserts == {"tiktok_inbox": False, "tiktok_seen": False}
        assert await inbox.seen_of(db, ["shop-1/n1"]) == {"shop-1/n1"}

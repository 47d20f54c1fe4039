"""What the service keeps for a while and then deletes itself: idempotency keys (a day, by the
deadline worker) and webhook deliveries (a week, by the dispatcher's retention pass). No
collection has a TTL index: SecantusDB sweeps one every minute by reading the whole collection
under its one storage lock, which stalls every other statement (benchmarks/ttl_sweep.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, IndexModel

from models.clock import SettableClock
from services.bootstrap import build_services
from services.deadline_worker import PRUNE_EVERY, DeadlineWorker
from storage import idempotency
from storage import tiktok_inbox as inbox
from storage import webhooks as webhook_store
from storage.indexes import ensure_indexes
from storage.mongo import Database
from tests.support.webhook_delivery import own_database

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        yield database


async def _keys(db: Database, ages: dict[str, timedelta]) -> None:
    docs = [
        {"_id": name, "fingerprint": "f", "result_id": "r", "created_at": NOW - age}
        for name, age in ages.items()
    ]
    await db.idempotency_keys.insert_many(docs)


async def _kept_keys(db: Database) -> list[str]:
    return sorted([d["_id"] async for d in db.idempotency_keys.find({}, {"_id": 1})])


async def test_no_collection_is_expired_by_a_ttl_index(db: Database) -> None:
    await inbox.prepare(db)
    for name in await db.db.list_collection_names():
        async for index in await db.db[name].list_indexes():
            assert "expireAfterSeconds" not in index, f"{name}.{index['name']} is a TTL index"


async def test_starting_on_a_database_with_the_old_ttl_indexes_drops_them(db: Database) -> None:
    await db.idempotency_keys.drop_index("created")
    await db.idempotency_keys.create_indexes(
        [IndexModel([("created_at", ASCENDING)], name="expire_keys", expireAfterSeconds=86400)]
    )
    deliveries = webhook_store.deliveries(db)
    await deliveries.drop_index("updated")
    await deliveries.create_indexes(
        [IndexModel([("updated_at", ASCENDING)], name="expire_deliveries", expireAfterSeconds=60)]
    )

    await ensure_indexes(db)

    keys = await db.idempotency_keys.index_information()
    assert "expire_keys" not in keys and "expireAfterSeconds" not in keys["created"]
    kept = await deliveries.index_information()
    assert "expire_deliveries" not in kept and "expireAfterSeconds" not in kept["updated"]


async def test_the_deadline_worker_deletes_keys_older_than_a_day_at_most_once_a_minute(
    db: Database,
) -> None:
    clock = SettableClock(NOW)
    worker = DeadlineWorker(await build_services(db, clock), interval=1, batch_size=10)
    day = idempotency.KEPT
    await _keys(db, {"old": day + timedelta(seconds=1), "young": day - timedelta(seconds=30)})

    assert await worker.prune_keys() == 1
    assert await _kept_keys(db) == ["young"]

    clock.advance(PRUNE_EVERY - timedelta(seconds=1))  # "young" is past its day now
    assert await worker.prune_keys() == 0  # within a minute of the last pass: no pass
    clock.advance(timedelta(seconds=1))
    assert await worker.prune_keys() == 1
    assert await _kept_keys(db) == []


async def test_deliveries_unchanged_for_their_retention_are_deleted(db: Database) -> None:
    week = webhook_store.DELIVERY_RETENTION
    docs = [
        {"_id": "stale", "webhook_id": "w", "updated_at": NOW - week - timedelta(seconds=1)},
        {"_id": "recent", "webhook_id": "w", "updated_at": NOW - week + timedelta(hours=1)},
    ]
    await webhook_store.deliveries(db).insert_many(docs)

    assert await webhook_store.prune_deliveries(db, NOW) == 1
    left = [d["_id"] async for d in webhook_store.deliveries(db).find({}, {"_id": 1})]
    assert left == ["recent"]

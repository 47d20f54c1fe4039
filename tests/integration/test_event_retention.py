"""The event log keeps an event 24 hours, and beyond that until every consumer of its shop has
passed it; the TTL index that deleted events regardless of consumers is gone; a notification an
event document carried stays in its inbox when the event goes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, IndexModel

from models.actors import Actor, ActorKind
from models.clock import SettableClock
from models.commands import RequestCancellation
from models.notifications import Recipient
from services.bootstrap import build_services
from storage import event_consumers, event_retention, notifications
from storage.indexes import ensure_indexes
from storage.mongo import Database
from tests.support.factories import new_buyer_id, place_order
from tests.support.webhook_delivery import make_events, own_database


@pytest.fixture
async def log_db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        yield database


async def _age(db: Database, shop_id: str, seqs: list[int], hours: float) -> None:
    when = datetime.now(UTC) - timedelta(hours=hours)
    await db.events.update_many(
        {"shop_id": shop_id, "seq": {"$in": seqs}}, {"$set": {"stored_at": when}}
    )


async def _kept(db: Database, shop_id: str) -> list[int]:
    return [d["seq"] async for d in db.events.find({"shop_id": shop_id}).sort("seq", ASCENDING)]


async def test_events_older_than_a_day_go_unless_a_consumer_has_not_passed_them(
    log_db: Database,
) -> None:
    await make_events(log_db, "shop-plain", 3)
    await make_events(log_db, "shop-read", 4)
    await _age(log_db, "shop-plain", [1, 2], hours=25)
    await _age(log_db, "shop-read", [1, 2, 3, 4], hours=25)

    async def with_consumer(session: object) -> None:
        now = datetime.now(UTC)
        await event_consumers.register(log_db, "shop-read", "erp", 2, now, session)  # type: ignore[arg-type]

    await log_db.transaction(with_consumer)

    removed = await event_retention.prune(log_db, datetime.now(UTC))

    assert removed == 4
    assert await _kept(log_db, "shop-plain") == [3]  # a day old: gone; recent: kept
    assert await _kept(log_db, "shop-read") == [3, 4]  # old, but the consumer is at 2


async def test_a_day_is_kept_even_when_every_consumer_has_passed(log_db: Database) -> None:
    await make_events(log_db, "shop-fast", 3)
    await _age(log_db, "shop-fast", [1], hours=23)

    async def with_consumer(session: object) -> None:
        now = datetime.now(UTC)
        await event_consumers.register(log_db, "shop-fast", "erp", 3, now, session)  # type: ignore[arg-type]

    await log_db.transaction(with_consumer)
    assert await event_retention.prune(log_db, datetime.now(UTC)) == 0
    assert await _kept(log_db, "shop-fast") == [1, 2, 3]  # the dashboards' 24 hours


async def test_starting_on_a_database_with_the_old_ttl_index_drops_it(log_db: Database) -> None:
    await log_db.events.drop_index("stored_at")
    await log_db.events.create_indexes(
        [IndexModel([("stored_at", ASCENDING)], name="expire_events", expireAfterSeconds=86400)]
    )
    await ensure_indexes(log_db)
    info = await log_db.events.index_information()
    assert "expire_events" not in info
    assert "expireAfterSeconds" not in info["stored_at"]


async def _inbox(db: Database, shop_id: str) -> list[tuple[str, str, str]]:
    docs, _ = await notifications.page(db, Recipient.SHOP, shop_id, 10, None)
    return [(d["_id"], d["kind"], d["message"]) for d in docs]


async def test_c7_a_notification_outlives_the_event_document_that_carried_it(
    log_db: Database,
) -> None:
    # Two buyers ask to cancel through the service: each new request tells the shop.
    clock = SettableClock(datetime.now(UTC))
    services = await build_services(log_db, clock)
    for _ in range(2):
        buyer_id = new_buyer_id()
        order = await place_order(log_db, "shop-told", buyer_id, clock.now() - timedelta(hours=2))
        actor = Actor(ActorKind.BUYER, buyer_id)
        await services.handle(actor, RequestCancellation(order.id, "CHANGED_MIND"))
    told = await _inbox(log_db, "shop-told")
    assert len(told) == 2 and all(kind == "CANCELLATION_REQUESTED" for _, kind, _ in told)
    assert await log_db.notifications.count_documents({}) == 0  # carried by the events
    await _age(log_db, "shop-told", [1, 2, 3, 4], hours=25)  # each with its ticket's event

    assert await event_retention.prune(log_db, datetime.now(UTC)) == 2

    assert await _kept(log_db, "shop-told") == []
    assert await _inbox(log_db, "shop-told") == told

"""How long the event log keeps an event: at least `events.RETENTION` (24 h, what a dashboard
needs to resume after a night), and beyond that until every consumer of its shop has passed it
(storage/event_consumers.py). A TTL index cannot see consumers, so `prune` deletes instead; every
service process runs it now and then (services/webhook_delivery.py), and deleting what another
process already deleted is harmless.
"""

from __future__ import annotations

from datetime import datetime

from storage import event_consumers
from storage.events import RETENTION
from storage.mongo import Database

# The TTL index the log had before consumers; dropped at start so it no longer deletes events a
# consumer has not read.
OLD_TTL_INDEX = "expire_events"


async def retire_ttl_index(db: Database) -> None:
    info = await db.events.index_information()
    if OLD_TTL_INDEX in info:
        await db.events.drop_index(OLD_TTL_INDEX)


async def prune(db: Database, now: datetime) -> int:
    """Delete what no one needs any more; returns how many events went. `now`: the wall clock
    (events carry `stored_at` by the wall clock)."""
    cutoff = now - RETENTION
    held = await event_consumers.lowest_cursors(db)
    gone = await db.events.delete_many(
        {"stored_at": {"$lt": cutoff}, "shop_id": {"$nin": sorted(held)}}
    )
    removed = gone.deleted_count
    for shop_id, cursor in held.items():
        done = await db.events.delete_many(
            {"shop_id": shop_id, "seq": {"$lte": cursor}, "stored_at": {"$lt": cutoff}}
        )
        removed += done.deleted_count
    return removed


async def oldest_kept(db: Database, shop_id: str) -> int | None:
    """The number of the shop's oldest event still in the log (None: none is)."""
    d = await db.events.find_one({"shop_id": shop_id}, {"seq": 1}, sort=[("seq", 1)])
    return int(d["seq"]) if d else None

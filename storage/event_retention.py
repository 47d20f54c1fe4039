"""How long the event log keeps an event: at least `events.RETENTION` (24 h, what a dashboard
needs to resume after a night), and beyond that until every consumer of its shop has passed it
(storage/event_consumers.py). A TTL index cannot see consumers, so `prune` deletes instead; every
service process runs it now and then (services/webhook_delivery.py), and deleting what another
process already deleted is harmless. A notification a deleted event carried is kept: its notice
is copied into `notifications` first (storage/notifications.py::keep).
"""

from __future__ import annotations

from datetime import datetime

from storage import event_consumers, notifications
from storage.events import CARRIED, CARRIED_REFUND, RETENTION, last_seq
from storage.mongo import IN_CHUNK, Database
from storage.notifications import NOTICE_FIELDS

# The TTL index the log had before consumers; dropped at start (storage/indexes.py) so it no
# longer deletes events a consumer has not read.
OLD_TTL_INDEX = "expire_events"


async def prune(db: Database, now: datetime) -> int:
    """Delete what no one needs any more; returns how many events went. `now`: the wall clock
    (events carry `stored_at` by the wall clock).

    One index scan of what is older than a day (SecantusDB's planner scans the whole collection
    for `stored_at` with a `$nin` on the shop), then deletes by id, `IN_CHUNK` at a time. What a
    consumer still needs is read again by the next pass: a webhook paused for long makes the
    pass longer, not wrong."""
    held = await event_consumers.lowest_cursors(db)
    carried = {f"{CARRIED}.seq": 1, f"{CARRIED_REFUND}.seq": 1}
    wanted = {"shop_id": 1, "seq": 1, **carried, **dict.fromkeys(NOTICE_FIELDS, 1)}
    old = db.events.find({"stored_at": {"$lt": now - RETENTION}}, wanted)
    done = [d async for d in old if d["shop_id"] not in held or last_seq(d) <= held[d["shop_id"]]]
    removed = 0
    for start in range(0, len(done), IN_CHUNK):
        chunk = done[start : start + IN_CHUNK]
        # A notice outlives its event: copied to `notifications` first, so an inbox never
        # misses it (storage/notifications.py).
        await notifications.keep(db, [d for d in chunk if "inboxes" in d])
        gone = await db.events.delete_many({"_id": {"$in": [d["_id"] for d in chunk]}})
        removed += gone.deleted_count
    return removed


async def oldest_kept(db: Database, shop_id: str) -> int | None:
    """The number of the shop's oldest event still in the log (None: none is)."""
    d = await db.events.find_one({"shop_id": shop_id}, {"seq": 1}, sort=[("seq", 1)])
    return int(d["seq"]) if d else None

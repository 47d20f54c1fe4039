"""TikTok's webhooks as received: `tiktok_inbox`, one document per shop and
`tts_notification_id`, `{_id: "<shop>/<tts_notification_id>", notification_id, shop_id, type,
data, timestamp, received_at, state: NEW | DONE | FAILED, attempts, lease_owner, lease_until,
last_error, done_at}`.

A webhook is inserted here before its 200 goes out, so one accepted is never lost; the
`_id` dedupes a repeat for as long as the document is kept (the replay window, then pruned).
A worker claims a NEW one with a lease (compare-and-set on an expired or absent lease), so a
process that dies mid-way leaves it to another after the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from storage.mongo import Database

NEW, DONE, FAILED = "NEW", "DONE", "FAILED"
CLAIM_TRIES = 5
INBOX_INDEXES = [
    IndexModel([("state", ASCENDING), ("lease_until", ASCENDING)], name="state_lease"),
    IndexModel([("received_at", ASCENDING)], name="received"),
]


def collection(db: Database) -> Any:
    return db.db["tiktok_inbox"]


@dataclass(frozen=True)
class Notification:
    id: str
    shop_id: str
    type: int
    data: dict[str, Any]
    timestamp: int
    received_at: datetime
    attempts: int


def _of(d: dict[str, Any]) -> Notification:
    return Notification(
        d["_id"],
        d["shop_id"],
        int(d["type"]),
        d.get("data") or {},
        int(d.get("timestamp") or 0),
        d["received_at"],
        int(d.get("attempts", 0)),
    )


async def accept(
    db: Database, ident: str, shop_id: str, kind: int, data: Any, stamp: int, now: datetime
) -> bool:
    """Stores a webhook; False when this id was stored before for this shop (a repeat)."""
    try:
        await collection(db).insert_one(
            {
                "_id": f"{shop_id}/{ident}",
                "notification_id": ident,
                "shop_id": shop_id,
                "type": kind,
                "data": data,
                "timestamp": stamp,
                "received_at": now,
                "state": NEW,
                "attempts": 0,
                "lease_until": None,
            }
        )
    except DuplicateKeyError:
        return False
    return True


async def claim(db: Database, owner: str, now: datetime, lease: timedelta) -> Notification | None:
    """A NEW webhook no live lease holds, now leased to `owner`: found by the `state_lease`
    index, then taken by a compare-and-set on its id (a worker that took it first keeps it).
    Not one findAndModify: SecantusDB's reads the whole inbox for it, and the inbox keeps every
    webhook of the replay window (benchmarks/tiktok_claims.py). In the index's order (fresh
    ones, then lapsed leases oldest first), not sorted by arrival: a sort reads every waiting
    webhook, and the order changes nothing (each reads TikTok's current view)."""
    # Absent, None or lapsed: one condition on the field, so the index serves it.
    waiting = {"state": NEW, "lease_until": {"$not": {"$gte": now}}}
    for _ in range(CLAIM_TRIES):
        d = await collection(db).find_one(waiting)
        if d is None:
            return None
        taken = await collection(db).update_one(
            {"_id": d["_id"], **waiting},
            {"$set": {"lease_owner": owner, "lease_until": now + lease}, "$inc": {"attempts": 1}},
        )
        if taken.modified_count:
            return _of(d | {"attempts": int(d.get("attempts", 0)) + 1})
    return None


async def finish(db: Database, ident: str, owner: str, now: datetime) -> None:
    await collection(db).update_one(
        {"_id": ident, "lease_owner": owner},
        {"$set": {"state": DONE, "done_at": now, "lease_until": None, "lease_owner": None}},
    )


async def retry_later(
    db: Database, ident: str, owner: str, error: str, at: datetime, give_up: bool
) -> None:
    """Leaves it for a later pass (its lease ends at `at`), or FAILED after too many attempts;
    the reconciler repairs what a failed one would have told."""
    state = FAILED if give_up else NEW
    await collection(db).update_one(
        {"_id": ident, "lease_owner": owner},
        {"$set": {"state": state, "lease_until": at, "last_error": error[:500]}},
    )


async def prune(db: Database, before: datetime) -> int:
    """Forgets webhooks handled before the replay window: their ids no longer dedupe."""
    done = await collection(db).delete_many({"state": {"$ne": NEW}, "received_at": {"$lt": before}})
    return int(done.deleted_count)


async def pending(db: Database) -> int:
    return int(await collection(db).count_documents({"state": NEW}))

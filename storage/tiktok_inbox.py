"""TikTok's webhooks as received: `tiktok_inbox`, one document per shop and
`tts_notification_id`, `{_id: "<shop>/<tts_notification_id>", notification_id, shop_id, type,
data, timestamp, received_at, state: NEW | DONE | FAILED, attempts, lease_owner, lease_until,
last_error, done_at}`.

A webhook is inserted here before its 200 goes out, so one accepted is never lost; the
`_id` dedupes a repeat for as long as the document is kept (the replay window, then pruned).
A worker claims NEW ones with a lease (compare-and-set on an expired or absent lease), so a
process that dies mid-way leaves them to another after the lease; `claim_batch` takes up to a
batch's worth at once, under a lease name of that claim alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from storage.mongo import Database

NEW, DONE, FAILED = "NEW", "DONE", "FAILED"
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
    # Who holds its lease: `finish` and `retry_later` act only for that holder.
    lease_owner: str = ""


def _of(d: dict[str, Any]) -> Notification:
    return Notification(
        d["_id"],
        d["shop_id"],
        int(d["type"]),
        d.get("data") or {},
        int(d.get("timestamp") or 0),
        d["received_at"],
        int(d.get("attempts", 0)),
        str(d.get("lease_owner") or ""),
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


def _waiting(now: datetime) -> dict[str, Any]:
    """NEW, its lease absent or run out. (Not an `$or`: SecantusDB scans the whole inbox for
    one; an update_many of 50 ids took 1.6 s with it against 28 ms without, over 5,000
    webhooks, measured while profiling benchmarks/ingest.py.)"""
    return {"state": NEW, "lease_until": {"$not": {"$gte": now}}}


async def claim_batch(
    db: Database, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Notification]:
    """Up to `limit` NEW webhooks no live lease holds, now leased to `owner` (a name only this
    claim uses): the candidates read, then one conditional update of them all; another worker
    that won some in between keeps those. In the `state_lease` index's order, not sorted by
    arrival: a sort reads every waiting webhook (benchmarks/tiktok_claims.py), and the order
    changes nothing (each webhook reads TikTok's current view)."""
    candidates = collection(db).find(_waiting(now), {"_id": 1})
    ids = [d["_id"] for d in await candidates.limit(limit).to_list()]
    if not ids:
        return []
    await collection(db).update_many(
        {"_id": {"$in": ids}, **_waiting(now)},
        {"$set": {"lease_owner": owner, "lease_until": now + lease}, "$inc": {"attempts": 1}},
    )
    won = collection(db).find({"_id": {"$in": ids}, "lease_owner": owner})
    return [_of(d) for d in await won.sort("received_at", ASCENDING).to_list()]


async def finish_many(db: Database, idents: list[str], owner: str, now: datetime) -> None:
    """Marks these webhooks DONE, those `owner` still holds."""
    if not idents:
        return
    await collection(db).update_many(
        {"_id": {"$in": idents}, "lease_owner": owner},
        {"$set": {"state": DONE, "done_at": now, "lease_until": None, "lease_owner": None}},
    )


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

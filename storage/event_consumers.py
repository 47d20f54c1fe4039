"""Durable consumers of a shop's event log (storage/events.py): `event_consumers`, one document
per consumer, `{_id: "<shop>/<name>", shop_id, name, cursor, generation, lease_owner,
lease_until, last_error, last_error_at, updated_at}`.

A consumer owns its cursor: the number of the last event it has handled. It reads the events
after it in order (`events.after`) and moves it only after handling them, so a consumer that
stops in between reads them again (at least once). One process at a time holds a consumer's
lease (`claim`: compare-and-set on the owner or an expired lease) and renews it; only the
holder moves the cursor (`advance` names the owner), so a process that lost its lease cannot
move it back or forward. `generation` moves when someone else sets the cursor (a replay), so a
holder's move from before it is refused and the holder reads again from the new cursor.

Retention (storage/event_retention.py) keeps every event a consumer has not passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument

from storage.events import MAX_CARRIED, StoredEvent, events_from
from storage.mongo import Database, Session

CONSUMER_INDEXES = [IndexModel([("shop_id", ASCENDING), ("name", ASCENDING)], name="shop_name")]


def collection(db: Database) -> Any:
    return db.db["event_consumers"]


def consumer_id(shop_id: str, name: str) -> str:
    return f"{shop_id}/{name}"


@dataclass(frozen=True)
class Consumer:
    shop_id: str
    name: str
    cursor: int
    generation: int
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    updated_at: datetime

    @property
    def id(self) -> str:
        return consumer_id(self.shop_id, self.name)


def _of(d: dict[str, Any]) -> Consumer:
    return Consumer(
        shop_id=d["shop_id"],
        name=d["name"],
        cursor=int(d["cursor"]),
        generation=int(d.get("generation", 0)),
        lease_owner=d.get("lease_owner"),
        lease_until=d.get("lease_until"),
        last_error=d.get("last_error"),
        last_error_at=d.get("last_error_at"),
        updated_at=d["updated_at"],
    )


async def read(db: Database, shop_id: str, cursor: int, limit: int) -> list[StoredEvent]:
    """The shop's events after `cursor`, in order, at most `limit`. Numbers have no gaps, so the
    range is bounded on both sides: SecantusDB reads every match of a query before its limit,
    and an open range over a backlog of N events costs N per batch. It starts `MAX_CARRIED - 1`
    before `cursor`: a document there may carry the events numbered after it (storage/events.py)."""
    start = cursor - MAX_CARRIED + 1
    found = (
        db.events.find({"shop_id": shop_id, "seq": {"$gte": start, "$lte": cursor + limit}})
        .sort("seq", ASCENDING)
        .limit(limit + 1)
    )
    upto = cursor + limit
    return [e async for d in found for e in events_from(d) if cursor < e.seq <= upto]


async def register(
    db: Database, shop_id: str, name: str, cursor: int, now: datetime, session: Session
) -> None:
    await collection(db).insert_one(
        {
            "_id": consumer_id(shop_id, name),
            "shop_id": shop_id,
            "name": name,
            "cursor": cursor,
            "generation": 0,
            "lease_owner": None,
            "lease_until": None,
            "last_error": None,
            "last_error_at": None,
            "updated_at": now,
        },
        session=session,
    )


async def remove(db: Database, shop_id: str, name: str, session: Session | None = None) -> None:
    await collection(db).delete_one({"_id": consumer_id(shop_id, name)}, session=session)


async def get(db: Database, shop_id: str, name: str) -> Consumer | None:
    d = await collection(db).find_one({"_id": consumer_id(shop_id, name)})
    return _of(d) if d else None


async def of_shop(db: Database, shop_id: str) -> list[Consumer]:
    cursor = collection(db).find({"shop_id": shop_id}).sort("name", ASCENDING)
    return [_of(d) async for d in cursor]


async def lowest_cursors(db: Database) -> dict[str, int]:
    """Per shop with consumers, the lowest cursor: what retention must keep after."""
    lowest: dict[str, int] = {}
    async for d in collection(db).find({}, {"shop_id": 1, "cursor": 1}):
        shop, cursor = d["shop_id"], int(d["cursor"])
        lowest[shop] = min(cursor, lowest.get(shop, cursor))
    return lowest


async def claim(
    db: Database, shop_id: str, name: str, owner: str, now: datetime, until: datetime
) -> Consumer | None:
    """Take or renew the lease: when free, expired or already ours. None: another holds it."""
    d = await collection(db).find_one_and_update(
        {
            "_id": consumer_id(shop_id, name),
            "$or": [
                {"lease_owner": owner},
                {"lease_owner": None},
                {"lease_until": {"$lt": now}},
            ],
        },
        {"$set": {"lease_owner": owner, "lease_until": until}},
        return_document=ReturnDocument.AFTER,
    )
    return _of(d) if d else None


async def release(db: Database, shop_id: str, name: str, owner: str) -> None:
    await collection(db).update_one(
        {"_id": consumer_id(shop_id, name), "lease_owner": owner},
        {"$set": {"lease_owner": None, "lease_until": None}},
    )


async def advance(
    db: Database,
    shop_id: str,
    name: str,
    *,
    owner: str,
    generation: int,
    cursor: int,
    now: datetime,
    error: str | None = None,
) -> bool:
    """Move the cursor as the lease holder; False when the lease or the generation is gone."""
    changes: dict[str, Any] = {"cursor": cursor, "updated_at": now}
    if error is not None:
        changes |= {"last_error": error, "last_error_at": now}
    result = await collection(db).update_one(
        {
            "_id": consumer_id(shop_id, name),
            "lease_owner": owner,
            "generation": generation,
            "cursor": {"$lte": cursor},
        },
        {"$set": changes},
    )
    return result.matched_count == 1


async def note_error(db: Database, shop_id: str, name: str, error: str, now: datetime) -> None:
    await collection(db).update_one(
        {"_id": consumer_id(shop_id, name)},
        {"$set": {"last_error": error, "last_error_at": now}},
    )


async def rewind(db: Database, shop_id: str, name: str, cursor: int, now: datetime) -> bool:
    """Set the cursor from outside the holder (a replay): the holder's next move is refused."""
    result = await collection(db).update_one(
        {"_id": consumer_id(shop_id, name)},
        {"$set": {"cursor": cursor, "updated_at": now}, "$inc": {"generation": 1}},
    )
    return result.matched_count == 1

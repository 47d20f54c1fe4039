"""Mirrors of TikTok's cancellations and returns, and the seller's decisions on their way to
TikTok: `tiktok_requests`, one document per TikTok request, `{_id: "<shop>/<kind>:<tiktok id>",
kind, shop_id, tiktok_id, tiktok_order_id, local_id, tiktok_status, status, unknown_status,
update_time, deadline, warned_deadline, arbitration_status, decision}`.

`decision` is the outbox of the one decision in flight: `{key, action, body, state, attempts,
next_at, lease_owner, lease_until, code, message, decided_at, actor_id}`; its states are
SENDING (to send or retry), SENT (TikTok accepted it; waiting to see it applied), CONFIRMED,
REFUSED (TikTok's code and message), OVERTAKEN (TikTok moved the request first).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from storage.batch_writes import find_by_ids
from storage.indexes import retire_indexes
from storage.mongo import Database, once_more_if_cut

SENDING, SENT, CONFIRMED, REFUSED, OVERTAKEN = (
    "SENDING",
    "SENT",
    "CONFIRMED",
    "REFUSED",
    "OVERTAKEN",
)
IN_FLIGHT = (SENDING, SENT)
DUPLICATE_KEY = 11000
# Fields a sparse index covers: unset, never null, when TikTok shows none.
SPARSE = ("deadline",)
RECORD_TRIES = 5
CLAIM_TRIES = 5
# Claims and mirrors are read, then written by id (no findAndModify): SecantusDB's findAndModify
# reads the whole collection even for one document by id, and this one keeps every request
# mirrored; a read by index and an update by id do not (benchmarks/tiktok_claims.py).
# Each index is rewritten on every write of a mirror (SecantusDB rewrites all of a document's
# entries), so each is one a query uses, and sparse: a mirror without a decision has no outbox
# entry, one without a deadline (`deadline` unset) no deadline entry.
REQUEST_INDEXES = [
    # by_local, by_locals: a request's mirror.
    IndexModel([("local_id", ASCENDING)], name="local", sparse=True),
    # claim_decision, sent_decisions: the outbox by state, then due time.
    IndexModel(
        [("decision.state", ASCENDING), ("decision.next_at", ASCENDING)],
        name="outbox_due",
        sparse=True,
    ),
    # deadlines_between: the deadline warnings' scan.
    IndexModel([("deadline", ASCENDING)], name="deadline", sparse=True),
]
# Indexes of earlier versions, dropped at start: `outbox` (not sparse), `shop_deadline` (no
# query had its shop prefix with a deadline).
RETIRED_INDEXES = ["outbox", "shop_deadline"]


def collection(db: Database) -> Any:
    return db.db["tiktok_requests"]


def mirror_id(shop_id: str, kind: str, tiktok_id: str) -> str:
    """Scoped by shop: TikTok's ids are its own, and a stand-in's restart from one."""
    return f"{shop_id}/{kind}:{tiktok_id}"


@dataclass(frozen=True)
class Mirror:
    id: str
    kind: str
    shop_id: str
    tiktok_id: str
    local_id: str | None
    tiktok_status: str
    status: str | None
    unknown_status: str | None
    update_time: int
    deadline: int | None
    decision: dict[str, Any] | None
    arbitration_status: str = ""  # a return's, as TikTok showed it last


def _of(d: dict[str, Any]) -> Mirror:
    return Mirror(
        d["_id"],
        d["kind"],
        d["shop_id"],
        d["tiktok_id"],
        d.get("local_id"),
        d.get("tiktok_status", ""),
        d.get("status"),
        d.get("unknown_status"),
        int(d.get("update_time", 0)),
        d.get("deadline"),
        d.get("decision"),
        str(d.get("arbitration_status") or ""),
    )


async def get(db: Database, shop_id: str, kind: str, tiktok_id: str) -> Mirror | None:
    d = await collection(db).find_one({"_id": mirror_id(shop_id, kind, tiktok_id)})
    return _of(d) if d else None


async def get_many(
    db: Database, shop_id: str, kind: str, tiktok_ids: list[str]
) -> dict[str, Mirror]:
    """The mirrors of these TikTok ids of the shop that exist, by TikTok id."""
    ids = [mirror_id(shop_id, kind, t) for t in sorted(set(tiktok_ids))]
    return {d["tiktok_id"]: _of(d) for d in await find_by_ids(collection(db), ids)}


async def prepare(db: Database) -> None:
    """The mirrors' indexes, and none that no query uses."""
    await retire_indexes(collection(db), RETIRED_INDEXES)
    await collection(db).create_indexes(REQUEST_INDEXES)


async def sent_decisions(db: Database, shop_id: str) -> list[Mirror]:
    """The shop's mirrors whose decision TikTok accepted and that wait to see it applied: by
    the outbox index (every shop's: SecantusDB uses an index only when the query names no
    field beyond it, and they are few), the shop's kept."""
    found = collection(db).find(sent_query())
    return [_of(d) async for d in found if d["shop_id"] == shop_id]


def sent_query() -> dict[str, Any]:
    return {"decision.state": SENT}


def due_query(now: datetime) -> dict[str, Any]:
    """The decisions to send now, leased or not (the outbox index serves it)."""
    return {"decision.state": SENDING, "decision.next_at": {"$lte": now}}


def deadline_query(start: int, end: int) -> dict[str, Any]:
    return {"deadline": {"$gte": start, "$lte": end}}


async def by_local(db: Database, local_id: str) -> Mirror | None:
    d = await collection(db).find_one({"local_id": local_id})
    return _of(d) if d else None


async def record(
    db: Database, kind: str, shop_id: str, tiktok_id: str, fields: dict[str, Any]
) -> Mirror:
    """Creates or updates the mirror with what TikTok said. A view older than the one recorded
    (by TikTok's `update_time`: a slower reader of the same request) changes nothing."""
    ident = mirror_id(shop_id, kind, tiktok_id)
    seen = fields.get("update_time")
    for _ in range(RECORD_TRIES):
        with contextlib.suppress(DuplicateKeyError):  # it exists with a newer view: kept
            await collection(db).update_one(
                *_recording(kind, shop_id, tiktok_id, fields), upsert=True
            )
        d = await collection(db).find_one({"_id": ident})
        # None, or older than this view: another reader's upsert of the same new mirror won
        # the key and this one's write was dropped, its document not readable yet (SecantusDB,
        # two readers at once); the next try finds it and applies this view over it.
        if d is not None and (seen is None or int(d.get("update_time") or 0) >= seen):
            return _of(d)
    raise LookupError(f"the mirror {ident} could not be read after writing it")


async def record_many(
    db: Database,
    kind: str,
    shop_id: str,
    views: list[tuple[str, dict[str, Any]]],
    absent: frozenset[str] = frozenset(),
) -> dict[str, Mirror]:
    """`record` for several requests of the shop (each TikTok id once): one write, one read;
    the mirrors as they now are, by TikTok id. `absent`: TikTok ids read as having no mirror,
    inserted in one statement (an upsert is a read and a write on SecantusDB) and not read
    back; one another reader made meanwhile is recorded as the others are."""
    if not views:
        return {}
    new = [(t, f) for t, f in views if t in absent]
    docs = [_inserted(kind, shop_id, t, f) for t, f in new]
    taken: set[str] = set()
    if new:
        # By key (`Database.keyed`): a mirror that landed before the connection was cut is
        # then taken, and recorded by the update below as one another reader made.
        inserts = db.keyed[collection(db).name]
        try:
            await once_more_if_cut(lambda: inserts.insert_many(docs, ordered=False))
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            taken = {new[e["index"]][0] for e in errors}
    writes = [
        UpdateOne(*_recording(kind, shop_id, t, f), upsert=True)
        for t, f in views
        if t not in absent or t in taken
    ]
    if writes:
        try:
            await collection(db).bulk_write(writes, ordered=False)
        except BulkWriteError as exc:  # those that exist with a newer view are kept as they are
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise
    # Those inserted are as written: only the others are read back.
    inserted = {t: _of(d) for (t, _), d in zip(new, docs, strict=True) if t not in taken}
    ids = [mirror_id(shop_id, kind, t) for t, _ in views if t not in inserted]
    found = await find_by_ids(collection(db), ids) if ids else []
    return inserted | {d["tiktok_id"]: _of(d) for d in found}


def _inserted(kind: str, shop_id: str, tiktok_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A new mirror's document, as `_recording`'s upsert would make it."""
    kept = {k: v for k, v in fields.items() if not (k in SPARSE and v is None)}
    ident = mirror_id(shop_id, kind, tiktok_id)
    return {"_id": ident, **kept, "kind": kind, "shop_id": shop_id, "tiktok_id": tiktok_id}


def _recording(
    kind: str, shop_id: str, tiktok_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The conditional upsert of a view: its query and its update."""
    query: dict[str, Any] = {"_id": mirror_id(shop_id, kind, tiktok_id)}
    if "update_time" in fields:
        # Not `$or` (older or none): SecantusDB scans the collection for an `$or`, and for
        # every findAndModify, where `_id` and `$not` use the index (about 1 ms against 130 ms
        # a call over 5,000 mirrors, measured while profiling benchmarks/ingest.py).
        query["update_time"] = {"$not": {"$gt": fields["update_time"]}}
    # A sparse index's field is unset rather than null: a mirror without it has no entry.
    cleared = {k: "" for k in SPARSE if k in fields and fields[k] is None}
    update: dict[str, Any] = {
        "$set": {k: v for k, v in fields.items() if k not in cleared},
        "$setOnInsert": {"kind": kind, "shop_id": shop_id, "tiktok_id": tiktok_id},
    }
    if cleared:
        update["$unset"] = cleared
    return query, update


async def start_decision(db: Database, mirror: Mirror, decision: dict[str, Any]) -> Mirror | None:
    """Puts a decision in the outbox unless another is in flight; the same key again is a
    repeat (the mirror as it is). None: another decision is in flight."""
    if mirror.decision is not None and mirror.decision.get("key") == decision["key"]:
        return mirror
    put = await collection(db).update_one(
        {
            "_id": mirror.id,
            "$or": [{"decision": None}, {"decision.state": {"$nin": list(IN_FLIGHT)}}],
        },
        {"$set": {"decision": decision}},
    )
    if not put.matched_count:
        return None
    d = await collection(db).find_one({"_id": mirror.id})
    return _of(d) if d else None


async def claim_decision(
    db: Database, owner: str, now: datetime, lease: timedelta
) -> Mirror | None:
    """The decision due first that no live lease holds, now leased to `owner`: found by the
    outbox index, then taken by a compare-and-set on its id (a sender that took it first
    keeps it)."""
    due = due_query(now)
    # Absent, None or lapsed; checked on the candidates read by the outbox index and again by
    # the write (SecantusDB uses an index only when the query names no field beyond it: with
    # this condition in the read, it read every mirror).
    free = {"decision.lease_until": {"$not": {"$gte": now}}}
    for _ in range(CLAIM_TRIES):
        lapsed = [
            d
            for d in await collection(db).find(due).to_list(None)
            if not _held(d.get("decision") or {}, now)
        ]
        d = min(lapsed, key=lambda d: d["decision"]["next_at"], default=None)  # due first
        if d is None:
            return None
        held = {"decision.lease_owner": owner, "decision.lease_until": now + lease}
        taken = await collection(db).update_one({"_id": d["_id"], **due, **free}, {"$set": held})
        if taken.modified_count:
            d["decision"] |= {"lease_owner": owner, "lease_until": now + lease}
            return _of(d)
    return None


def _held(decision: dict[str, Any], now: datetime) -> bool:
    until = decision.get("lease_until")
    if until is None:
        return False
    if until.tzinfo is None:  # as the driver reads it back
        until = until.replace(tzinfo=UTC)
    return bool(until >= now)


async def update_decision(
    db: Database, mirror_id_: str, key: str, fields: dict[str, Any], owner: str | None = None
) -> bool:
    """Sets fields of the decision with this key (held by `owner`, when named)."""
    query: dict[str, Any] = {"_id": mirror_id_, "decision.key": key}
    if owner is not None:
        query["decision.lease_owner"] = owner
    done = await collection(db).update_one(
        query, {"$set": {f"decision.{k}": v for k, v in fields.items()}}
    )
    return bool(done.modified_count)


async def for_shop(db: Database, shop_id: str) -> list[Mirror]:
    return [_of(d) async for d in collection(db).find({"shop_id": shop_id}).sort("_id", 1)]


async def by_locals(db: Database, local_ids: list[str]) -> dict[str, Mirror]:
    found = collection(db).find({"local_id": {"$in": sorted(set(local_ids))}})
    return {d["local_id"]: _of(d) async for d in found}


async def deadlines_between(db: Database, start: int, end: int) -> list[Mirror]:
    """Mirrors whose TikTok deadline falls in [start, end] (seconds) and was not warned of."""
    found = collection(db).find(deadline_query(start, end))
    return [_of(d) async for d in found if d.get("warned_deadline") != d.get("deadline")]


async def mark_warned(db: Database, mirror_id_: str, deadline: int) -> None:
    await collection(db).update_one({"_id": mirror_id_}, {"$set": {"warned_deadline": deadline}})

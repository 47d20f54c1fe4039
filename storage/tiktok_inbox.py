"""TikTok's webhooks as received, until they are handled: `tiktok_inbox`, one document per shop
and `tts_notification_id` waiting or failed, `{_id: "<shop>/<tts_notification_id>",
notification_id, shop_id, type, data, timestamp, received_at, state: NEW | FAILED, attempts,
lease_owner, lease_until, last_error}`; and the ids of those handled within the replay window,
`tiktok_seen`, `{_id: "<shop>/<tts_notification_id>", at}` (when it was received).

A webhook is inserted here before its 200 goes out, so one accepted is never lost; the `_id`
dedupes a repeat while the first waits, and its `tiktok_seen` key after (`seen_of`: the worker
drops a repeat unhandled). A handled webhook's document is deleted and its key written in one
statement each for a batch (`finish_many`): the inbox holds only what waits, so a claim that
reads it by `state_lease` reads no handled webhook, and a handled one costs no update.

A worker claims NEW ones with a lease (compare-and-set on an expired or absent lease), so a
process that dies mid-way leaves them to another after the lease; `claim_batch` takes up to a
batch's worth at once, under a lease name of that claim alone. A webhook may also be stored
already leased to the process that received it (`accept(lease=...)`): that process handles it
from memory, with no claim.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError

from storage.indexes import retire_indexes
from storage.mongo import Database, find_in, once_more_if_cut

NEW, DONE, FAILED = "NEW", "DONE", "FAILED"
# The lease of a webhook no worker has held: long run out, so a claim's range finds it.
NO_LEASE = datetime(1970, 1, 1, tzinfo=UTC)
DUPLICATE_KEY = 11000
# Webhooks stored by one statement at most (`Accepting`).
ACCEPT_BATCH = 100
# The claims' and the prune's; each index costs every insert and delete of a webhook.
INBOX_INDEXES = [
    IndexModel([("state", ASCENDING), ("lease_until", ASCENDING)], name="state_lease"),
]
# Handled webhooks' keys, pruned by their arrival after the replay window (`prune`).
SEEN_INDEXES = [IndexModel([("at", ASCENDING)], name="at")]
# Indexes of earlier versions that no query uses any more: dropped at start.
RETIRED_INDEXES = ["received"]


def collection(db: Database) -> Any:
    return db.db["tiktok_inbox"]


def seen(db: Database) -> Any:
    return db.db["tiktok_seen"]


def _inserts(db: Database, name: str) -> Any:
    """A collection's inserts by key (`Database.keyed`): the inbox's and the handled keys'
    `_id` make a repeat fail on its key, so they need no retryable write's record."""
    return db.keyed[name]


async def prepare(db: Database) -> None:
    """The inbox's and the keys' indexes, and none that no query uses."""
    await retire_indexes(collection(db), RETIRED_INDEXES)
    await collection(db).create_indexes(INBOX_INDEXES)
    await seen(db).create_indexes(SEEN_INDEXES)
    # An earlier version's inbox: waiting webhooks with a null lease, handled ones kept DONE.
    await collection(db).update_many(
        {"state": NEW, "lease_until": None}, {"$set": {"lease_until": NO_LEASE}}
    )
    done = await collection(db).find({"state": DONE}, {"received_at": 1}).to_list(None)
    for start in range(0, len(done), ACCEPT_BATCH):
        chunk = done[start : start + ACCEPT_BATCH]
        await _keep_keys(db, [(d["_id"], d["received_at"]) for d in chunk])
    if done:
        await collection(db).delete_many({"state": DONE})


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
    lease_until: datetime | None = None


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
        d.get("lease_until"),
    )


class Accepting:
    """`accept` for a process's webhooks as they come: those that come while a write is under
    way go together in the next one (one insert_many, not one insert each; a webhook never
    waits for others that have not come). Each caller gets its own answer: stored, a repeat
    (None), or the write's error (nothing is answered 200 unless stored)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[tuple[dict[str, Any], asyncio.Future[Notification | None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def accept(
        self,
        ident: str,
        shop_id: str,
        kind: int,
        data: Any,
        stamp: int,
        now: datetime,
        lease: tuple[str, datetime] | None = None,
    ) -> Notification | None:
        """Stores a webhook: None when this id waits here already for this shop (a repeat).
        With `lease` (owner, until) it is stored as claimed by that owner: its first attempt."""
        doc = {
            "_id": f"{shop_id}/{ident}",
            "notification_id": ident,
            "shop_id": shop_id,
            "type": kind,
            "data": data,
            "timestamp": stamp,
            "received_at": now,
            "state": NEW,
            "attempts": 0,
            "lease_until": NO_LEASE,
        }
        if lease is not None:
            doc |= {"attempts": 1, "lease_owner": lease[0], "lease_until": lease[1]}
        answer: asyncio.Future[Notification | None] = asyncio.get_running_loop().create_future()
        self._queue.append((doc, answer))
        if self._writer is None or self._writer.done():
            # Its own task: a caller that goes away does not stop the others' write.
            self._writer = asyncio.create_task(self._write_all())
        return await answer

    async def _write_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:ACCEPT_BATCH], self._queue[ACCEPT_BATCH:]
            await _write(self.db, batch)


async def _write(
    db: Database, batch: list[tuple[dict[str, Any], asyncio.Future[Notification | None]]]
) -> None:
    """Inserts the batch's webhooks and answers each caller."""
    failed: dict[int, BaseException] = {}
    docs = [doc for doc, _ in batch]
    try:
        # Sent again if cut: what landed the first time is then a repeat (None), stored all
        # the same, and handled after its lease by a claim.
        await once_more_if_cut(
            lambda: _inserts(db, "tiktok_inbox").insert_many(docs, ordered=False)
        )
    except BulkWriteError as exc:
        if exc.details.get("writeConcernErrors"):
            failed = dict.fromkeys(range(len(batch)), exc)
        for error in exc.details.get("writeErrors", []):
            if error.get("code") == DUPLICATE_KEY:
                failed.setdefault(error["index"], DuplicateKeyError(str(error.get("errmsg"))))
            else:
                failed[error["index"]] = exc
    except Exception as exc:  # the database is away: no webhook of the batch was stored
        failed = dict.fromkeys(range(len(batch)), exc)
    for index, (doc, answer) in enumerate(batch):
        if answer.done():  # its caller went away
            continue
        error = failed.get(index)
        if error is None:
            answer.set_result(_of(doc))
        elif isinstance(error, DuplicateKeyError):
            answer.set_result(None)
        else:
            answer.set_exception(error)


def waiting(now: datetime) -> dict[str, Any]:
    """NEW, its lease run out (one never leased holds NO_LEASE): a range of the `state_lease`
    index, which holds no webhook another worker holds. (Not an `$or` or a `$not`: SecantusDB
    scans the whole inbox for either; an update_many of 50 ids took 1.6 s with an `$or`
    against 28 ms without, over 5,000 webhooks, measured while profiling
    benchmarks/ingest.py.)"""
    return {"state": NEW, "lease_until": {"$lt": now}}


async def claim_batch(
    db: Database, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Notification]:
    """Up to `limit` NEW webhooks no live lease holds, now leased to `owner` (a name only this
    claim uses): the candidates read, then one conditional update of them all; another worker
    that won some in between keeps those. In the `state_lease` index's order, not sorted by
    arrival: a sort reads every waiting webhook (benchmarks/tiktok_claims.py), and the order
    changes nothing (each webhook reads TikTok's current view)."""
    candidates = collection(db).find(waiting(now), {"_id": 1})
    ids = [d["_id"] for d in await candidates.limit(limit).to_list()]
    if not ids:
        return []
    await collection(db).update_many(
        {"_id": {"$in": ids}, **waiting(now)},
        {"$set": {"lease_owner": owner, "lease_until": now + lease}, "$inc": {"attempts": 1}},
    )
    won = collection(db).find({"_id": {"$in": ids}, "lease_owner": owner})
    return [_of(d) for d in await won.sort("received_at", ASCENDING).to_list()]


async def renew(
    db: Database, items: list[Notification], owner: str, until: datetime
) -> list[Notification]:
    """These webhooks' lease extended to `until`, those `owner` still holds (one whose lease
    ran out may have been claimed since): them, with their new lease."""
    if not items:
        return []
    ids = [i.id for i in items]
    held = {"_id": {"$in": ids}, "state": NEW, "lease_owner": owner}
    done = await collection(db).update_many(held, {"$set": {"lease_until": until}})
    if done.matched_count == len(ids):
        kept = set(ids)
    else:
        kept = {d["_id"] for d in await collection(db).find(held, {"_id": 1}).to_list(None)}
    return [replace(i, lease_until=until) for i in items if i.id in kept]


async def seen_of(db: Database, idents: list[str]) -> set[str]:
    """Which of these webhooks were handled before (a repeat that came after its first was
    handled): one read by id."""
    if not idents:
        return set()
    return {d["_id"] for d in await find_in(seen(db), "_id", idents, projection={"_id": 1})}


async def finish_many(db: Database, items: list[Notification], owner: str) -> None:
    """These webhooks handled: their keys kept for the replay window, then their documents
    deleted, those `owner` still holds. Keys first: a process that stops between the two
    leaves webhooks that the next claim finds handled (`seen_of`), never one unhandled and
    forgotten."""
    if not items:
        return
    await _keep_keys(db, [(i.id, i.received_at) for i in items])
    await collection(db).delete_many({"_id": {"$in": [i.id for i in items]}, "lease_owner": owner})


async def _keep_keys(db: Database, handled: list[tuple[str, datetime]]) -> None:
    """The ids of handled webhooks (and when each came), kept for the replay window."""
    keys = [{"_id": ident, "at": at} for ident, at in handled]
    try:
        await once_more_if_cut(lambda: _inserts(db, "tiktok_seen").insert_many(keys, ordered=False))
    except BulkWriteError as exc:  # a repeat's key is there already: kept as it is
        if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
            raise


async def finish(db: Database, item: Notification, owner: str) -> None:
    await finish_many(db, [item], owner)


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
    """Forgets webhooks handled, and those that last failed, before the replay window: their
    ids no longer dedupe."""
    keys = await seen(db).delete_many({"at": {"$lt": before}})
    # A failed one's lease ends at its last attempt's backoff: the `state_lease` index's range.
    failed = await collection(db).delete_many({"state": FAILED, "lease_until": {"$lt": before}})
    return int(keys.deleted_count) + int(failed.deleted_count)


async def pending(db: Database) -> int:
    return int(await collection(db).count_documents({"state": NEW}))

"""Idempotency keys: a decision repeated with the same key returns the first outcome.

The key is stored in the same transaction as the change it guarded, so a retry after a lost
response can never apply the change twice. A key belongs to its caller: their kind, their id and,
for a seller agent, their shop (agent ids are the shop's own, so `agent-1` of two shops are two
callers). The services re-check access on the outcome a key recalls before returning it.

Keys are kept `KEPT`, then deleted by `prune` (the deadline worker's, about once a minute), not
by a TTL index: SecantusDB sweeps a TTL index's collection every minute by reading every
document of it under its one storage lock, which stalls every other statement meanwhile (0.4 to
0.5 s at 10,000 keys: benchmarks/ttl_sweep.py), and the keys of a busy day run to hundreds of
thousands. `prune` deletes by a range of the `created` index, on any MongoDB.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel

from models.actors import Actor
from models.errors import IdempotencyKeyReused, ValidationFailed
from storage.batch_writes import find_by_ids, insert_at_commit, read_ahead
from storage.mongo import Database, Session

MAX_KEY_LENGTH = 128
KEPT = timedelta(days=1)
INDEXES = [IndexModel([("created_at", ASCENDING)], name="created")]
# The TTL index of earlier versions (see above): dropped at start.
RETIRED_INDEXES = ["expire_keys"]


def _id(actor: Actor, key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            f"an idempotency key is 1 to {MAX_KEY_LENGTH} printable characters",
            field="idempotencyKey",
        )
    caller = f"{actor.id}@{actor.shop_id}" if actor.shop_id else actor.id
    return f"{actor.kind.value}:{caller}:{key}"


def fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    text = operation + "|" + "|".join(f"{k}={arguments[k]!r}" for k in sorted(arguments))
    return hashlib.sha256(text.encode()).hexdigest()


async def recall(
    db: Database, actor: Actor, key: str | None, print_: str, session: Session
) -> str | None:
    """The result id stored for this key, or None when the key is new."""
    if key is None:
        return None
    # By id (`find_by_ids`): a batch reads its parts' keys ahead (`read_ahead_keys`).
    found = await find_by_ids(db.idempotency_keys, [_id(actor, key)], session)
    if not found:
        return None
    doc = found[0]
    if doc["fingerprint"] != print_:
        raise IdempotencyKeyReused("this idempotency key was used for a different request")
    return str(doc["result_id"])


async def read_ahead_keys(
    db: Database, keys: list[tuple[Actor, str]], new: list[tuple[Actor, str]] | None = None
) -> None:
    """In a batch's transaction, before its parts: the keys they will recall, with one read
    (storage/batch_writes.py `read_ahead`); those of `new`, none read: keys no call can have
    used yet (an opening's on an order placed in the same transaction, whose outcome would be
    on it)."""
    fresh = {_id(actor, key) for actor, key in new or []}
    await read_ahead(db, db.idempotency_keys, [_id(actor, key) for actor, key in keys], fresh)


async def remember(
    db: Database,
    actor: Actor,
    key: str | None,
    print_: str,
    result_id: str,
    now: datetime,
    session: Session,
) -> None:
    if key is None:
        return
    doc = {"_id": _id(actor, key), "fingerprint": print_, "result_id": result_id, "created_at": now}
    if not insert_at_commit(db, db.idempotency_keys, [doc], session):
        await db.idempotency_keys.insert_one(doc, session=session)


async def prune(db: Database, now: datetime) -> int:
    """Deletes the keys older than `KEPT`; how many went."""
    gone = await db.idempotency_keys.delete_many({"created_at": {"$lt": now - KEPT}})
    return int(gone.deleted_count)

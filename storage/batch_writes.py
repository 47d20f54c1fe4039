"""What the parts of a batch (`Database.together`, storage/mongo.py) write and read
together, gathered until the batch's commit: new documents inserted with one statement a
collection (`insert_at_commit`), reads that none of them writes made once (`read_once`), the
documents each part reads first by id read ahead for all (`read_ahead`, `find_by_ids`), with
their updates written at the commit (`update_at_commit`) or, for a document the batch itself
inserts, made in its insert (`fold_at_commit`). Outside a batch each of these reads or writes
at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from typing import Any, TypeVar

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from storage.mongo import (
    BeforeCommit,
    ConcurrentUpdate,
    Database,
    Session,
    find_in,
    joined_batch,
)

T = TypeVar("T")
Update = tuple[Hashable, dict[str, Any]]  # a document's id and its update


async def find_by_ids(
    collection: AsyncCollection, ids: Sequence[str], session: Session | None = None
) -> list[dict[str, Any]]:
    """The documents with these `_id`s (those that exist), read `IN_CHUNK` ids at a time; in a
    batch's transaction, those its caller read ahead for its parts (`read_ahead`)."""
    ahead = await _from_batch(collection, ids, session)
    if ahead is not None:
        return ahead
    return await find_in(collection, "_id", ids, session)


class GatheredInserts(BeforeCommit):
    """New documents the parts of a batch (`Database.together`) insert, by collection: one
    insert_many a collection just before the commit, not one a part (SecantusDB spends about
    twice the CPU on a cancellation inserted alone as on one of 25 inserted at once,
    measured while profiling benchmarks/ingest.py)."""

    def __init__(self) -> None:
        self.docs: dict[str, list[dict[str, Any]]] = {}
        # The same documents by (collection, id): a read by id in the batch sees them
        # (`read_ahead`, `find_by_ids`); a part's update of one is made in it (`fold_at_commit`).
        self.by_id: dict[tuple[str, Hashable], dict[str, Any]] = {}

    def add(self, name: str, docs: list[dict[str, Any]]) -> None:
        self.docs.setdefault(name, []).extend(docs)
        self.by_id.update(((name, d["_id"]), d) for d in docs if "_id" in d)

    async def flush(self, db: Database, session: Session) -> None:
        for name in list(self.docs):
            await self.insert_now(db, session, name)

    async def insert_now(self, db: Database, session: Session, name: str) -> None:
        """One collection's waiting documents inserted now (a read of one by id is coming)."""
        docs = self.docs.pop(name, [])
        for d in docs:
            self.by_id.pop((name, d.get("_id")), None)
        if docs:
            await db.db[name].insert_many(docs, session=session)


class BatchReads(BeforeCommit):
    """What the parts of a batch (`Database.together`) read that none of them writes (the
    category policies, whether a shop has rules): read once for the batch, by key."""

    def __init__(self) -> None:
        self.found: dict[Hashable, Any] = {}

    async def flush(self, db: Database, session: Session) -> None:
        self.found.clear()


class ReadAhead(BeforeCommit):
    """Documents a batch's caller read by id for its parts, with one query a collection, at
    the start of the batch's transaction (`read_ahead`): by (collection, id), None for one
    absent. Each is handed once, to the first read by id that asks for it (`find_by_ids`); a
    later read of it goes to the database and sees what the transaction wrote since. The
    updates of those taken may wait for the commit (`update_at_commit`)."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, Hashable], dict[str, Any] | None] = {}
        self.taken: set[tuple[str, Hashable]] = set()
        self.waiting: set[tuple[str, Hashable]] = set()
        self.updates: dict[str, list[UpdateOne]] = {}

    async def flush(self, db: Database, session: Session) -> None:
        await self.write_updates(db, session)
        self.docs.clear()
        self.taken.clear()

    async def write_updates(self, db: Database, session: Session) -> None:
        """The waiting updates, one statement a collection; one that finds its document gone
        reruns the batch, as it would have on its own. A collection's documents waiting to be
        inserted are inserted first: an update of one that was not made in it finds it."""
        inserts = db.gathered(session, GatheredInserts)
        for name, ops in self.updates.items():
            if inserts is not None:
                await inserts.insert_now(db, session, name)
            result = await db.db[name].bulk_write(ops, ordered=False, session=session)
            if result.matched_count != len(ops):
                raise ConcurrentUpdate(f"batch of {name}")
        self.updates.clear()
        self.waiting.clear()


def _batch_of(session: Session | None) -> tuple[Database, Session, ReadAhead] | None:
    """The batch `session` is the transaction of, if any, with its read-ahead."""
    joined = joined_batch()
    if joined is None or session is None or joined[1] is not session:
        return None
    ahead = joined[0].before_commit(session, ReadAhead)
    return None if ahead is None else (joined[0], session, ahead)


async def read_ahead(
    db: Database, collection: AsyncCollection, ids: Sequence[str], absent: Collection[str] = ()
) -> None:
    """In a batch's transaction (`together`), before its parts: the documents with these ids,
    read now with one query (`IN_CHUNK` ids a statement) instead of one query a part. Only for
    ids each read first by one part, so that nothing the batch wrote is read ahead; elsewhere
    nothing is read. Those of `absent` are handed as absent with no read: ids the caller knows
    no document can have yet (the idempotency key of an opening on an order this transaction
    places)."""
    joined = joined_batch()
    batch = _batch_of(joined[1]) if joined is not None and joined[0] is db else None
    if batch is None or not ids:
        return
    _, session, ahead = batch
    # Those the batch inserts at its commit are handed as they wait (a batch's new orders,
    # opened on in the same transaction): no statement, and a part's update of one is made in
    # its insert (`fold_at_commit`).
    waiting = db.gathered(session, GatheredInserts)
    new = {i: d for i in ids if waiting and (d := waiting.by_id.get((collection.name, i)))}
    stored = [i for i in ids if i not in new and i not in absent]
    found = {d["_id"]: d for d in await find_in(collection, "_id", stored, session)} | new
    for ident in ids:
        doc = found.get(ident)
        ahead.docs[(collection.name, ident)] = None if doc is None else dict(doc)


async def _from_batch(
    collection: AsyncCollection, ids: Sequence[str], session: Session | None
) -> list[dict[str, Any]] | None:
    """The documents with these ids when the batch read every one ahead and no part has taken
    it yet (now taken); else None, once any update of them that waits is written."""
    batch = _batch_of(session)
    if batch is None:
        return None
    db, session, ahead = batch
    keys = [(collection.name, ident) for ident in ids]
    inserts = db.gathered(session, GatheredInserts)
    if inserts is not None and any(k in inserts.by_id and k not in ahead.docs for k in keys):
        # Waiting to be inserted and not handed ahead: inserted now, so the read finds it.
        await inserts.insert_now(db, session, collection.name)
    if not (ahead.docs or ahead.waiting):
        return None
    if any(k in ahead.waiting for k in keys):
        await ahead.write_updates(db, session)
    elif all(k in ahead.docs for k in keys):
        ahead.taken.update(keys)
        return [d for d in (ahead.docs.pop(k) for k in keys) if d is not None]
    return None


def update_at_commit(
    collection: AsyncCollection, updates: list[tuple[str, UpdateOne]], session: Session
) -> bool:
    """In a batch's transaction: keeps these updates (each with its document's id) for one
    statement a collection at the commit, and says so, when each document was read ahead and
    taken by the part now writing it (no other part reads it: `read_ahead`); else False, and
    the caller writes them now."""
    batch = _batch_of(session)
    keys = [(collection.name, ident) for ident, _ in updates]
    if batch is None or not updates:
        return False
    ahead = batch[2]
    if any(k not in ahead.taken for k in keys):
        return False
    ahead.waiting.update(keys)
    ahead.updates.setdefault(collection.name, []).extend(op for _, op in updates)
    return True


def _in_batch(db: Database, session: Session | None) -> bool:
    """Whether `session` is the transaction of a batch of `db` (`Database.together`)."""
    joined = joined_batch()
    return joined is not None and joined[0] is db and joined[1] is session


async def read_once(
    db: Database, session: Session | None, key: Hashable, read: Callable[[], Awaitable[T]]
) -> T:
    """`read()`, or in a batch's transaction its answer to the first part that asked (the
    same snapshot, and nothing in the batch writes what it reads): one read a batch, not one
    a part."""
    # A batch's session is never None: _in_batch is false for None.
    memo = db.before_commit(session, BatchReads) if _in_batch(db, session) else None  # type: ignore[arg-type]
    if memo is None:
        return await read()
    if key not in memo.found:
        memo.found[key] = await read()
    return memo.found[key]  # type: ignore[no-any-return]


def insert_at_commit(
    db: Database, collection: AsyncCollection, docs: list[dict[str, Any]], session: Session
) -> bool:
    """In a batch's transaction (`together`): keeps these new documents for the batch's one
    insert a collection at its commit, and says so; elsewhere False, and the caller inserts
    them now. Only for documents nothing in the same transaction reads back (a batch's parts
    are distinct requests); a duplicate key then fails the batch, not the part, and the parts
    are tried again on their own."""
    if not _in_batch(db, session):
        return False
    gathered = db.before_commit(session, GatheredInserts)
    if gathered is None:
        return False
    gathered.add(collection.name, docs)
    return True


# The update operators `fold_at_commit` applies to a waiting document (those
# storage/documents.py::changes_between writes); any other is written by the database.
_FOLDED = frozenset({"$set", "$unset", "$push"})


def fold_at_commit(
    collection: AsyncCollection, updates: Sequence[Update], session: Session
) -> list[Update]:
    """In a batch's transaction: the updates (each with its document's id) of documents the
    batch inserts at its commit, made in the document that waits, so that it is written once
    (a new order and the cancellation opened on it: one insert, not an insert and an update).
    Only for a document read ahead and taken by the part now writing it (`read_ahead`), and
    plain updates (`$set`, `$unset`, `$push` of `$each`, top-level fields); the others are
    returned, for the caller to write."""
    batch = _batch_of(session)
    if batch is None:
        return list(updates)
    db, session, ahead = batch
    inserts = db.gathered(session, GatheredInserts)
    rest: list[Update] = []
    for ident, update in updates:
        key = (collection.name, ident)
        doc = inserts.by_id.get(key) if inserts is not None else None
        if doc is None or key not in ahead.taken or not _apply(doc, update):
            rest.append((ident, update))
    return rest


def _apply(doc: dict[str, Any], update: dict[str, Any]) -> bool:
    """`update` made in `doc`, when it is a plain one (`_FOLDED`); else False, `doc` untouched."""
    fields = [f for op in update.values() for f in op]
    pushes = update.get("$push", {}).values()
    if (
        set(update) - _FOLDED
        or any("." in f or f == "_id" for f in fields)
        or any(not isinstance(p, dict) or set(p) != {"$each"} for p in pushes)
        or any(not isinstance(doc.get(f, []), list) for f in update.get("$push", {}))
    ):
        return False
    doc.update(update.get("$set", {}))
    for f in update.get("$unset", {}):
        doc.pop(f, None)
    for f, push in update.get("$push", {}).items():
        doc[f] = [*doc.get(f, []), *push["$each"]]
    return True

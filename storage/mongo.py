"""The MongoDB connection and the one way this service writes several documents together."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Sequence,
)
from contextvars import ContextVar
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from storage.deadlines import (
    RETRY_AFTER_BUSY,
    RETRY_AFTER_DOWN,
    DatabaseUnavailable,
    as_unavailable,
    attempt_limit,
    expired,
    remaining,
)

T = TypeVar("T")
Session = AsyncClientSession


# SecantusDB's `$in` costs grow with the square of the list (2,000 ids in one query: 2.06 s; the
# same ids 50 at a time: 0.11 s), so reads by many ids go in chunks of this size.
IN_CHUNK = 50


async def find_in(
    collection: AsyncCollection,
    field: str,
    values: Sequence[str],
    session: Session | None = None,
    projection: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The documents whose `field` is one of `values`, read `IN_CHUNK` values at a time."""
    docs: list[dict[str, Any]] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = list(values[start : start + IN_CHUNK])
        found = collection.find({field: {"$in": chunk}}, projection, session=session)
        docs += await found.to_list(None)
    return docs


class ConcurrentUpdate(Exception):
    """A conditional write found the document changed since it was read: decide again."""


class SerialLocks:
    """One asyncio lock per key, held while a transaction on that key runs in this process.

    Every write of a shop moves that shop's tab counter and event sequence in its transaction,
    so two transactions of one shop conflict: one aborts and retries, and N at once cost O(N^2)
    attempts (120 decisions on one shop: 78 s against 1.1 s spread over shops,
    benchmarks/hot_shop.py; 40 buyers' requests: 25 failed after the driver's 120 s of retries,
    benchmarks/burst.py). Queueing them here first leaves one attempt each; only transactions
    of other processes can still conflict (Database.transaction retries those with backoff).
    Waiting here counts against the operation's deadline. A key's lock is dropped when nobody
    holds or waits for it.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        async with self.hold_all([key]):
            yield

    @contextlib.asynccontextmanager
    async def hold_all(self, keys: Iterable[Hashable]) -> AsyncIterator[None]:
        """Every key's lock, taken in sorted order (two batches never wait on each other)."""
        async with contextlib.AsyncExitStack() as stack:
            for key in sorted(set(keys), key=repr):
                await stack.enter_async_context(self._one(key))
            yield

    @contextlib.asynccontextmanager
    async def _one(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            left = remaining()
            try:
                async with asyncio.timeout(None if left is None else max(left, 0)):
                    await lock.acquire()
            except TimeoutError:
                raise expired(
                    "the shop's earlier writes did not finish", RETRY_AFTER_BUSY
                ) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


# Backoff after a write conflict with another process's transaction: that one commits within a
# transaction's time (a few ms), so start short; full jitter keeps two losers from meeting again.
BACKOFF_FIRST_SECONDS = 0.004
BACKOFF_MAX_SECONDS = 0.1
# What one attempt of a transaction (all its calls and its commit) may take in a service process
# (`AFTERSALES_DB_CALL_TIMEOUT_MS`): a database that stopped answering mid-transaction is an
# answer within seconds, not at the operation's deadline. Elsewhere (benchmarks, seeding) an
# attempt is bounded only by a deadline, if there is one.
ATTEMPT_TIMEOUT_SECONDS = 10.0
# A shop whose writes keep conflicting while its event sequence (moved by every committed write
# of the shop) stays put for longer than any attempt may last is held by a transaction that is not
# finishing: a process killed in its last statements, whose writes the database keeps until its
# transaction lifetime ends (60 s on SecantusDB and MongoDB's default). Callers are told so
# instead of waiting. (A live transaction holds documents at most ATTEMPT_TIMEOUT_SECONDS.)
HELD_MARGIN_SECONDS = 1.0
# Transaction attempts a process runs at once; the rest wait their turn (within the deadline).
# SecantusDB answers them all at once, each slower: 200 at once over 200 shops from two processes
# made attempts outlast ATTEMPT_TIMEOUT_SECONDS (67 of 200 failed, benchmarks/burst.py), while
# a few at a time keep its CPU as busy.
TRANSACTION_SLOTS = 8


# The transaction a batch runs its parts in (`Database.together`), seen by the tasks it runs.
_joined: ContextVar[tuple[Database, Session] | None] = ContextVar("joined", default=None)


def joined_batch() -> tuple[Database, Session] | None:
    """The database and transaction of the batch (`Database.together`) this task runs in."""
    return _joined.get()


class BeforeCommit:
    """Writes a transaction gathers and makes last, just before it commits (the shop's tab
    counters and event sequence: see storage/tab_counts.py). `flush` runs once per attempt."""

    async def flush(self, db: Database, session: Session) -> None:
        raise NotImplementedError


B = TypeVar("B", bound=BeforeCommit)


async def once_more_if_cut(write: Callable[[], Awaitable[T]]) -> T:
    """`write()`, sent again once when the connection was lost on the way: for writes through
    `Database.keyed`, whose keys make a repeat of what landed the first time fail on its key,
    as the driver's own retry would have made it a no-op."""
    try:
        return await write()
    except ConnectionFailure:
        return await write()


class Database:
    def __init__(
        self, client: AsyncMongoClient, name: str, keyed_client: AsyncMongoClient | None = None
    ) -> None:
        self.client = client
        # Inserts that their `_id` makes idempotent (a repeat fails on the key) go through a
        # client that does not number them as retryable writes. SecantusDB keeps a record of
        # every numbered write for 30 minutes, up to 10,000, and looks through them all on each
        # one (sorts them past 10,000), so each costs more than the one before: 0.8 ms of its
        # CPU an insert at first, 1.4 ms after 7,500, 5.7 ms past 10,000, against 0.5 to 0.6
        # ms unnumbered throughout (benchmarks/retryable_writes.py). MongoDB keeps one record a
        # session; a write by key needs none, and is sent again here when its connection is
        # cut (`once_more_if_cut`).
        self._keyed_client = keyed_client
        self.keyed: AsyncDatabase = (keyed_client or client)[name]
        self.serial = SerialLocks()
        self.conflicts = 0  # transactions aborted by another's write, retried (benchmarks)
        self.attempt_timeout: float | None = None  # the service sets ATTEMPT_TIMEOUT_SECONDS
        self._slots = asyncio.Semaphore(TRANSACTION_SLOTS)
        # shop -> (event seq, conflicting since, last conflict): cleared on a commit
        self._stalled: dict[Hashable, tuple[int, float, float]] = {}
        self._gathered: dict[int, dict[type[BeforeCommit], BeforeCommit]] = {}
        self.db: AsyncDatabase = client[name]
        self.orders: AsyncCollection = self.db["orders"]
        self.cancellations: AsyncCollection = self.db["cancellations"]
        self.notifications: AsyncCollection = self.db["notifications"]
        self.idempotency_keys: AsyncCollection = self.db["idempotency_keys"]
        self.tab_counts: AsyncCollection = self.db["tab_counts"]
        self.category_policies: AsyncCollection = self.db["category_policies"]
        self.tickets: AsyncCollection = self.db["tickets"]
        self.ticket_rules: AsyncCollection = self.db["ticket_rules"]
        self.shop_agents: AsyncCollection = self.db["shop_agents"]
        self.after_sales: AsyncCollection = self.db["after_sales"]
        self.events: AsyncCollection = self.db["events"]
        self.event_sequences: AsyncCollection = self.db["event_sequences"]

    async def ping(self) -> None:
        await self.db.command("ping")

    def before_commit(self, session: Session, kind: type[B]) -> B | None:
        """The transaction's gathered writes of this kind (made on first use); None when
        `session` is not in a transaction this object runs (the caller then writes at once)."""
        gathered = self._gathered.get(id(session))
        if gathered is None:
            return None
        if kind not in gathered:
            gathered[kind] = kind()
        return gathered[kind]  # type: ignore[return-value]

    def gathered(self, session: Session, kind: type[B]) -> B | None:
        """The transaction's gathered writes of this kind, if any were made (none is made here:
        a flush may call this while the transaction's gathered writes are being walked)."""
        return self._gathered.get(id(session), {}).get(kind)  # type: ignore[return-value]

    async def transaction(
        self,
        work: Callable[[Session], Awaitable[T]],
        attempts: int = 20,
        *,
        serial: Hashable | Iterable[Hashable] | None = None,
    ) -> T:
        """Run `work` in one multi-document transaction: everything it writes lands, or nothing.

        A ConcurrentUpdate raised by `work` reruns it at once (up to `attempts` times), so it
        re-reads and decides again on the state that won. A write conflict with another
        transaction (another process's, on the same shop) reruns it after a jittered backoff.
        `serial`: a shop id, or several (a batch): transactions of this process on the same
        shop run one at a time (SerialLocks).

        Everything ends by the current deadline (`deadline`: every GraphQL operation and every
        batch of the worker has one), each attempt within `attempt_timeout` (or the deadline's
        `attempt`), and a shop held by a transaction
        that does not finish is reported (`_check_not_held`): then DatabaseUnavailable, a
        retryable answer with nothing written, instead of a hang.
        """
        joined = _joined.get()
        if joined is not None and joined[0] is self:
            # A part of a batch: written in the batch's transaction, which holds the queue and
            # reruns, commits or aborts the whole.
            return await work(joined[1])
        keys: list[Hashable] = []
        if isinstance(serial, str):
            keys = [serial]
        elif serial is not None:
            keys = [k for k in serial if k is not None]  # type: ignore[union-attr]
        async with self.serial.hold_all(keys):
            return await self._transaction(work, attempts, sorted(set(keys), key=repr))

    async def together(
        self,
        work: Callable[[], Awaitable[T]],
        *,
        serial: Hashable | Iterable[Hashable] | None = None,
    ) -> T:
        """Runs `work` in one transaction that every `transaction` it calls (one after another,
        never side by side: a session runs one call at a time) joins: the parts commit
        together, once, with one write of the counters they gathered, or none does. A part that
        raises aborts them all; a rerun runs them all again."""

        async def joined(session: Session) -> T:
            token = _joined.set((self, session))
            try:
                return await work()
            finally:
                _joined.reset(token)

        return await self.transaction(joined, serial=serial)

    async def _transaction(
        self, work: Callable[[Session], Awaitable[T]], attempts: int, shops: list[Hashable]
    ) -> T:
        reruns = conflicts = 0
        while True:
            left = remaining()
            if left is not None and left <= 0:
                raise expired("the write did not finish", RETRY_AFTER_BUSY)
            try:
                async with asyncio.timeout(left):
                    await self._slots.acquire()
            except TimeoutError:
                raise expired("no transaction slot came free", RETRY_AFTER_BUSY) from None
            try:
                return await self._attempt(work, shops, left)
            except _Rerun as rerun:
                if rerun.update is not None:
                    reruns += 1
                    if reruns >= attempts:
                        raise rerun.update from None
                    continue
                exc = rerun.conflict
                assert exc is not None
            finally:
                self._slots.release()
            self.conflicts += 1
            conflicts += 1
            await self._check_not_held(shops, exc)
            pause = random.uniform(
                0, min(BACKOFF_FIRST_SECONDS * 2**conflicts, BACKOFF_MAX_SECONDS)
            )
            left = remaining()
            if left is not None and left <= pause:
                raise expired("the shop stayed busy", RETRY_AFTER_BUSY) from exc
            await asyncio.sleep(pause)

    async def _attempt(
        self, work: Callable[[Session], Awaitable[T]], shops: list[Hashable], left: float | None
    ) -> T:
        """One attempt: its result, or _Rerun (a ConcurrentUpdate, or a conflict to back off)."""
        limits = [x for x in (left, attempt_limit() or self.attempt_timeout) if x is not None]
        bound = min(limits) if limits else None
        async with self.client.start_session() as session:
            self._gathered[id(session)] = {}
            try:
                with pymongo.timeout(bound):
                    await session.start_transaction(
                        read_concern=ReadConcern("snapshot"),
                        write_concern=WriteConcern("majority"),
                    )
                    result = await work(session)
                    for gathered in self._gathered[id(session)].values():
                        await gathered.flush(self, session)
                    await self._commit(session)
                for shop in shops:
                    self._stalled.pop(shop, None)
                return result
            except ConcurrentUpdate as exc:
                await _abort(session)
                raise _Rerun(exc) from exc
            except PyMongoError as exc:
                await _abort(session)
                left = remaining()
                if exc.timeout and left is not None and left < 0.1:
                    # The operation's deadline, not a silent database: most likely a long queue.
                    raise expired("the write did not finish", RETRY_AFTER_BUSY) from exc
                if not exc.has_error_label("TransientTransactionError") or exc.timeout:
                    unavailable = as_unavailable(exc)
                    if unavailable is None:
                        raise
                    raise unavailable from exc
                raise _Rerun(exc) from exc
            except BaseException:
                await _abort(session)
                raise
            finally:
                del self._gathered[id(session)]

    async def _check_not_held(self, shops: list[Hashable], exc: PyMongoError) -> None:
        """After a conflict: have this process's writes of one of these shops kept conflicting,
        while its event sequence stood still, for longer than a live attempt may hold anything
        (`attempt_timeout` and a margin)? Then raise DatabaseUnavailable, and at once for every
        later caller of the process that meets the same conflict. A sequence that moved means
        the shop is only busy; no conflict for an attempt's time starts the count again."""
        if not shops:
            return
        now = time.monotonic()
        if len(self._stalled) > 10_000:  # shops that conflicted once and were never written again
            self._stalled.clear()
        longest = self.attempt_timeout or ATTEMPT_TIMEOUT_SECONDS
        with pymongo.timeout(longest):
            docs = await find_in(self.event_sequences, "_id", shops)  # type: ignore[arg-type]
        seqs = {d["_id"]: int(d.get("seq", 0)) for d in docs}
        for shop in shops:
            seq = seqs.get(shop, 0)
            stalled = self._stalled.get(shop)
            if stalled is None or stalled[0] != seq or now - stalled[2] > longest:
                self._stalled[shop] = (seq, now, now)
                continue
            self._stalled[shop] = (seq, stalled[1], now)
            if now - stalled[1] > longest + HELD_MARGIN_SECONDS:
                raise DatabaseUnavailable(
                    "the shop is held by another process's unfinished write; retry later",
                    RETRY_AFTER_DOWN,
                ) from exc

    @staticmethod
    async def _commit(session: Session) -> None:
        while True:
            try:
                await session.commit_transaction()
                return
            except PyMongoError as exc:
                # The commit may have landed: asking again is safe (commits are idempotent).
                if exc.has_error_label("UnknownTransactionCommitResult") and not exc.timeout:
                    continue
                raise

    async def close(self) -> None:
        if self._keyed_client is not None:
            await self._keyed_client.close()
        await self.client.close()


class _Rerun(Exception):
    """An attempt to run again: after a ConcurrentUpdate (at once), or a write conflict (after a
    backoff; `conflict`)."""

    def __init__(self, cause: ConcurrentUpdate | PyMongoError) -> None:
        super().__init__(str(cause))
        self.update = cause if isinstance(cause, ConcurrentUpdate) else None
        self.conflict = cause if isinstance(cause, PyMongoError) else None


async def _abort(session: Session) -> None:
    if session.in_transaction:
        with contextlib.suppress(PyMongoError):
            await session.abort_transaction()


def connect(
    uri: str,
    name: str,
    *,
    timeout_ms: int = 5000,
    call_timeout_ms: int | None = None,
    event_listeners: Sequence[monitoring._EventListener] = (),
) -> Database:
    """`timeout_ms`: how long to look for a server. `call_timeout_ms`: the driver's client-side
    operation timeout (`timeoutMS`) for every call outside a transaction, so a database that
    stops answering (a stopped process, a lost network) fails a call within it instead of
    hanging; a transaction's attempt has its own (`Database.attempt_timeout`). `event_listeners`:
    driver monitoring, such as the database latency metric."""
    options: dict[str, Any] = {}
    if call_timeout_ms is not None:
        options["timeoutMS"] = call_timeout_ms

    def client(**more: Any) -> AsyncMongoClient:
        return AsyncMongoClient(
            uri,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            appname="aftersales-graphql",
            event_listeners=list(event_listeners),
            **options,
            **more,
        )

    return Database(client(), name, keyed_client=client(retryWrites=False))


# Where one document an earlier version kept apart goes now: its collection, filter and update.
Fold = Callable[[dict[str, Any]], tuple[AsyncCollection, dict[str, Any], dict[str, Any]]]


async def fold_collection(db: Database, old_name: str, into: Fold) -> int:
    """Move each document of a collection an earlier version kept into the document that holds
    it now (`into`; one that holds it already keeps its own: the filter says so), then drop
    that collection; returns how many moved. Safe to run again after a stop half-way."""
    if old_name not in await db.db.list_collection_names():
        return 0
    old = db.db[old_name]
    moved = 0
    try:
        async for d in old.find({}):
            collection, query, update = into(d)
            moved += (await collection.update_one(query, update)).modified_count
    except OperationFailure:
        # Another process starting at the same time moved them all and dropped the collection.
        return moved
    await old.drop()
    return moved

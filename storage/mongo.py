"""The MongoDB connection and the one way this service writes several documents together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

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
) -> list[dict[str, Any]]:
    """The documents whose `field` is one of `values`, read `IN_CHUNK` values at a time."""
    docs: list[dict[str, Any]] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = list(values[start : start + IN_CHUNK])
        docs += await collection.find({field: {"$in": chunk}}, session=session).to_list(None)
    return docs


async def find_by_ids(
    collection: AsyncCollection, ids: Sequence[str], session: Session | None = None
) -> list[dict[str, Any]]:
    """The documents with these `_id`s (those that exist), read `IN_CHUNK` ids at a time."""
    return await find_in(collection, "_id", ids, session)


class ConcurrentUpdate(Exception):
    """A conditional write found the document changed since it was read: decide again."""


class SerialLocks:
    """One asyncio lock per key, held while a transaction on that key runs in this process.

    Every write of a shop moves that shop's tab counter and event sequence in its transaction,
    so two transactions of one shop conflict; MongoDB aborts the later one and the driver
    retries it at once, and N concurrent decisions then cost O(N^2) attempts (120 decisions on
    one shop: 78 s against 1.1 s spread over shops, benchmarks/hot_shop.py). Queueing them here
    first leaves one attempt each; transactions of other processes can still conflict, and
    are retried as before. A key's lock is dropped when nobody holds or waits for it.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Database:
    def __init__(self, client: AsyncMongoClient, name: str) -> None:
        self.client = client
        self.serial = SerialLocks()
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
        self.refund_ledgers: AsyncCollection = self.db["refund_ledgers"]
        self.events: AsyncCollection = self.db["events"]
        self.event_sequences: AsyncCollection = self.db["event_sequences"]

    async def ping(self) -> None:
        await self.db.command("ping")

    async def transaction(
        self,
        work: Callable[[Session], Awaitable[T]],
        attempts: int = 20,
        *,
        serial: Hashable | None = None,
    ) -> T:
        """Run `work` in one multi-document transaction: everything it writes lands, or nothing.

        The driver retries transient conflicts (two transactions touching one document); a
        ConcurrentUpdate raised by `work` is retried here, so `work` re-reads and decides again
        on the state that won. `serial` (a shop id): transactions of this process with the same
        key run one at a time (SerialLocks).
        """
        if serial is None:
            return await self._transaction(work, attempts)
        async with self.serial.hold(serial):
            return await self._transaction(work, attempts)

    async def _transaction(self, work: Callable[[Session], Awaitable[T]], attempts: int) -> T:
        for attempt in range(attempts):
            async with self.client.start_session() as session:
                try:
                    return await session.with_transaction(
                        work,
                        read_concern=ReadConcern("snapshot"),
                        write_concern=WriteConcern("majority"),
                    )
                except ConcurrentUpdate:
                    if attempt == attempts - 1:
                        raise
        raise AssertionError("unreachable")

    def close(self) -> Awaitable[None]:
        return self.client.close()


def connect(
    uri: str,
    name: str,
    *,
    timeout_ms: int = 5000,
    event_listeners: Sequence[monitoring._EventListener] = (),
) -> Database:
    """`event_listeners`: driver monitoring, such as the database latency metric."""
    client: AsyncMongoClient = AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        appname="aftersales-graphql",
        event_listeners=list(event_listeners),
    )
    return Database(client, name)

"""The floor of the TikTok ingest on this database: the documents the webhooks' half of
benchmarks/ingest.py wrote, written again by a bare loop at the same rate, with the same indexes
and statements, and nothing else: no HTTP, no TikTok reads, no domain, no reads of the database.

Each change's inbox document is inserted on its own as it arrives (as a webhook must be, before
its 200); a loop takes what waits, up to 50, and writes what a batch writes, in one transaction:
the new orders (their record, the order, its event), the cancellations (the request, its ticket,
its idempotency key, its event, the shop's counters; the update of its order when that was
placed by an earlier batch); then the mirrors, then the inbox's delete and the handled keys.
The time from a change's arrival to the commit that makes it visible is what a subscriber could
see at best. No implementation on this database, with these documents and indexes, does
better; benchmarks/ingest.py prints the service's figures beside these.

`by_collection` writes each collection's documents alone, inserted then updated, and prints the
database's CPU a document with the collection's indexes: what each document of a batch costs.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo import UpdateOne

from benchmarks.stage_times import cpu_seconds
from storage import tiktok_inbox, tiktok_requests
from storage.indexes import ensure_indexes
from storage.mongo import Database, connect

# The collections a batch writes, a template of each taken from the webhooks' half.
TEMPLATES = (
    "order_records",
    "orders",
    "events",
    "cancellations",
    "tickets",
    "idempotency_keys",
    "tiktok_requests",
    "tiktok_inbox",
)


@dataclass
class Floor:
    """What the floor's loop measured."""

    arrivals: dict[int, float] = field(default_factory=dict)
    visible: dict[int, float] = field(default_factory=dict)
    batches: int = 0
    db_cpu: float = 0.0


async def paced(rate: float, count: int, make: Callable[[int], Awaitable[None]]) -> None:
    """Starts make(i) every 1/rate seconds without waiting for the previous one."""
    begin = time.perf_counter()
    tasks = []
    for i in range(count):
        if (wait := begin + i / rate - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(make(i)))
    await asyncio.gather(*tasks)


async def templates(source: Database, shop_id: str) -> dict[str, list[dict[str, Any]]]:
    """Documents of each collection the webhooks' half wrote, to copy: one of each, two events
    (an order placed and a cancellation opened write one each)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name in TEMPLATES:
        query = {} if name in ("idempotency_keys", "tiktok_inbox") else {"shop_id": shop_id}
        limit = 2 if name == "events" else 1
        found[name] = await source.db[name].find(query).limit(limit).to_list(limit)
    if not found["tiktok_inbox"]:  # handled and deleted: the shape the receiver stores
        found["tiktok_inbox"] = [{"state": "NEW", "lease_owner": "floor", "data": {"n": 0}}]
    if missing := [k for k, v in found.items() if not v]:
        raise SystemExit(f"the floor has no template for {missing}")
    return found


async def _fresh(uri: str, name: str) -> Database:
    """A database with every index the service makes: ensure_indexes', the inbox's and the
    mirrors' (made by the TikTok connection at its start)."""
    db = connect(uri, name)
    await ensure_indexes(db)
    await tiktok_inbox.prepare(db)
    await tiktok_requests.prepare(db)
    return db


class _Copies:
    """Fresh copies of the templates: new ids, and new values where an index is unique."""

    def __init__(self, found: dict[str, list[dict[str, Any]]]) -> None:
        self.found = found
        self.ids = itertools.count()

    def one(self, name: str, index: int = 0) -> dict[str, Any]:
        doc = copy.deepcopy(self.found[name][index % len(self.found[name])])
        n = next(self.ids)
        doc["_id"] = f"floor-{n}"
        if name == "tickets":
            doc["request_id"] = f"floor-request-{n}"
        if name == "events":
            doc["seq"] = n
        if name == "order_records":
            doc["external_id"] = f"floor-external-{n}"
        return doc


async def by_collection(
    uri: str, name: str, source: Database, shop_id: str, db_pid: int, count: int = 500
) -> list[tuple[str, int, float, float]]:
    """Each collection's documents written alone into a fresh database `name`: `count` copies
    inserted, then updated by id (one field set), 25 a transaction. (collection, its indexes,
    the database's CPU ms a document inserted, a document updated)."""
    copies = _Copies(await templates(source, shop_id))
    db = await _fresh(uri, name)
    rows = []
    try:
        for collection in TEMPLATES:
            target = db.db[collection]
            batches = [[copies.one(collection) for _ in range(25)] for _ in range(count // 25)]
            before = cpu_seconds(db_pid)
            for docs in batches:
                await db.transaction(lambda s, t=target, docs=docs: t.insert_many(docs, session=s))
            inserted = cpu_seconds(db_pid) - before
            before = cpu_seconds(db_pid)
            for docs in batches:
                updates = [UpdateOne({"_id": d["_id"]}, {"$set": {"floor_n": 1}}) for d in docs]
                await db.transaction(lambda s, t=target, u=updates: t.bulk_write(u, session=s))
            updated = cpu_seconds(db_pid) - before
            indexes = len(await target.index_information())
            rows.append((collection, indexes, inserted / count * 1000, updated / count * 1000))
    finally:
        await db.client.drop_database(name)
        await db.close()
    return rows


async def run(
    uri: str, name: str, source: Database, shop_id: str, rate: float, count: int, db_pid: int
) -> Floor:
    """Writes `count` changes' documents at `rate` a second into a fresh database `name`."""
    copies = _Copies(await templates(source, shop_id))
    db = await _fresh(uri, name)
    floor = Floor()
    waiting: list[int] = []
    order_of: dict[int, str] = {}  # a new order's change -> its order's id
    wake = asyncio.Event()
    inbox = db.keyed["tiktok_inbox"]

    async def arrive(i: int) -> None:
        await inbox.insert_one({**copies.one("tiktok_inbox"), "_id": f"floor-inbox-{i}"})
        floor.arrivals[i] = time.time()
        waiting.append(i)
        wake.set()

    async def batch(items: list[int]) -> None:
        orders = [i for i in items if i % 2 == 0]
        cancels = [i for i in items if i % 2 == 1]
        placed = [copies.one("orders") for _ in orders]
        # The orders of earlier batches that this batch's cancellations claim: an order placed
        # in this batch is inserted as its opening left it.
        earlier = [order_of[i - 1] for i in cancels if i - 1 not in orders]
        order_of.update(zip(orders, (o["_id"] for o in placed), strict=True))

        async def write(session: Any) -> None:
            if orders:
                await db.db["order_records"].insert_many(
                    [copies.one("order_records") for _ in orders], session=session
                )
                await db.orders.insert_many(placed, session=session)
            if cancels:
                await db.cancellations.insert_many(
                    [copies.one("cancellations") for _ in cancels], session=session
                )
                await db.tickets.insert_many(
                    [copies.one("tickets") for _ in cancels], session=session
                )
                await db.db["idempotency_keys"].insert_many(
                    [copies.one("idempotency_keys") for _ in cancels], session=session
                )
            if earlier:  # each opening claims its order's ledger
                await db.orders.bulk_write(
                    [UpdateOne({"_id": o}, {"$set": {"floor_claimed": True}}) for o in earlier],
                    session=session,
                )
            await db.events.insert_many(
                [copies.one("events", i % 2) for i in items], session=session
            )
            if cancels:
                await db.tab_counts.update_one(
                    {"_id": shop_id},
                    {"$inc": {"TO_RESPOND": len(cancels)}},
                    upsert=True,
                    session=session,
                )
            await db.event_sequences.update_one(
                {"_id": shop_id}, {"$inc": {"seq": len(items)}}, upsert=True, session=session
            )

        await db.transaction(write)
        floor.visible.update(dict.fromkeys(items, time.time()))
        if cancels:
            await db.keyed["tiktok_requests"].insert_many(
                [copies.one("tiktok_requests") for _ in cancels]
            )
        await inbox.delete_many({"_id": {"$in": [f"floor-inbox-{i}" for i in items]}})
        await db.keyed["tiktok_seen"].insert_many(
            [{"_id": f"floor-seen-{i}", "at": time.time()} for i in items]
        )

    async def worker() -> None:
        while len(floor.visible) < count:
            if not waiting:
                wake.clear()
                await wake.wait()
                continue
            # A cancellation whose order is not placed yet (its arrival's insert answered
            # first) waits for the next batch, as the service places the order first.
            taken = sorted(waiting[:50])
            items = [i for i in taken if i % 2 == 0 or i - 1 in order_of or i - 1 in taken]
            chosen = set(items)
            waiting[:] = [i for i in waiting if i not in chosen]
            if not items:
                await asyncio.sleep(0.001)
                continue
            await batch(items)
            floor.batches += 1

    before = cpu_seconds(db_pid)
    try:
        await asyncio.gather(paced(rate, count, arrive), worker())
        floor.db_cpu = cpu_seconds(db_pid) - before
    finally:
        await db.client.drop_database(name)
        await db.close()
    return floor

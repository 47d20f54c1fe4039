"""How fast the deadline worker clears a backlog, against a bare update_many in the same run.

    ./dev run benchmarks.expiry              # 100,000 overdue requests
    ./dev run benchmarks.expiry --n 10000    # smaller

Seeds N overdue cancellation requests (each with its order) for the worker, and N more of the
same kind for the baseline; then times the worker's pass until none is left, and a bare
`update_many` that makes the same change to the request documents (status, tab, deadline key,
timeline record) with nothing else. The worker also cancels each order, moves the tab counters,
writes the buyer's and the shop's notifications and moves each request's helpdesk ticket, in
transactions of --batch requests.
The bar (issue 4): worker time / baseline time <= 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from api.embedded_db import EmbeddedDatabase
from models import cancellations as domain
from models.actors import Actor, ActorKind
from models.clock import SettableClock
from models.policy import DEFAULT_POLICY
from models.ticket_facts import facts_of_cancellation
from models.tickets import open_ticket
from services.bootstrap import build_services
from services.cancellations import new_cancellation_id
from services.deadline_worker import DeadlineWorker
from services.ticket_sync import new_ticket_id
from storage.documents import cancellation_doc, order_doc, record_doc
from storage.keys import ALL, sort_key
from storage.mongo import Database, connect
from storage.tickets import ticket_doc
from tests.factories import build_order

SEED_BATCH = 5_000


async def seed(
    db: Database, shop_id: str, n: int, requested_at: datetime, *, tickets: bool = True
) -> None:
    for start in range(0, n, SEED_BATCH):
        orders, requests, ticket_docs = [], [], []
        for i in range(start, min(n, start + SEED_BATCH)):
            buyer = f"bench-buyer-{i % 5000}"
            order = build_order(shop_id, buyer, requested_at - timedelta(hours=2))
            outcome = domain.request_by_buyer(
                order,
                Actor(ActorKind.BUYER, buyer),
                "CHANGED_MIND",
                None,
                DEFAULT_POLICY,
                requested_at,
                new_cancellation_id(),
            )
            orders.append(order_doc(outcome.order))
            requests.append(cancellation_doc(outcome.cancellation))
            # Its helpdesk ticket (H1), rules already run, as the API leaves it: the worker's
            # move updates it in the same transaction.
            facts = facts_of_cancellation(outcome.cancellation)
            ticket = open_ticket(
                facts, Actor(ActorKind.BUYER, buyer), new_ticket_id(), requested_at
            )
            assert ticket is not None
            ticket_docs.append(ticket_doc(replace(ticket, rules_due=False)))
        await db.orders.insert_many(orders, ordered=False)
        await db.cancellations.insert_many(requests, ordered=False)
        if tickets:
            await db.tickets.insert_many(ticket_docs, ordered=False)
    await db.tab_counts.insert_one(
        {"_id": f"{shop_id}:cancellations", "shop_id": shop_id, "tabs": {"TO_PROCEED": n}}
    )


async def baseline(db: Database, shop_id: str, now: datetime) -> int:
    """The same change to the request documents, as one bare update_many."""
    record = record_doc(
        domain.TimelineRecord(
            now,
            ActorKind.PLATFORM,
            "expiry-worker",
            domain.CancellationAction.AUTO_ACCEPT,
            domain.CancellationStatus.PENDING,
            domain.CancellationStatus.CANCELLED,
        )
    )
    result = await db.cancellations.update_many(
        {"shop_id": shop_id, "tabs": "TO_PROCEED"},
        {
            "$set": {
                "status": "CANCELLED",
                "tabs": [ALL, "COMPLETED"],
                "respond_by": None,
                "resolved_at": now,
                "k_deadline": sort_key(None, "x"),
            },
            "$push": {"timeline": record},
            "$inc": {"version": 1},
        },
    )
    return result.modified_count


async def run(args: argparse.Namespace) -> None:
    server = None
    uri = args.mongodb_uri or os.environ.get("MONGODB_URI")
    if not uri:
        server = EmbeddedDatabase(":memory:")
        uri = server.start()
    db = connect(uri, f"bench_expiry_{int(time.time())}")
    try:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = SettableClock(start)
        services = await build_services(db, clock)
        t0 = time.perf_counter()
        await seed(db, "bench-worker", args.n, start)
        await seed(db, "bench-baseline", args.n, start)
        print(f"seeded 2 x {args.n} overdue requests in {time.perf_counter() - t0:.1f}s")
        clock.set(start + timedelta(hours=49))
        now = clock.now()

        t0 = time.perf_counter()
        changed = await baseline(db, "bench-baseline", now)
        base_s = time.perf_counter() - t0
        assert changed == args.n, changed

        worker = DeadlineWorker(services, interval=1, batch_size=args.batch)
        t0 = time.perf_counter()
        moved = 0
        while moved < args.n:
            step = await worker.run_once()
            if step == 0:
                break
            moved += step
        worker_s = time.perf_counter() - t0
        left = await db.cancellations.count_documents(
            {"shop_id": "bench-worker", "tabs": "TO_PROCEED"}
        )
        assert moved == args.n and left == 0, (moved, left)
        records = await db.cancellations.count_documents(
            {"shop_id": "bench-worker", "tabs": "COMPLETED"}
        )
        assert records == args.n

        python = platform.python_version()
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {python}")
        print(f"requests: {args.n}, worker batch: {args.batch}")
        print(f"baseline update_many : {base_s:8.2f} s  ({args.n / base_s:8.0f} requests/s)")
        print(f"deadline worker      : {worker_s:8.2f} s  ({args.n / worker_s:8.0f} requests/s)")
        ratio = worker_s / base_s
        verdict = "PASS" if ratio <= 2 else "FAIL"
        print(f"ratio worker/baseline: {ratio:.2f}  (bar <= 2: {verdict})")
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()
        if server:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="overdue requests (default 100000)")
    parser.add_argument("--batch", type=int, default=500, help="requests per worker transaction")
    parser.add_argument("--mongodb-uri", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

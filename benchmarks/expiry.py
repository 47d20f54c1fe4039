"""How fast the deadline worker clears a backlog, against a bare update_many in the same run.

    ./dev run benchmarks.expiry                          # 100,000 overdue requests
    ./dev run benchmarks.expiry --n 2000,5000,10000      # one run per N, each on a fresh server
    ./dev run benchmarks.expiry --n 5000 --repeat 3      # the spread of three runs
    ./dev run benchmarks.expiry --n 5000 --repeat 2 --phases together  # both on one server
    ./dev run benchmarks.expiry --n 5000 --breakdown     # where the worker's time goes

Seeds N overdue cancellation requests (each with its order and its helpdesk ticket, as the API
leaves them) for the worker, and N more of the same kind for the baseline. The baseline is one
bare `update_many` over those N request documents that makes the same change the worker makes to
each request: the very update document the worker sends for one of them (status, tab, deadline
key, refund, the timeline record with its deadline), applied to all N, nothing else. The worker
also cancels each order, books its refund, moves the tab counters, writes the buyer's and the
shop's notifications, moves each request's ticket and appends both live-feed events, in
transactions of --batch requests.

By default each phase runs on its own fresh server (unless --mongodb-uri) seeded with both
backlogs, so both start from the same state and neither inherits the other's writes: on
SecantusDB the phase that runs second on a shared server runs on a fuller cache and pays for it
(--phases together shows it: one server, the order alternating from one repeat to the next).
Printed per run: wall time and rate of each phase, the CPU time the database server and this
process spent in it, and the ratios. The bar (issue 4): worker wall time / baseline wall time
<= 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from api.embedded_db import MEMORY, EmbeddedDatabase
from benchmarks.command_times import CommandTimes
from models import cancellations as domain
from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.cancellations import Cancellation
from models.clock import SettableClock
from models.orders import Order
from models.policy import DEFAULT_POLICY
from models.ticket_facts import facts_of_cancellation
from models.tickets import open_ticket
from services.bootstrap import Services, build_services
from services.cancellations import new_cancellation_id
from services.deadline_worker import DeadlineWorker
from services.ticket_sync import new_ticket_id
from storage.documents import cancellation_doc, changes_between, order_doc
from storage.mongo import Database, connect
from storage.tickets import ticket_doc
from tests.support.factories import build_order

SEED_BATCH = 5_000
WORKER_SHOP = "bench-worker"
BASELINE_SHOP = "bench-baseline"


async def seed(
    db: Database, shop_id: str, n: int, requested_at: datetime, *, tickets: bool = True
) -> tuple[Cancellation, Order]:
    """N overdue requests of one shop; returns the first request and its order (a sample)."""
    sample: tuple[Cancellation, Order] | None = None
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
            sample = sample or (outcome.cancellation, outcome.order)
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
    assert sample is not None
    return sample


def worker_change(sample: Cancellation, order: Order, now: datetime) -> dict[str, Any]:
    """The update document the worker sends for `sample` when it accepts it (C6)."""
    accepted = domain.auto_accept(sample, order, EXPIRY_WORKER, now).cancellation
    after = replace(accepted, version=sample.version + 1)
    return changes_between(cancellation_doc(sample), cancellation_doc(after))


async def baseline(db: Database, shop_id: str, change: dict[str, Any]) -> int:
    """The same change to the shop's N request documents, as one bare update_many."""
    result = await db.cancellations.update_many({"shop_id": shop_id, "tabs": "TO_PROCEED"}, change)
    return result.modified_count


@dataclass(frozen=True)
class Phase:
    wall: float
    server_cpu: float | None  # None: the server is not ours to watch
    client_cpu: float

    @property
    def cpu(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu + self.client_cpu


class Stopwatch:
    """Wall time, and the CPU time of this process and (when known) of the database server."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def _server_cpu(self) -> float | None:
        if self.server_pid is None:
            return None
        with open(f"/proc/{self.server_pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self) -> tuple[float, float | None, float]:
        return time.perf_counter(), self._server_cpu(), time.process_time()

    def stop(self, started: tuple[float, float | None, float]) -> Phase:
        wall, server, client = started
        now_server = self._server_cpu()
        return Phase(
            time.perf_counter() - wall,
            None if server is None or now_server is None else now_server - server,
            time.process_time() - client,
        )


@dataclass(frozen=True)
class Result:
    n: int
    first: str
    base: Phase
    worker: Phase

    @property
    def ratio(self) -> float:
        return self.worker.wall / self.base.wall

    @property
    def cpu_ratio(self) -> float | None:
        w, b = self.worker.cpu, self.base.cpu
        return None if w is None or b is None else w / b


@dataclass
class Bench:
    """A database holding both backlogs, the worker's services, and the stopwatches."""

    db: Database
    services: Services
    change: dict[str, Any]
    watch: Stopwatch
    times: CommandTimes


@contextlib.asynccontextmanager
async def bench(args: argparse.Namespace, n: int) -> AsyncIterator[Bench]:
    """A fresh server (unless --mongodb-uri) seeded with both backlogs of N requests."""
    server, data_dir = None, None
    uri = args.mongodb_uri or os.environ.get("MONGODB_URI")
    if not uri:
        storage: str = MEMORY
        if args.storage == "disk":
            data_dir = tempfile.mkdtemp(prefix="bench-expiry-")
            storage = data_dir
        server = EmbeddedDatabase(storage, cache_size=args.cache_size)
        uri = server.start()
    times = CommandTimes()
    db = connect(uri, f"bench_expiry_{time.time_ns()}", event_listeners=[times])
    try:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = SettableClock(start)
        services = await build_services(db, clock)
        t0 = time.perf_counter()
        await seed(db, WORKER_SHOP, n, start)
        # The baseline's requests are of the same kind but due later, so a worker that runs
        # first leaves them alone; the change is the worker's, made at their deadline.
        later = start + timedelta(hours=49)
        sample, sample_order = await seed(db, BASELINE_SHOP, n, later)
        print(f"  seeded 2 x {n} requests in {time.perf_counter() - t0:.1f} s")
        clock.set(later)
        assert sample.respond_by is not None
        change = worker_change(sample, sample_order, sample.respond_by)
        yield Bench(db, services, change, Stopwatch(server.pid if server else None), times)
    finally:
        if not server:  # a server of our own goes with its data; dropping a full one can fail
            await db.client.drop_database(db.db.name)
        await db.close()
        if server:
            server.stop()
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


async def run_baseline(b: Bench, n: int) -> Phase:
    started = b.watch.start()
    changed = await baseline(b.db, BASELINE_SHOP, b.change)
    phase = b.watch.stop(started)
    assert changed == n, changed
    print(f"  baseline update_many : {phase.wall:8.2f} s{_cpu(phase)}", flush=True)
    return phase


async def run_worker(b: Bench, n: int, args: argparse.Namespace) -> Phase:
    worker = DeadlineWorker(b.services, interval=1, batch_size=args.batch)
    b.times.enabled = args.breakdown
    started = b.watch.start()
    moved = 0
    while moved < n:
        step = await worker.run_once()
        if step == 0:
            break
        moved += step
    phase = b.watch.stop(started)
    b.times.enabled = False
    left = await b.db.cancellations.count_documents({"shop_id": WORKER_SHOP, "tabs": "TO_PROCEED"})
    assert moved == n and left == 0, (moved, left)
    done = await b.db.cancellations.count_documents({"shop_id": WORKER_SHOP, "tabs": "COMPLETED"})
    assert done == n, done
    print(f"  deadline worker      : {phase.wall:8.2f} s{_cpu(phase)}", flush=True)
    if args.breakdown:
        print("  where the worker's time went (driver round trips, by command and collection):")
        print("    " + b.times.report(phase.wall, n).replace("\n", "\n    "))
    return phase


async def one_run(args: argparse.Namespace, n: int, first: str) -> Result:
    """`first`: "apart" (each phase on its own fresh server holding both backlogs), or which
    phase goes first on one server ("baseline" or "worker")."""
    if first == "apart":
        async with bench(args, n) as b:
            base = await run_baseline(b, n)
        async with bench(args, n) as b:
            worker = await run_worker(b, n, args)
    else:
        async with bench(args, n) as b:
            if first == "baseline":
                base = await run_baseline(b, n)
                worker = await run_worker(b, n, args)
            else:
                worker = await run_worker(b, n, args)
                base = await run_baseline(b, n)
    result = Result(n, first, base, worker)
    print_run(result)
    return result


def _cpu(p: Phase) -> str:
    if p.server_cpu is None:
        return ""
    return f"  cpu: server {p.server_cpu:7.2f} s, client {p.client_cpu:6.2f} s"


def print_run(r: Result) -> None:
    print("  each phase on its own server" if r.first == "apart" else f"  {r.first} first")
    for name, p in (("baseline update_many", r.base), ("deadline worker", r.worker)):
        print(f"  {name:<21}: {p.wall:8.2f} s  ({r.n / p.wall:7.0f} requests/s){_cpu(p)}")
    cpu = f", cpu ratio {r.cpu_ratio:.2f}" if r.cpu_ratio is not None else ""
    verdict = "PASS" if r.ratio <= 2 else "FAIL"
    print(f"  ratio worker/baseline: {r.ratio:.2f} (bar <= 2: {verdict}){cpu}")


def summary(results: list[Result]) -> None:
    print("\nsummary (ratio = worker wall time / baseline wall time)")
    print(
        f"{'N':>8} {'runs':>4} {'baseline s':>18} {'worker s':>18} {'ratio':>16} {'cpu ratio':>16}"
    )
    for n in sorted({r.n for r in results}):
        runs = [r for r in results if r.n == n]

        def spread(values: list[float], fmt: str = ".2f") -> str:
            if len(values) == 1:
                return f"{values[0]:{fmt}}"
            return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"

        cpu = [r.cpu_ratio for r in runs if r.cpu_ratio is not None]
        print(
            f"{n:>8} {len(runs):>4} {spread([r.base.wall for r in runs], '.1f'):>18}"
            f" {spread([r.worker.wall for r in runs], '.1f'):>18}"
            f" {spread([r.ratio for r in runs]):>16} {spread(cpu) if cpu else '':>16}"
        )


async def run(args: argparse.Namespace) -> None:
    sizes = [int(x) for x in str(args.n).split(",")]
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {python}")
    storage = "embedded SecantusDB" if not args.mongodb_uri else args.mongodb_uri
    print(
        f"database: {storage}, storage {args.storage}, cache {args.cache_size or 'default (1G)'};"
        f" worker batch: {args.batch}"
    )
    results = []
    for n in sizes:
        for i in range(args.repeat):
            print(f"N = {n}, run {i + 1} of {args.repeat}")
            first = args.phases if args.phases == "apart" else ("baseline", "worker")[i % 2]
            results.append(await one_run(args, n, first))
    summary(results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--n", default="100000", help="overdue requests, or a comma-separated list of sizes"
    )
    parser.add_argument("--batch", type=int, default=500, help="requests per worker transaction")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size")
    parser.add_argument(
        "--storage",
        choices=["memory", "disk"],
        default="memory",
        help="the embedded server's storage: in memory (as the tests) or a temporary directory",
    )
    parser.add_argument("--cache-size", default=None, help="the embedded server's cache, e.g. 6G")
    parser.add_argument(
        "--phases",
        choices=["apart", "together"],
        default="apart",
        help="apart: each phase on its own fresh server seeded with both backlogs, so neither\n"
        "inherits the other's writes; together: both on one server, alternating which goes\n"
        "first from one repeat to the next",
    )
    parser.add_argument("--mongodb-uri", default=None)
    parser.add_argument(
        "--breakdown", action="store_true", help="time the worker's commands by collection"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""What the deadline worker costs beyond the documents it writes, and how many it writes a move.

    ./dev run benchmarks.expiry --n 2000                 # 2,000 overdue requests
    ./dev run benchmarks.expiry --n 2000,5000 --repeat 2 # one run per N, each on fresh servers
    ./dev run benchmarks.expiry --n 2000 --breakdown     # where the worker's time goes

Seeds N overdue cancellation requests (each with its order and its helpdesk ticket, as the API
leaves them) for the worker, and N more of the same kind for the baseline. Two figures, printed
per run:

- overhead: the worker's wall time over the baseline's. The baseline writes the very documents a
  move writes, in the same collections with the same indexes and in transactions of the same
  --batch: per request the update the worker sends to the request, to its order (the refund
  booked in the ledger the order's document holds) and to its ticket and its event document
  (the ticket's change and the notification carried in it), and once per batch the shop's tab
  counter and event sequence; built from one sample move (the domain's own outcome, turned into
  documents once), with no domain, services or reads in the timed part. The bar: at most 1.3.
- documents written per move: the statements of every insert and update the driver sends in the
  worker's phase (the shop's counters, once per batch, apart), over N; the baseline's, the same
  way, says the two write the same documents. The bar: at most 4.

By default each phase runs on its own fresh server (unless --mongodb-uri) seeded with both
backlogs, so both start from the same state and neither inherits the other's writes (on
SecantusDB a phase that runs second on a shared server runs on a fuller cache and pays for it;
--phases together shows it). Printed per run: wall time and rate of each phase, the CPU time the
database server and this process spent in it, and the ratios.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne

from api.embedded_db import MEMORY, EmbeddedDatabase
from benchmarks.command_times import CommandTimes
from models import cancellations as domain
from models import events
from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.cancellations import Cancellation, OnOrder
from models.clock import SettableClock
from models.commands import RequestCancellation
from models.orders import Order
from models.policy import DEFAULT_POLICY
from models.refund_ledger import RefundLedger
from models.requests import Opening
from models.ticket_facts import facts_of_cancellation
from models.tickets import Ticket, follow_request, open_ticket
from services.bootstrap import Services, build_services
from services.cancellations import new_cancellation_id
from services.deadline_worker import DeadlineWorker
from services.refunds import instruction
from services.ticket_sync import new_ticket_id
from storage.cancellations import REQUESTS as CANCELLATION_DOCUMENTS
from storage.documents import changes_between, order_doc
from storage.events import CARRIED, event_docs, last_seq, with_notices
from storage.keys import sort_key
from storage.mongo import Database, connect
from storage.notifications import notification_docs
from storage.orders import LEDGER, ledger_doc, ledger_of
from storage.refunds import fields_of as refund_fields
from storage.tickets import ticket_doc
from tests.support.factories import build_order

SEED_BATCH = 5_000
WORKER_SHOP = "bench-worker"
BASELINE_SHOP = "bench-baseline"


BAR_OVERHEAD = 1.3
BAR_DOCUMENTS = 4
# Written once per shop per batch, not per move (storage/tab_counts.py, storage/events.py).
SHOP_COUNTERS = {"tab_counts", "event_sequences"}


@dataclass
class Backlog:
    """One shop's overdue requests: a sample (the first request, its order and ticket) and the
    ids of every request, order and ticket."""

    sample: tuple[Cancellation, Order, Ticket] | None = None
    ids: list[tuple[str, str, str]] = field(default_factory=list)


async def seed(
    db: Database, shop_id: str, n: int, requested_at: datetime, tickets: bool = True
) -> Backlog:
    """N overdue requests of one shop, each with its order and (unless not `tickets`, for
    benchmarks/ticket_overhead.py's side without them) its ticket."""
    backlog = Backlog()
    for start in range(0, n, SEED_BATCH):
        orders, requests, ticket_docs = [], [], []
        for i in range(start, min(n, start + SEED_BATCH)):
            buyer = f"bench-buyer-{i % 5000}"
            order = build_order(shop_id, buyer, requested_at - timedelta(hours=2))
            outcome = domain.request_by_buyer(
                Opening(DEFAULT_POLICY, requested_at, new_cancellation_id()),
                OnOrder(
                    order,
                    RefundLedger.for_order(order),
                    Actor(ActorKind.BUYER, buyer),
                    requested_at,
                ),
                RequestCancellation(order.id, "CHANGED_MIND"),
            )
            # Its helpdesk ticket (H1), rules already run, as the API leaves it: the worker's
            # move updates it in the same transaction.
            facts = facts_of_cancellation(outcome.request)
            ticket = open_ticket(
                facts, Actor(ActorKind.BUYER, buyer), new_ticket_id(), requested_at
            )
            assert ticket is not None
            ticket = replace(ticket, rules_due=False)
            backlog.sample = backlog.sample or (outcome.request, outcome.order, ticket)
            backlog.ids.append((outcome.request.id, outcome.order.id, ticket.id))
            orders.append(order_doc(outcome.order))
            requests.append(CANCELLATION_DOCUMENTS.to_doc(outcome.request))
            ticket_docs.append(ticket_doc(ticket))
        await db.orders.insert_many(orders, ordered=False)
        await db.cancellations.insert_many(requests, ordered=False)
        if tickets:
            await db.tickets.insert_many(ticket_docs, ordered=False)
    await db.tab_counts.insert_one(
        {"_id": f"{shop_id}:cancellations", "shop_id": shop_id, "tabs": {"TO_PROCEED": n}}
    )
    return backlog


@dataclass(frozen=True)
class MoveDocuments:
    """What one C6 move writes, as the worker's own code makes it for the sample: the updates
    of the request, its order (with its refund ledger) and its ticket, its event document (with
    its notice) and any notification document no event carries."""

    request: dict[str, Any]
    order: dict[str, Any]
    ticket: dict[str, Any]
    events: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    tabs: dict[str, Any]


def move_documents(sample: tuple[Cancellation, Order, Ticket], now: datetime) -> MoveDocuments:
    request, order, ticket = sample
    outcome = domain.auto_accept(
        request, OnOrder(order, ledger_of(order, None), EXPIRY_WORKER, now)
    )
    accepted = replace(outcome.request, version=request.version + 1)
    # The order's update books the refund in the ledger its document holds (storage/orders.py).
    ledger = outcome.ledger
    followed = follow_request(ticket, facts_of_cancellation(outcome.request), EXPIRY_WORKER, now)
    stored_at = datetime.now(UTC)
    docs = event_docs(
        [*events.of_outcome(outcome), *events.of_ticket(ticket, followed)], 1, stored_at
    )
    alone = with_notices(docs, outcome.notifications)  # what no event document carries
    # The refund the move decides is stored in the request's own update (storage/refunds.py);
    # the baseline sends the sample's to every request (same fields, same index entries).
    refund = instruction(
        facts_of_cancellation(outcome.request), outcome.request, now, integrated=False
    )
    update = changes_between(
        CANCELLATION_DOCUMENTS.to_doc(request),
        CANCELLATION_DOCUMENTS.to_doc(accepted),
        refund_fields([refund])[request.id],
    )
    return MoveDocuments(
        request=update,
        order=changes_between(
            order_doc(order),
            order_doc(replace(outcome.order, version=order.version + 1)),
            {LEDGER: ledger_doc(ledger)},
        ),
        ticket=changes_between(
            ticket_doc(ticket), ticket_doc(replace(followed, version=ticket.version + 1))
        ),
        events=docs,
        notifications=notification_docs(alone),
        tabs={f"tabs.{request.tab.value}": -1, f"tabs.{accepted.tab.value}": 1},
    )


def _fresh(doc: dict[str, Any], prefix: str) -> dict[str, Any]:
    new_id = f"{prefix}_{ObjectId()}"
    return {
        **doc,
        "_id": new_id,
        **({"k_at": sort_key(doc["at"], new_id)} if "k_at" in doc else {}),
    }


async def baseline(
    db: Database, shop_id: str, backlog: Backlog, move: MoveDocuments, batch: int
) -> int:
    """The documents the worker's moves write, written bare: per batch one transaction with one
    bulk write per collection, in the worker's order (orders, requests, tickets, then the shop's
    tab counter, event sequence and events with their notices, as storage writes them last, and
    the notifications no event carries, none for C6)."""
    moved = 0
    for start in range(0, len(backlog.ids), batch):
        ids = backlog.ids[start : start + batch]
        n = len(ids)
        async with db.client.start_session() as s:
            await s.start_transaction()
            await db.orders.bulk_write(
                [UpdateOne({"_id": o}, move.order) for _, o, _ in ids], ordered=False, session=s
            )
            result = await db.cancellations.bulk_write(
                [UpdateOne({"_id": r}, move.request) for r, _, _ in ids], ordered=False, session=s
            )
            await db.tickets.bulk_write(
                [UpdateOne({"_id": t}, move.ticket) for _, _, t in ids], ordered=False, session=s
            )
            await db.tab_counts.update_one(
                {"_id": f"{shop_id}:cancellations"},
                {"$inc": {k: v * n for k, v in move.tabs.items()}},
                session=s,
            )
            docs = [_fresh(d, "evt") | {"shop_id": shop_id} for _ in ids for d in move.events]
            numbers = sum(last_seq(d) - d["seq"] + 1 for d in docs)
            counter = await db.event_sequences.find_one_and_update(
                {"_id": shop_id},
                {"$inc": {"seq": numbers}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=s,
            )
            seq = int(counter["seq"]) - numbers
            for d in docs:
                span = last_seq(d) - d["seq"]
                d["seq"] = seq + 1
                if CARRIED in d:
                    d[CARRIED] = {**d[CARRIED], "seq": seq + 1 + span}
                seq += 1 + span
            await db.events.insert_many(docs, ordered=True, session=s)
            notes = [_fresh(d, "ntf") for _ in ids for d in move.notifications]
            if notes:
                await db.notifications.insert_many(notes, session=s)
            await s.commit_transaction()
        moved += result.modified_count
    return moved


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
    base_documents: float  # written per move
    worker_documents: float

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
    baseline: Backlog
    move: MoveDocuments
    watch: Stopwatch
    times: CommandTimes


def documents_per_move(times: CommandTimes, n: int) -> float:
    """The documents inserted or updated, the shop's counters apart, over the moves."""
    written = sum(
        t.docs
        for (name, coll), t in times.tallies.items()
        if name in ("insert", "update") and coll not in SHOP_COUNTERS
    )
    return written / n


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
        # first leaves them alone; its documents are the worker's, made at their deadline.
        later = start + timedelta(hours=49)
        backlog = await seed(db, BASELINE_SHOP, n, later)
        print(f"  seeded 2 x {n} requests in {time.perf_counter() - t0:.1f} s")
        clock.set(later)
        assert backlog.sample is not None and backlog.sample[0].respond_by is not None
        move = move_documents(backlog.sample, backlog.sample[0].respond_by)
        watch = Stopwatch(server.pid if server else None)
        yield Bench(db, services, backlog, move, watch, times)
    finally:
        if not server:  # a server of our own goes with its data; dropping a full one can fail
            await db.client.drop_database(db.db.name)
        await db.close()
        if server:
            server.stop()
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


async def run_baseline(b: Bench, n: int, args: argparse.Namespace) -> tuple[Phase, float]:
    b.times.reset()
    b.times.enabled = True
    started = b.watch.start()
    changed = await baseline(b.db, BASELINE_SHOP, b.baseline, b.move, args.batch)
    phase = b.watch.stop(started)
    b.times.enabled = False
    assert changed == n, changed
    print(f"  baseline (same documents): {phase.wall:8.2f} s{_cpu(phase)}", flush=True)
    return phase, documents_per_move(b.times, n)


async def run_worker(b: Bench, n: int, args: argparse.Namespace) -> tuple[Phase, float]:
    worker = DeadlineWorker(b.services, interval=1, batch_size=args.batch)
    b.times.reset()
    b.times.enabled = True
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
    print(f"  deadline worker          : {phase.wall:8.2f} s{_cpu(phase)}", flush=True)
    if args.breakdown:
        print("  where the worker's time went (driver round trips, by command and collection):")
        print("    " + b.times.report(phase.wall, n).replace("\n", "\n    "))
    return phase, documents_per_move(b.times, n)


async def one_run(args: argparse.Namespace, n: int, first: str) -> Result:
    """`first`: "apart" (each phase on its own fresh server holding both backlogs), or which
    phase goes first on one server ("baseline" or "worker")."""
    if first == "apart":
        async with bench(args, n) as b:
            base, base_docs = await run_baseline(b, n, args)
        async with bench(args, n) as b:
            worker, worker_docs = await run_worker(b, n, args)
    else:
        async with bench(args, n) as b:
            if first == "baseline":
                base, base_docs = await run_baseline(b, n, args)
                worker, worker_docs = await run_worker(b, n, args)
            else:
                worker, worker_docs = await run_worker(b, n, args)
                base, base_docs = await run_baseline(b, n, args)
    result = Result(n, first, base, worker, base_docs, worker_docs)
    print_run(result)
    return result


def _cpu(p: Phase) -> str:
    if p.server_cpu is None:
        return ""
    return f"  cpu: server {p.server_cpu:7.2f} s, client {p.client_cpu:6.2f} s"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_run(r: Result) -> None:
    print("  each phase on its own server" if r.first == "apart" else f"  {r.first} first")
    for name, p in (("baseline (same documents)", r.base), ("deadline worker", r.worker)):
        print(f"  {name:<25}: {p.wall:8.2f} s  ({r.n / p.wall:7.0f} requests/s){_cpu(p)}")
    cpu = f", cpu ratio {r.cpu_ratio:.2f}" if r.cpu_ratio is not None else ""
    print(
        f"  overhead worker/baseline: {r.ratio:.2f}"
        f" (bar <= {BAR_OVERHEAD}: {_verdict(r.ratio <= BAR_OVERHEAD)}){cpu}"
    )
    print(
        f"  documents written per move: {r.worker_documents:g}"
        f" (bar <= {BAR_DOCUMENTS}: {_verdict(r.worker_documents <= BAR_DOCUMENTS)});"
        f" the baseline's: {r.base_documents:g}"
    )


def summary(results: list[Result]) -> None:
    print("\nsummary (overhead = worker wall time / baseline wall time)")
    print(
        f"{'N':>8} {'runs':>4} {'baseline s':>18} {'worker s':>18} {'overhead':>16}"
        f" {'cpu ratio':>16} {'docs/move':>9}"
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
            f" {max(r.worker_documents for r in runs):>9g}"
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
        "--n", default="2000", help="overdue requests, or a comma-separated list of sizes"
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

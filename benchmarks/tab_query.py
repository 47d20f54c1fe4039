"""The To Proceed tab (first 50) and the tab counts: GraphQL over HTTP beside a plain-JSON baseline.

    python -m benchmarks.tab_query --sizes 1000,10000,100000 --requests 200
    python -m benchmarks.tab_query --quick

The service's own app (`create_app`, its middleware included: request id, WebSocket count, body
size limit) under a real uvicorn, on uvloop, with the service's logging (JSON lines at INFO, to a
sink), its database latency metric and its garbage collector settings (process/gc_tuning.py), as
`python -m api` runs it; the baseline endpoints are added to that same app, so they pass through
the same middleware. They run the same database queries with the driver and return plain JSON.
One keep-alive httpx client in the same process sends the requests one at a time, GraphQL and
baseline interleaved (the order alternates each round), so the difference is the service's own
cost: GraphQL over HTTP, the caller's identity, the operation's extensions and log line, domain
objects, execution and serialisation.
SecantusDB's query time grows with the tab (it fetches every match and sorts in memory before the
limit); the baseline carries it too. (The app's lifespan stays off: it would start the live
feed's change stream, whose background reads the database-time listener would count.)

The bar (binding): at every size, GraphQL's p50 overhead over the baseline is at most 3 ms for the
page query. Both overheads are printed: of the whole requests' p50s, and of their p50s net of the
database time the driver reports within each request. The verdict uses the net one: at 100,000 the
database's own jitter (seconds) swamps a difference of milliseconds between two whole medians.
The exit status is 1 when the bar is missed. Data goes to the database `aftersales_bench`
(dropped first; with --mongodb-uri, dropped again at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata
from typing import Any

import httpx
import uvicorn
from pymongo import monitoring
from pymongo.errors import PyMongoError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.app import create_app
from api.embedded_db import MEMORY, EmbeddedDatabase
from api.identity import mint_token
from api.logs import configure_logging
from api.metrics import DatabaseLatency
from api.settings import default_settings
from models.access import Scope
from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.cancellations import (
    Cancellation,
    CancellationAction,
    CancellationStatus,
    CancellationTab,
    Initiator,
    TimelineRecord,
)
from models.clock import SystemClock
from models.money import Money
from models.orders import LineItem
from models.policy import DEFAULT_POLICY
from process.gc_tuning import tune_for_serving
from services.bootstrap import Services, build_services
from storage import cancellations as cancellation_store
from storage.cancellations import REQUESTS as CANCELLATION_DOCUMENTS
from storage.cancellations import CancellationFilter
from storage.mongo import Database, connect
from storage.request_store import SORTS

DATABASE = "aftersales_bench"
SECTION = "cancellations"
PAGE = 50
BAR_MS = 3.0
BATCH = 5_000

PAGE_QUERY = """
query ToProceed {
  cancellations(tab: TO_PROCEED, sort: DEADLINE_SOONEST, first: 50) {
    edges {
      cursor
      node {
        id status tab respondBy requestedAt
        reason { code displayText }
        lines { sku title quantity unitPrice { amount currency } }
        timeline { at actorKind actorId action fromStatus toStatus reason { code } }
        nextAction { actorKind dueAt }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
COUNTS_QUERY = "query TabCounts { cancellationTabCounts { tab count } }"

Call = Callable[[], Awaitable[httpx.Response]]


class DatabaseTime(monitoring.CommandListener):
    """Sums the driver's command durations. Requests go one at a time, so the time spent in
    the database during a request is the sum's growth across it: the service's own time is the
    rest, whatever SecantusDB's jitter (seconds at 100,000 documents)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.seconds += event.duration_micros / 1e6

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.seconds += event.duration_micros / 1e6


DB_TIME = DatabaseTime()


def shop_of(size: int) -> str:
    return f"bench-shop-{size}"


# ---- seed ---------------------------------------------------------------------------------------


def _request(shop: str, i: int, requested_at: datetime) -> Cancellation:
    """A buyer's pending request (C2) for a two-line order, with its one timeline record."""
    order_id = f"ord_{shop}_{i:07d}"
    buyer_id = f"buyer-{i % 997:03d}"
    lines = (
        LineItem(f"{order_id}-0", "SKU-MUG-01", "Ceramic mug", 1, Money(1299, "USD"), "home"),
        LineItem(f"{order_id}-1", "SKU-TEA-12", "Green tea, 12 bags", 2, Money(450, "USD"), "food"),
    )
    record = TimelineRecord(
        requested_at,
        ActorKind.BUYER,
        buyer_id,
        CancellationAction.REQUEST,
        None,
        CancellationStatus.PENDING,
        "CHANGED_MIND",
    )
    return Cancellation(
        id=f"can_{shop}_{i:07d}",
        order_id=order_id,
        shop_id=shop,
        buyer_id=buyer_id,
        initiator=Initiator.BUYER,
        status=CancellationStatus.PENDING,
        reason="CHANGED_MIND",
        note=None,
        requested_at=requested_at,
        lines=lines,
        currency="USD",
        policy=DEFAULT_POLICY,
        respond_by=requested_at + DEFAULT_POLICY.seller_response_window,
        timeline=(record,),
    )


async def seed(db: Database, size: int, now: datetime) -> float:
    """`size` requests in the shop's To Proceed tab and its counter; returns seconds taken."""
    shop = shop_of(size)
    rng = random.Random(size)
    start = now - timedelta(hours=47)
    span_ms = 47 * 3600 * 1000
    began = time.perf_counter()
    for first in range(0, size, BATCH):
        docs = [
            CANCELLATION_DOCUMENTS.to_doc(
                _request(shop, i, start + timedelta(milliseconds=rng.randrange(span_ms)))
            )
            for i in range(first, min(first + BATCH, size))
        ]
        await db.cancellations.insert_many(docs, ordered=False)
    # The shape storage.tab_counts.move keeps (it needs a transaction per request).
    await db.tab_counts.replace_one(
        {"_id": f"{shop}:{SECTION}"},
        {"shop_id": shop, "section": SECTION, "tabs": {CancellationTab.TO_PROCEED.value: size}},
        upsert=True,
    )
    return time.perf_counter() - began


# ---- the app: the service's routes and the baseline ---------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(body: Any) -> Response:
    return Response(json.dumps(body, default=_plain), media_type="application/json")


# The benchmark measures the service, not the rate limit a caller repeating one query would hit.
_UNLIMITED = default_settings(graphiql=False, rate_limit_cost=0)


def baseline_routes(db: Database) -> list[Route]:
    sort = SORTS["DEADLINE_SOONEST"]

    async def to_proceed(request: Request) -> Response:
        """The resolver's find (fetch_page's first page), straight from the driver, as JSON."""
        scope = Scope(shop_id=request.query_params["shop"])
        query = CancellationFilter().query(scope, CancellationTab.TO_PROCEED, sort)
        docs = await db.cancellations.find(query).sort(sort.spec).limit(PAGE + 1).to_list(None)
        return _json({"items": docs[:PAGE], "hasNextPage": len(docs) > PAGE})

    async def tab_counts(request: Request) -> Response:
        """The counter document (what the resolver reads for a whole shop)."""
        shop = request.query_params["shop"]
        doc = await db.tab_counts.find_one({"_id": f"{shop}:{SECTION}"})
        tabs: dict[str, int] = dict(doc["tabs"]) if doc else {}
        counts = {tab.value: tabs.get(tab.value, 0) for tab in CancellationTab}
        return _json({"ALL": sum(counts.values()), **counts})

    async def tab_counts_scan(request: Request) -> Response:
        """What the counters save: the service's counting query (count_documents) per tab."""
        scope = Scope(shop_id=request.query_params["shop"])
        counts = {
            tab.value: await cancellation_store.REQUESTS.count(db, scope, tab, CancellationFilter())
            for tab in CancellationTab
        }
        return _json({"ALL": sum(counts.values()), **counts})

    return [
        Route("/baseline/to-proceed", to_proceed),
        Route("/baseline/tab-counts", tab_counts),
        Route("/baseline/tab-counts-scan", tab_counts_scan),
    ]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(services: Services) -> AsyncIterator[str]:
    """The service's app with the baseline's routes added, under a real uvicorn on a free port:
    both sides go through the app's middleware."""
    app = create_app(services, settings=_UNLIMITED)
    app.router.routes.extend(baseline_routes(services.db))
    tune_for_serving()  # as process/process_app.py does once the app is built
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# ---- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    samples: list[float]  # milliseconds

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Side:
    total: Stats  # the request as the client sees it
    database: Stats  # the driver's command time within it
    cpu: Stats  # this process's CPU time across it: client and service, not the database's

    @property
    def own(self) -> Stats:
        """Everything but the database: HTTP, routing, execution, serialisation."""
        return Stats(
            [t - d for t, d in zip(self.total.samples, self.database.samples, strict=True)]
        )


@dataclass(frozen=True)
class Comparison:
    name: str
    baseline: Side
    graphql: Side

    @property
    def overhead(self) -> float:
        """Difference of the p50s of the whole requests."""
        return self.graphql.total.p50 - self.baseline.total.p50

    @property
    def net_overhead(self) -> float:
        """Difference of the p50s of the requests' own time (their database time taken out)."""
        return self.graphql.own.p50 - self.baseline.own.p50


async def _timed(call: Call) -> tuple[float, float, float]:
    db_before = DB_TIME.seconds
    cpu_before = time.process_time()
    began = time.perf_counter()
    response = await call()
    elapsed = (time.perf_counter() - began) * 1000
    cpu = (time.process_time() - cpu_before) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: HTTP {response.status_code}")
    return elapsed, (DB_TIME.seconds - db_before) * 1000, cpu


def _side(samples: list[tuple[float, float, float]]) -> Side:
    return Side(
        Stats([t for t, _, _ in samples]),
        Stats([d for _, d, _ in samples]),
        Stats([c for _, _, c in samples]),
    )


async def compare(name: str, baseline: Call, graphql: Call, n: int, warmup: int) -> Comparison:
    """Rounds of one baseline and one GraphQL request, who goes first alternating."""
    base: list[tuple[float, float, float]] = []
    gql: list[tuple[float, float, float]] = []
    for i in range(warmup + n):
        if i % 2:
            g, b = await _timed(graphql), await _timed(baseline)
        else:
            b, g = await _timed(baseline), await _timed(graphql)
        if i >= warmup:
            base.append(b)
            gql.append(g)
    return Comparison(name, _side(base), _side(gql))


async def alone(call: Call, n: int, warmup: int) -> Side:
    samples = [await _timed(call) for _ in range(warmup + n)]
    return _side(samples[warmup:])


class Api:
    def __init__(self, client: httpx.AsyncClient, shop: str) -> None:
        self.client = client
        self.shop = shop
        token = mint_token(Actor(ActorKind.SELLER_AGENT, "bench", shop, frozenset({ADJUSTMENTS})))
        self.headers = {"Authorization": f"Bearer {token}"}

    def graphql(self, query: str) -> Call:
        body = {"query": query}
        return lambda: self.client.post("/graphql", json=body, headers=self.headers)

    def baseline(self, path: str) -> Call:
        params = {"shop": self.shop}
        return lambda: self.client.get(path, params=params)


def _require(ok: bool, what: object) -> None:
    if not ok:  # not `assert`: it must hold under `python -O` too
        raise RuntimeError(f"the benchmark would measure a wrong answer: {what}")


async def check_once(api: Api, size: int) -> None:
    """The benchmark must not measure an error: both sides return the page and the counts."""
    page = (await api.graphql(PAGE_QUERY)()).json()
    _require("errors" not in page, page.get("errors"))
    edges = page["data"]["cancellations"]["edges"]
    _require(len(edges) == PAGE, f"GraphQL page has {len(edges)} nodes")
    node = edges[0]["node"]
    _require(len(node["lines"]) == 2 and len(node["timeline"]) == 1, node)
    _require(page["data"]["cancellations"]["pageInfo"]["hasNextPage"] is (size > PAGE), "pageInfo")

    base = (await api.baseline("/baseline/to-proceed")()).json()
    _require(len(base["items"]) == PAGE, f"baseline page has {len(base['items'])} documents")
    ids = [e["node"]["id"] for e in edges]
    _require(ids == [d["_id"] for d in base["items"]], "the two pages hold different requests")

    counts = (await api.graphql(COUNTS_QUERY)()).json()
    _require("errors" not in counts, counts.get("errors"))
    by_tab = {c["tab"]: c["count"] for c in counts["data"]["cancellationTabCounts"]}
    _require(by_tab["TO_PROCEED"] == size and by_tab["ALL"] == size, by_tab)
    for path in ("/baseline/tab-counts", "/baseline/tab-counts-scan"):
        body = (await api.baseline(path)()).json()
        _require(body["TO_PROCEED"] == size and body["ALL"] == size, (path, body))


# ---- report -------------------------------------------------------------------------------------


def print_size(size: int, seeded: float, page: Comparison, counts: Comparison, scan: Side) -> bool:
    passed = page.net_overhead <= BAR_MS
    print(f"\n== To Proceed tab of {size:,} requests (seeded in {seeded:.1f} s) ==")
    print(
        f"{'':<22}{'baseline ms':>20}{'graphql ms':>20}{'ratio':>8}"
        f"{'overhead p50 ms':>21}{'db time p50 ms':>20}"
    )
    print(
        f"{'operation':<22}{'p50':>10}{'p99':>10}{'p50':>10}{'p99':>10}{'p50':>8}"
        f"{'whole':>10}{'net of db':>11}{'baseline':>10}{'graphql':>10}  bar (net p50)"
    )
    for row, verdict in (
        (page, f"{'PASS' if passed else 'FAIL'} (<= {BAR_MS:g} ms)"),
        (counts, "-"),
    ):
        b, g = row.baseline, row.graphql
        print(
            f"{row.name:<22}{b.total.p50:10.2f}{b.total.p99:10.2f}{g.total.p50:10.2f}"
            f"{g.total.p99:10.2f}{g.total.p50 / b.total.p50:7.2f}x{row.overhead:+10.2f}"
            f"{row.net_overhead:+11.2f}{b.database.p50:10.2f}{g.database.p50:10.2f}  {verdict}"
        )
    b_cpu, g_cpu = page.baseline.cpu.p50, page.graphql.cpu.p50
    print(
        f"CPU of this process per page request (client and service; the database is another "
        f"process), p50: baseline {b_cpu:.2f} ms, GraphQL {g_cpu:.2f} ms, {g_cpu - b_cpu:+.2f} ms"
    )
    print("tab counts, three ways (p50 / p99 ms):")
    for label, stats in (
        ("counter via GraphQL", counts.graphql.total),
        ("counter, baseline", counts.baseline.total),
        ("count_documents scan, 3 tabs", scan.total),
    ):
        print(f"  {label:<30}{stats.p50:10.2f} / {stats.p99:.2f}")
    print(f"  (scan: {len(scan.total.samples)} requests to the baseline endpoint)")
    return passed


def print_machine(args: argparse.Namespace, db_label: str) -> None:
    packages = (
        "strawberry-graphql",
        "graphql-core",
        "starlette",
        "uvicorn",
        "httptools",
        "uvloop",
        "pymongo",
        "httpx",
        "SecantusDB",
    )
    versions = []
    for name in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{name} {metadata.version(name)}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
    )
    print("versions: " + ", ".join(versions))
    print(f"database: {db_label}")
    print(f"event loop: {args.loop}; service app with its middleware and JSON logging (to a sink)")
    print(
        f"sizes {', '.join(f'{s:,}' for s in args.sizes)}; {args.requests} measured rounds "
        f"(+{args.warmup} warm-up) per comparison, {args.scan_requests} for the scan; "
        "sequential requests, one keep-alive client, same process as the server"
    )


# ---- main ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, uri: str, *, external: bool) -> bool:
    monitoring.register(DB_TIME)  # before the client is made: it applies to clients made after
    # As the service connects (process/process_app.py): the latency metric sees every command.
    db = connect(uri, DATABASE, event_listeners=[DatabaseLatency()])
    await db.client.drop_database(DATABASE)
    try:
        services = await build_services(db, SystemClock())  # ensure_indexes too
        now = services.clock.now()
        all_passed = True
        async with (
            serving(services) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=600) as client,
        ):
            for size in args.sizes:
                seeded = await seed(db, size, now)
                api = Api(client, shop_of(size))
                await check_once(api, size)
                page = await compare(
                    f"To Proceed, first {PAGE}",
                    api.baseline("/baseline/to-proceed"),
                    api.graphql(PAGE_QUERY),
                    args.requests,
                    args.warmup,
                )
                counts = await compare(
                    "tab counts (counter)",
                    api.baseline("/baseline/tab-counts"),
                    api.graphql(COUNTS_QUERY),
                    args.requests,
                    args.warmup,
                )
                scan = await alone(
                    api.baseline("/baseline/tab-counts-scan"),
                    args.scan_requests,
                    min(args.warmup, 2),
                )
                all_passed &= print_size(size, seeded, page, counts, scan)
                sys.stdout.flush()
        print(
            f"\nbar: GraphQL p50 overhead (net of database time) <= {BAR_MS:g} ms at every size: ",
            end="",
        )
        print("PASS" if all_passed else "FAIL")
        return all_passed
    finally:
        if external:  # an embedded server is thrown away with its data
            try:
                await db.client.drop_database(DATABASE)
            except PyMongoError as exc:
                print(f"could not drop {DATABASE}: {exc}", file=sys.stderr)
        await db.close()


def _sizes(text: str) -> list[int]:
    sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    if not sizes or min(sizes) <= PAGE:
        raise argparse.ArgumentTypeError(f"sizes must each be more than {PAGE}")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.tab_query", description=__doc__.split("\n")[0]
    )
    p.add_argument("--sizes", type=_sizes, default=[1_000, 10_000, 100_000], help="tab sizes")
    p.add_argument("--requests", type=int, default=200, help="measured rounds per comparison")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured rounds first")
    p.add_argument(
        "--scan-requests", type=int, default=20, help="measured count_documents requests"
    )
    p.add_argument("--mongodb-uri", help="default: start an embedded SecantusDB (:memory:)")
    p.add_argument(
        "--loop",
        choices=["uvloop", "asyncio"],
        default="uvloop",
        help="event loop (the service runs on uvloop)",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: size 200, 20 rounds")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.requests, args.warmup, args.scan_requests = [200], 20, 3, 5
    return args


@contextlib.contextmanager
def database(uri: str | None) -> Iterator[tuple[str, str]]:
    if uri:
        yield uri, uri
        return
    with EmbeddedDatabase(MEMORY) as server:  # started from the main thread, as it asks
        yield server.uri, f"embedded SecantusDB ({MEMORY}) at {server.uri}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        database(args.mongodb_uri) as (uri, label),
        open(os.devnull, "w") as sink,
        asyncio.Runner(loop_factory=_loop_factory(args.loop)) as runner,
    ):
        # The service's log lines (one per GraphQL operation), formatted and written to a sink.
        configure_logging("json", "INFO", access_log=False, stream=sink)
        print_machine(args, label)
        passed = runner.run(run(args, uri, external=bool(args.mongodb_uri)))
    return 0 if passed else 1


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop, as `python -m api` runs the service where it is installed; or asyncio's own."""
    if name == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


if __name__ == "__main__":
    sys.exit(main())

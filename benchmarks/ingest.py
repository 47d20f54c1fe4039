"""TikTok webhooks in: how many one service process accepts a second, and the time from a
webhook's arrival to the change on a live-feed subscriber, beside the same changes made through
GraphQL mutations in the same run.

    ./dev run benchmarks.ingest [--rate 100] [--seconds 60] [--profile] [--webhook-concurrency 1]

One service process (uvicorn in this process, on uvloop, the TikTok connection as the service
runs it) linked to the TikTok Shop stand-in, its own process, which sends its webhooks to it;
SecantusDB in memory, its own process. A live-feed subscription in the service process.

- Webhooks: the stand-in is told (its control API, `/_standin/traffic`) to make a change every
  1/rate seconds in its own loop: a new order (a type 1 webhook), then the buyer's cancellation
  of it (type 11), alternately. Arrival
  is when the service stored the webhook in its inbox (before its 200); the subscriber sees the
  order placed, or the cancellation request opened. Each is also timed from the stand-in's
  making of the webhook, before any queue to send: delivered one at a time, webhooks wait in
  the stand-in while the service's accept is slow, which the arrival does not see. That p99 is
  also printed by 10 s of the run: one stall shows in one window, a queue in all.
- Baseline, the same changes through GraphQL: `placeOrders` (as the shop's integration) and
  `requestCancellation` (as the buyer), on another shop of the same process at the same rate;
  the time from sending the mutation to the subscriber seeing the change (at most 100 in
  flight; failures counted by HTTP status and error code).

Every run prints the database statements a webhook sent (a CommandListener in this process,
the feed's change stream left out) and the CPU time a webhook of the database and of the
service process (/proc/<pid>/stat around the webhooks' half), which the machine's load moves
least. `--profile` also prints where the inbox worker's time went (wall time by stage, per
webhook), the statements by command and collection, and the CPU seconds of the service, the
database and the stand-in in each half of the run.

`--floor` then writes the documents the webhooks wrote again, by a bare loop at the same rate
(benchmarks/ingest_floor.py): the floor of the p99 and of the database's CPU on this database
(`--floor-seconds S`: for S seconds, so a short webhooks' half leaves it a server that served
little else).
`--collections` prints the database's CPU a document of each collection they wrote.

Bar: 100 webhooks/s for 60 s, p99 from arrival to the subscriber under 250 ms, nothing lost
(every change seen on the feed, every webhook answered 200); read on the larger of the two
p99s.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import platform
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
import uvloop
from pymongo import monitoring

from api.app import create_app
from api.settings import Settings
from benchmarks import ingest_floor
from benchmarks.stage_times import CommandTimes, StageTimes, cpu_seconds, load_average
from devtools.tiktok_shop.launch import standin_command
from integrations.tiktok_shop.credentials import ShopLink
from models.clock import SystemClock
from models.events import OrderEvent, StatusEvent
from process.gc_tuning import tune_for_serving
from services.bootstrap import build_services
from services.tiktok_connection import TikTokConnection
from storage import order_records, tiktok_inbox
from storage.indexes import ensure_indexes
from storage.mongo import connect
from tests.support.api_client import authorization
from tests.support.processes import ROOT, free_port

APP_KEY, APP_SECRET = "bench-key", "bench-secret"
TIKTOK_SHOP, CIPHER, TOKEN = "7495540735365777507", "ROW_standin_cipher", "TTP_standin_access_token"
PLACE = """mutation($input: PlaceOrdersInput!) { placeOrders(input: $input) { __typename } }"""
CANCEL = """mutation($input: RequestCancellationInput!) { requestCancellation(input: $input)
  { __typename } }"""


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _standin(port: int, hook_port: int, concurrency: int) -> subprocess.Popen[bytes]:
    command = standin_command(
        port,
        APP_KEY,
        APP_SECRET,
        f"http://127.0.0.1:{hook_port}/webhooks/tiktok",
        # One after another by default; TikTok delivers many at once (--webhook-concurrency).
        *("--webhook-concurrency", str(concurrency)),
    )
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _profiled(connection: TikTokConnection) -> StageTimes:
    """The inbox worker's stages, timed (nested ones counted in each)."""
    from integrations.tiktok_shop.open_api import OpenApi
    from services import commands
    from storage import tiktok_requests

    stages = StageTimes()
    for attribute in ("receive", "_batch", "_one"):
        stages.wrap(connection, attribute, f"connection.{attribute}")
    stages.wrap(connection.batches, "_shop", "batches.shop")
    for attribute in ("claim_batch", "finish_many"):
        stages.wrap(tiktok_inbox, attribute, f"inbox.{attribute}")
    stages.wrap(connection.accepting, "accept", "inbox.accept")
    for attribute in ("orders", "search"):
        stages.wrap(OpenApi, attribute, f"open_api.{attribute}")
    mirror = connection.mirror
    for attribute in ("apply_orders", "apply_cancellation", "ensure_order", "_opened", "_move"):
        stages.wrap(mirror, attribute, f"mirror.{attribute}")
    stages.wrap(mirror.intake, "_place", "intake.place")
    stages.wrap(mirror.intake, "move", "intake.move")
    stages.wrap(mirror.requests, "apply", "requests.apply")
    stages.wrap(commands, "run_rules_after_create", "rules after create")
    stages.wrap(tiktok_requests, "record", "mirrors.record")
    stages.wrap(tiktok_requests, "get", "mirrors.get")
    stages.wrap(connection.db, "transaction", "db.transaction")
    return stages


def _arrivals(connection: TikTokConnection) -> list[tiktok_inbox.Notification]:
    """Every webhook the inbox stored, as stored (its arrival is `received_at`): a handled one's
    document is deleted, so they are kept here as they come."""
    stored: list[tiktok_inbox.Notification] = []
    accept = connection.accepting.accept

    @functools.wraps(accept)
    async def kept(*args: Any, **kwargs: Any) -> tiktok_inbox.Notification | None:
        notification = await accept(*args, **kwargs)
        if notification is not None:
            stored.append(notification)
        return notification

    connection.accepting.accept = kept  # type: ignore[method-assign]
    return stored


def _shape(value: Any) -> str:
    """A filter's keys (and its operators' names), its values left out: `{a: {$lt: x}}` is
    `a.$lt`."""
    if not isinstance(value, dict):
        return ""
    parts = []
    for key, inner in value.items():
        operators = [k for k in inner if k.startswith("$")] if isinstance(inner, dict) else []
        parts.append(f"{key}.{'.'.join(operators)}" if operators else key)
    return ",".join(parts)


class StatementLog(monitoring.CommandListener):
    """Every statement with when it started, its command, collection and filter's shape, and
    its round trip: ranked by total time over a window of the run (`--statements`)."""

    def __init__(self) -> None:
        self.enabled = False
        self.done: list[tuple[float, str, float]] = []  # (started, what, seconds)
        self._started: dict[int, tuple[float, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self.enabled or event.command_name == "getMore":
            return
        command = event.command
        target = command.get(event.command_name)
        where = target if isinstance(target, str) else ""
        shape = _shape(command.get("filter"))
        for many in ("updates", "deletes"):
            if many in command:
                shape = _shape(command[many][0].get("q")) + f" x{len(command[many])}"
        if "documents" in command:
            shape = f"x{len(command['documents'])}"
        # A retryable write (numbered, outside a transaction): SecantusDB keeps its record.
        numbered = "txnNumber" in command and "autocommit" not in command
        what = f"{event.command_name} {where} {{{shape}}}{' retryable' if numbered else ''}"
        self._started[event.request_id] = (time.time(), what)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def _done(self, request_id: int, micros: int) -> None:
        started = self._started.pop(request_id, None)
        if started is not None:
            self.done.append((started[0], started[1], micros / 1e6))

    def ranked(self, start: float, end: float, label: str, top: int = 15) -> str:
        seconds: Counter[str] = Counter()
        calls: Counter[str] = Counter()
        for at, what, took in self.done:
            if start <= at < end:
                seconds[what] += took
                calls[what] += 1
        total = sum(seconds.values())
        lines = [f"statements {label}: {sum(calls.values())} calls, {total:.2f} s round trips"]
        for what, took in seconds.most_common(top):
            lines.append(
                f"  {what:<70} {calls[what]:>6} calls {took:7.2f} s "
                f"{1000 * took / calls[what]:7.2f} ms each"
            )
        return "\n".join(lines)


def _windows_report(
    rows: list[tuple[tuple[float, float], dict[str, float], int, int]], log: StatementLog
) -> str:
    """The webhooks stored and handled in each 10 s of the run, the statements sent and the
    CPU of each process a handled webhook in it: what grows as the collections do."""
    lines = ["by 10 s: from, stored, handled, statements a handled webhook; CPU ms a handled one"]
    for (at0, cpu0, stored0, handled0), (at1, cpu1, stored1, handled1) in itertools.pairwise(rows):
        handled = max(handled1 - handled0, 1)
        sent = sum(1 for t, _, _ in log.done if at0[1] <= t < at1[1])
        per = ", ".join(f"{name} {1000 * (cpu1[name] - cpu0[name]) / handled:.1f}" for name in cpu0)
        lines.append(
            f"  {at0[0]:5.0f} s {stored1 - stored0:5d} {handled1 - handled0:5d} "
            f"{sent / handled:5.1f}; {per}"
        )
    return "\n".join(lines)


def _reasons(failed: Counter[str]) -> str:
    return f" ({', '.join(f'{why}: {n}' for why, n in failed.most_common())})" if failed else ""


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def _cpu_line(label: str, before: dict[str, float], after: dict[str, float]) -> str:
    spent = ", ".join(f"{name} {after[name] - before[name]:.1f} s" for name in before)
    return f"{label} CPU: {spent}"


async def main_async(args: argparse.Namespace, uri: str, db_pid: int | None) -> None:
    # Counted in every run (the statements a webhook sends); printed by command with --profile.
    commands = CommandTimes()
    statements_log = StatementLog()
    db = connect(
        uri, f"bench_ingest_{uuid.uuid4().hex[:6]}", event_listeners=[commands, statements_log]
    )
    await ensure_indexes(db)
    services = await build_services(db, SystemClock())
    port, standin_port = free_port(), free_port()
    standin = _standin(standin_port, port, args.webhook_concurrency)
    base = f"http://127.0.0.1:{standin_port}"
    control = httpx.Client(base_url=base, timeout=30)
    for _ in range(200):
        try:
            if control.get("/_standin/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    linked, local = "bench-tiktok", "bench-graphql"
    link = ShopLink(linked, TIKTOK_SHOP, APP_KEY, CIPHER, base, APP_SECRET, TOKEN)
    connection = TikTokConnection(
        services,
        settings_link=link,
        reconcile_seconds=3600,
        warn_poll_seconds=3600,
        inbox_workers=args.inbox_workers,
    )
    stages = _profiled(connection) if args.profile else None
    arrived = _arrivals(connection)
    pids = {"service": os.getpid(), "stand-in": standin.pid}
    if db_pid is not None:
        pids["database"] = db_pid
    app = create_app(services, settings=Settings(), tiktok=connection)
    tune_for_serving()  # the collector as a service process sets it (process/process_app.py)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    feed = app.state.live_feed
    seen: dict[tuple[str, str, str], float] = {}  # (shop, what, order) -> when the feed had it

    async def listen(shop: str) -> None:
        async for stored in feed.read(shop, None):
            e = stored.event
            if isinstance(e, OrderEvent) and e.action == "PLACED":
                seen[(shop, "order", e.external_id or "")] = time.time()
            elif isinstance(e, StatusEvent) and e.from_status is None:
                seen[(shop, "cancel", e.order_id)] = time.time()

    listeners = [asyncio.create_task(listen(s)) for s in (linked, local)]
    count = int(args.rate * args.seconds)
    # At most 100 mutations in flight, the rest wait their turn (counted in their time, as a
    # webhook's wait in the inbox is): thousands at once thrash the process instead. They wait
    # on a semaphore, not in httpx's pool: its queue is rescanned against every connection each
    # time a request comes or goes, and with thousands queued that scan took 85% of this
    # process's CPU (py-spy), the service's too, so the baseline never finished.
    in_flight = asyncio.Semaphore(100)
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        timeout=httpx.Timeout(300),
        limits=httpx.Limits(max_connections=100),
    )
    try:
        await asyncio.sleep(0.5)
        # -- webhooks -----------------------------------------------------------------------
        cpu_before = _cpu(pids)
        commands.reset()
        statements_log.enabled = args.statements
        print(f"load average before: {load_average()}", flush=True)
        start = time.perf_counter()
        windows: list[tuple[tuple[float, float], dict[str, float], int, int]] = []

        async def sample() -> None:
            """Every 10 s: the processes' CPU, the webhooks stored and those seen so far."""
            while True:
                handled = sum(1 for k in seen if k[0] == linked)
                stamp = (time.perf_counter() - start, time.time())
                windows.append((stamp, _cpu(pids), len(arrived), handled))
                await asyncio.sleep(10)

        sampler = asyncio.create_task(sample()) if args.statements else None
        # Made by the stand-in in its own loop (devtools/tiktok_shop/traffic.py): no client's
        # HTTP call a change takes the machine's CPU from the service and its database.
        # The control calls go from a thread: the service's loop runs in this process.
        asked = await asyncio.to_thread(
            control.post, "/_standin/traffic", json={"rate": args.rate, "count": count}
        )
        asked.raise_for_status()
        while True:
            traffic = (await asyncio.to_thread(control.get, "/_standin/traffic")).json()
            if traffic["done"]:
                break
            await asyncio.sleep(0.5)
        if traffic["error"] or traffic["made"] != count:
            raise SystemExit(f"the stand-in's traffic failed: {traffic}")
        sent = time.perf_counter() - start
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline and len([k for k in seen if k[0] == linked]) < count:
            await asyncio.sleep(0.2)
        cpu_hooks = _cpu(pids)
        hook_stages = stages.report(count, "webhook") if stages is not None else ""
        hook_commands = commands.report(count, "webhook")
        # The live feed's change stream waits in getMore: not the webhooks' work.
        statements = sum(n for name, n in commands.calls.items() if name != "getMore")
        docs = [d for d in arrived if d.shop_id == linked]
        accepted = len(docs)
        span = (
            (max(d.received_at for d in docs) - min(d.received_at for d in docs)) if docs else None
        )
        externals = list({str(d.data.get("order_id")) for d in docs})
        by_ext = await order_records.by_external(db, linked, externals)
        local_of = {ext: r["_id"] for ext, r in by_ext.items()}
        hooks = control.get("/_standin/webhooks").json()["notifications"]
        made = {n["tts_notification_id"]: n["made_at"] for n in hooks}
        hook_ms, made_ms = [], []
        by_window: dict[int, list[float]] = {}  # made-based, by 10 s of making
        first_made = min(made.values(), default=0.0)
        for d in docs:
            at = d.received_at.timestamp()
            ext = str(d.data.get("order_id"))
            key = (
                (linked, "cancel", local_of.get(ext, ""))
                if d.type == 11
                else (linked, "order", ext)
            )
            if key in seen:
                hook_ms.append((seen[key] - at) * 1000)
                made_at = made[d.id.split("/", 1)[1]]
                made_ms.append((seen[key] - made_at) * 1000)
                by_window.setdefault(int((made_at - first_made) // 10), []).append(made_ms[-1])
        not_200 = [n for n in hooks if n["delivered"] < 1]
        webhook_p99 = _pct(hook_ms, 99)
        rate = accepted / span.total_seconds() if span and span.total_seconds() else float("nan")
        arrivals = [d.received_at.timestamp() for d in docs]
        busy = max((seen[k] for k in seen if k[0] == linked), default=0) - min(arrivals, default=0)
        print(
            f"webhooks: {count} changes at {args.rate:.0f}/s over {sent:.1f} s; {accepted} "
            f"accepted ({rate:.0f}/s), {len(not_200)} not answered 200; {len(hook_ms)}/{count} "
            f"seen on the feed ({len(hook_ms) / busy if busy > 0 else float('nan'):.0f}/s from "
            f"the first arrival to the last seen), lost {count - accepted} (never stored), "
            f"{accepted - len(hook_ms)} not yet on the feed after the wait; arrival to "
            f"subscriber p50 {_pct(hook_ms, 50):.0f} ms, p99 {webhook_p99:.0f} ms, "
            f"max {max(hook_ms, default=float('nan')):.0f} ms; from the stand-in's making of the "
            f"webhook (its queue to send included) p50 {_pct(made_ms, 50):.0f} ms, p99 "
            f"{_pct(made_ms, 99):.0f} ms",
            flush=True,
        )
        windows_p99 = ", ".join(f"{_pct(by_window[w], 99):.0f}" for w in sorted(by_window))
        print(f"  p99 from the making, by 10 s of the run: {windows_p99} ms", flush=True)
        db_cpu = (
            f"{(cpu_hooks['database'] - cpu_before['database']) / count * 1000:.1f} ms"
            if "database" in pids
            else "not measured"
        )
        service_cpu = (cpu_hooks["service"] - cpu_before["service"]) / count * 1000
        print(
            f"database: {statements / count:.1f} statements a webhook (the feed's getMore "
            f"not counted), CPU {db_cpu} a webhook; the service process's CPU "
            f"{service_cpu:.1f} ms a webhook",
            flush=True,
        )
        if sampler is not None:
            sampler.cancel()
            end = (
                (time.perf_counter() - start, time.time()),
                _cpu(pids),
                len(arrived),
                len(hook_ms),
            )
            print(_windows_report([*windows, end], statements_log))
        if args.statements:
            statements_log.enabled = False
            first, last = min(arrivals, default=0), max(arrivals, default=0)
            print(statements_log.ranked(first, first + 10, "in the first 10 s of arrivals"))
            print(statements_log.ranked(last - 10, last, "in the last 10 s of arrivals"))
        if stages is not None:
            print(hook_stages)
            print(hook_commands)
            print(
                f"{_cpu_line('webhooks', cpu_before, cpu_hooks)}; the stand-in's changes started "
                f"at most {traffic['late_ms']:.0f} ms late",
                flush=True,
            )
        if args.floor and "database" in pids:
            floor_count = int(args.rate * (args.floor_seconds or args.seconds))
            measured = await ingest_floor.run(
                uri, f"{db.db.name}_floor", db, linked, args.rate, floor_count, pids["database"]
            )
            floor_ms = [
                (measured.visible[i] - at) * 1000
                for i, at in measured.arrivals.items()
                if i in measured.visible
            ]
            floor_span = max(measured.visible.values()) - min(measured.arrivals.values())
            print(
                f"floor (the same documents written by a bare loop, benchmarks/ingest_floor.py): "
                f"{len(floor_ms)}/{floor_count} committed ({len(floor_ms) / floor_span:.0f}/s) in "
                f"{measured.batches} batches; arrival to commit p50 {_pct(floor_ms, 50):.0f} ms, "
                f"p99 {_pct(floor_ms, 99):.0f} ms; the database's CPU "
                f"{measured.db_cpu / floor_count * 1000:.1f} ms a change; webhook p99 / floor "
                f"p99 = {webhook_p99 / _pct(floor_ms, 99):.2f}",
                flush=True,
            )
        if args.collections and "database" in pids:
            print("the database's CPU a document, by collection, 25 a transaction (indexes):")
            for name, indexes, inserted, updated in await ingest_floor.by_collection(
                uri, f"{db.db.name}_each", db, linked, pids["database"]
            ):
                print(
                    f"  {name:18} {indexes:>2}  insert {inserted:.2f} ms, update {updated:.2f} ms"
                )
        if args.no_baseline:
            print(f"load average after: {load_average()}", flush=True)
            return
        # -- the same changes through GraphQL -----------------------------------------------
        integration = authorization(f"integration:tts@{local}")
        sent_at: dict[str, float] = {}
        failed: Counter[str] = Counter()  # by HTTP status and error code
        placed: dict[str, asyncio.Future[bool]] = {}  # an order's placeOrders: answered 200?
        answered: set[tuple[str, str]] = set()  # the changes whose mutation succeeded

        async def post(query: str, variables: dict[str, Any], headers: dict[str, str]) -> bool:
            try:
                async with in_flight:
                    answer = await http.post(
                        "/graphql", json={"query": query, "variables": variables}, headers=headers
                    )
            except httpx.HTTPError as exc:  # a backlog longer than the client waits
                failed[type(exc).__name__] += 1
                return False
            body = answer.json()
            if answer.status_code == 200 and body.get("data"):
                typename = next(iter(body["data"].values()))["__typename"]
                if typename in ("PlaceOrdersPayload", "Cancellation"):
                    return True
                failed[typename] += 1
                return False
            errors = body.get("errors") or [{}]
            failed[f"{answer.status_code} {errors[0].get('extensions', {}).get('code')}"] += 1
            return False

        async def mutation(i: int) -> None:
            ext = f"o{i // 2}"
            if i % 2 == 0:
                order = {
                    "externalId": ext,
                    "buyerId": "buyer-1",
                    "currency": "USD",
                    "lines": [
                        {
                            "lineId": "l1",
                            "sku": "mug",
                            "title": "Mug",
                            "quantity": 1,
                            "unitPriceMinor": 1250,
                            "category": "tiktok_shop",
                        }
                    ],
                    "shippingFeeMinor": 0,
                    "paymentMethod": "PREPAID",
                    "placedAt": datetime.now(UTC).isoformat(),
                    "paid": True,
                }
                sent_at[f"order:{ext}"] = time.time()
                done = placed.setdefault(ext, asyncio.get_running_loop().create_future())
                ok = await post(PLACE, {"input": {"shopId": local, "orders": [order]}}, integration)
                if ok:
                    answered.add(("order", ext))
                done.set_result(ok)
            else:
                done = placed.setdefault(ext, asyncio.get_running_loop().create_future())
                if not await done:  # no order to cancel: that change failed already
                    return
                while (local, "order", ext) not in seen:
                    if time.monotonic() > give_up:
                        return
                    await asyncio.sleep(0.005)
                found = await order_records.by_external(db, local, [ext])
                order_id = found[ext]["_id"]
                sent_at[f"cancel:{order_id}"] = time.time()
                variables = {"input": {"orderId": order_id, "reason": "CHANGED_MIND"}}
                if await post(CANCEL, variables, authorization("buyer:buyer-1")):
                    answered.add(("cancel", order_id))

        give_up = time.monotonic() + args.seconds + 300
        await ingest_floor.paced(args.rate, count, mutation)
        # Every mutation has its answer: wait only for the changes that were made.
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline and any((local, *a) not in seen for a in answered):
            await asyncio.sleep(0.2)
        cpu_gql = _cpu(pids)
        gql_ms = []
        for name, at in sent_at.items():
            what, ident = name.split(":", 1)
            key = (local, what, ident)
            if key in seen:
                gql_ms.append((seen[key] - at) * 1000)
        graphql_p99 = _pct(gql_ms, 99)
        print(
            f"graphql: {count} mutations at {args.rate:.0f}/s, {sum(failed.values())} failed"
            f"{_reasons(failed)}, {count - len(answered) - sum(failed.values())} not sent "
            f"(their order not placed), "
            f"{len(gql_ms)}/{count} seen on the feed; sent to subscriber "
            f"p50 {_pct(gql_ms, 50):.0f} ms, p99 {graphql_p99:.0f} ms; "
            f"webhook p99 / graphql p99 = {webhook_p99 / graphql_p99:.2f}",
            flush=True,
        )
        print(f"load average after: {load_average()}", flush=True)
        if stages is not None:
            print(_cpu_line("graphql", cpu_hooks, cpu_gql))
    finally:
        for task in listeners:
            task.cancel()
        await http.aclose()
        server.should_exit = True
        await serving
        control.close()
        standin.terminate()
        standin.wait()
        await db.client.drop_database(db.db.name)
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="changes per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long")
    parser.add_argument(
        "--wait", type=float, default=120.0, help="seconds to wait for a backlog after sending"
    )
    parser.add_argument(
        "--webhook-concurrency",
        type=int,
        default=1,
        help="webhooks the stand-in delivers at once (1: one after another, as before; TikTok "
        "sends many at once)",
    )
    parser.add_argument(
        "--inbox-workers", type=int, default=1, help="the connection's inbox workers (as run: 1)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="after the webhooks, write the same documents by a bare loop at the same rate",
    )
    parser.add_argument(
        "--floor-seconds",
        type=float,
        help="the floor's length (default: --seconds); with a short webhooks' half, the floor "
        "runs on a server that has served little else",
    )
    parser.add_argument(
        "--collections",
        action="store_true",
        help="after the webhooks, the database's CPU a document of each collection they wrote",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="the webhooks only, no GraphQL baseline"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print the inbox worker's time by stage, and CPU"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="rank the statements by round-trip time in the webhooks' first and last 10 s",
    )
    args = parser.parse_args()

    from api.embedded_db import EmbeddedDatabase

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, SecantusDB")
    with (
        EmbeddedDatabase(":memory:") as server,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        runner.run(main_async(args, server.uri, server.pid))


if __name__ == "__main__":
    main()

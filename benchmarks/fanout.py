"""The live feed's fan-out: N subscribers on one service process, M status changes.

    ./dev run benchmarks.fanout --subscribers 1000 --changes 50
    ./dev run benchmarks.fanout --subscribers 10000 --changes 50 --client-processes 4

Starts SecantusDB and one service process (`python -m api`, as deployed; no deadline worker),
seeds M waiting cancellation requests in one shop, opens N WebSocket connections from a few client
processes (raw graphql-transport-ws on the `websockets` package, each connection subscribed to
`requestEvents` of that shop as one of its agents), then accepts the M requests one after another
over HTTP. Every subscriber should receive every change: N x M deliveries. The run ends when all
arrived, or when nothing more arrived for --wait seconds (what is missing then is lost).

Prints, per run: latency from the change to its delivery (p50, p99, max; measured from the
event's `change.at`, the service's clock when it decided, a few ms before the commit, so the
figures slightly overstate commit-to-delivery), events lost (expected minus received, repeats
counted apart), and the service process's memory per connection (its RSS growth while the
connections opened, divided by N). The bar: 10,000 subscribers, p99 < 250 ms, 0 lost.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import httpx

from tests.support.api_client import authorization

SHOP = "shop-fanout"
AUTH = authorization(f"seller:agent-1@{SHOP}+adjustments")  # the agent who accepts


def _subscriber_auth(i: int) -> dict[str, str]:
    """Subscriber i's own agent of the shop: 10,000 dashboards are 10,000 agents, and one
    identity would meet the per-caller connection limit and rate limit first."""
    return authorization(f"seller:agent-{i}@{SHOP}+adjustments")


QUERY = (
    'subscription { requestEvents(shopId: "' + SHOP + '") { '
    "... on RequestEvent { cursor requestId change { action at } } } }"
)
ACCEPT = (
    """mutation($id: ID!) { r: acceptCancellation(input: {cancellationId: $id}) { __typename } }"""
)
ROOT = Path(__file__).resolve().parent.parent


# ---- client processes ------------------------------------------------------------------------


_NEXT_MARK = b'"type":"next"'


def _client_frame(data: bytes, opcode: int = 0x1) -> bytes:
    """A masked frame, text unless told (clients must mask; a zero key leaves the payload as
    it is)."""
    n = len(data)
    length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return bytes([0x80 | opcode]) + length + b"\0\0\0\0" + data


class _RawSubscriber(asyncio.Protocol):
    """One graphql-transport-ws subscriber written on asyncio's Protocol, not on a WebSocket
    library: the clients share the machine's CPUs with the service under test, and a lean
    client leaves them to the service. It frames what it sends, answers pings, and keeps each
    text message with the time it arrived; the messages are parsed after the run."""

    def __init__(self, host: str, auth: dict[str, str], opened: asyncio.Future[None]) -> None:
        self.host = host
        self.auth = auth
        self.opened = opened
        self.buffer = b""
        self.handshaken = False
        self.received: list[tuple[float, bytes]] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        transport.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before subscribing: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data if self.buffer else data
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(buffer[:200].decode(errors="replace")))
                return
            self.handshaken = True
            buffer = buffer[end + 4 :]
            self._send(json.dumps({"type": "connection_init", "payload": self.auth}))
        i, size = 0, len(buffer)
        while size - i >= 2:
            opcode, n, head = buffer[i] & 0x0F, buffer[i + 1] & 0x7F, 2
            if n == 126:
                if size - i < 4:
                    break
                n, head = int.from_bytes(buffer[i + 2 : i + 4], "big"), 4
            elif n == 127:
                if size - i < 10:
                    break
                n, head = int.from_bytes(buffer[i + 2 : i + 10], "big"), 10
            if size - i < head + n:
                break
            payload = buffer[i + head : i + head + n]
            i += head + n
            if opcode == 0x1:
                self._text(now, payload)
            elif opcode == 0x8 and not self.opened.done():  # refused: say why, at once
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.opened.set_exception(ConnectionError(f"closed {code} {payload[2:]!r}"))
                assert self.transport is not None
                self.transport.close()
            elif opcode == 0x9:  # ping: pong with the same payload
                assert self.transport is not None
                self.transport.write(_client_frame(payload, opcode=0xA))
        self.buffer = buffer[i:]

    def _text(self, now: float, payload: bytes) -> None:
        if self.opened.done():
            self.received.append((now, payload))
        elif b"connection_ack" in payload:
            self._send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
            self.opened.set_result(None)

    def _send(self, text: str) -> None:
        assert self.transport is not None
        self.transport.write(_client_frame(text.encode()))


async def _client_main(url: str, first: int, n: int, conn: Connection) -> None:
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    loop = asyncio.get_running_loop()
    subscribers: list[_RawSubscriber] = []
    gate = asyncio.Semaphore(100)  # handshakes in flight

    async def one(i: int) -> None:
        async with gate:
            opened: asyncio.Future[None] = loop.create_future()
            subscriber = _RawSubscriber(f"{host}:{port}", _subscriber_auth(i), opened)
            subscribers.append(subscriber)
            await loop.create_connection(lambda: subscriber, host, int(port))
            await asyncio.wait_for(opened, 120)

    results = await asyncio.gather(*(one(first + i) for i in range(n)), return_exceptions=True)
    failed = sum(isinstance(r, BaseException) for r in results)
    conn.send("open")
    while True:  # "count": how many messages so far; "stop": report
        while not conn.poll():
            await asyncio.sleep(0.05)
        if conn.recv() == "stop":
            break
        conn.send(sum(len(s.received) for s in subscribers))
    latencies: list[float] = []
    counts: list[int] = []
    repeats = 0
    errors: Counter[str] = Counter()
    for subscriber in subscribers:
        seen = set()
        for at_recv, raw in subscriber.received:
            msg = json.loads(raw)
            if msg.get("type") != "next":
                continue
            if msg["payload"].get("errors"):  # an error in place of an event: counted apart
                error = msg["payload"]["errors"][0]
                errors[str(error.get("extensions", {}).get("code", error.get("message")))] += 1
                continue
            event = msg["payload"]["data"]["requestEvents"]
            if event["cursor"] in seen:
                repeats += 1
                continue
            seen.add(event["cursor"])
            at = datetime.fromisoformat(event["change"]["at"]).timestamp()
            latencies.append(at_recv - at)
        counts.append(len(seen))
    conn.send(
        {
            "latencies": latencies,
            "counts": counts,
            "repeats": repeats,
            "failed": failed,
            "errors": errors,
        }
    )


def _client_process(url: str, first: int, n: int, conn: Connection) -> None:
    try:
        import uvloop  # with uvicorn[standard]: the clients cost less of the shared CPUs

        uvloop.run(_client_main(url, first, n, conn))
    except ImportError:
        asyncio.run(_client_main(url, first, n, conn))


# ---- the run -------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _seed(uri: str, database: str, m: int) -> list[str]:
    from storage.mongo import connect
    from tests.support.factories import pending_requests

    db = connect(uri, database)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        return await pending_requests(db, SHOP, [now - timedelta(minutes=5)] * m)
    finally:
        await db.close()


async def _change_all(base: str, ids: list[str], pause: float) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        started = time.perf_counter()
        for cid in ids:
            r = await http.post(
                "/graphql",
                json={"query": ACCEPT, "variables": {"id": cid}},
                headers=AUTH,
            )
            assert r.json()["data"]["r"]["__typename"] == "Cancellation", r.text
            if pause:
                await asyncio.sleep(pause)
        return time.perf_counter() - started


def _settle(pipes: list[Connection], expected: int, quiet: float) -> None:
    """Wait until every delivery arrived, or none arrived for `quiet` seconds."""
    last, last_change = -1, time.monotonic()
    while time.monotonic() - last_change < quiet:
        for p in pipes:
            p.send("count")
        total = sum(p.recv() for p in pipes)
        if total >= expected:
            return
        if total != last:
            last, last_change = total, time.monotonic()
        time.sleep(0.5)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run(
    uri: str, n: int, m: int, processes: int, pause: float, wait: float, shared: bool
) -> dict[str, Any]:
    from tests.support.processes import free_port, start_service, wait_for_line

    database = f"fanout_{n}_{'shared' if shared else 'each'}_{int(time.time())}"
    ids = asyncio.run(_seed(uri, database, m))
    port = free_port()
    service = start_service(
        {
            "MONGODB_URI": uri,
            "AFTERSALES_DATABASE": database,
            "AFTERSALES_PORT": str(port),
            "AFTERSALES_DEMO_DATA": "false",
            "AFTERSALES_GRAPHIQL": "false",
            "AFTERSALES_WORKER_ENABLED": "false",
            "AFTERSALES_SUBSCRIBER_QUEUE": str(max(1000, 2 * m)),
            "AFTERSALES_WS_SHARED_EXECUTION": "true" if shared else "false",
        },
        Path(os.environ.get("TMPDIR", "/tmp")),
    )
    try:
        wait_for_line(service, "Uvicorn running")
        time.sleep(0.5)
        rss_before = _rss_kib(service.pid)
        url = f"ws://127.0.0.1:{port}/graphql"
        ctx = mp.get_context("spawn")
        pipes, procs = [], []
        share = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
        opened_at = time.perf_counter()
        for first, k in zip(itertools.accumulate(share[:-1], initial=0), share, strict=True):
            parent, child = ctx.Pipe()
            args = (url, first, k, child)
            proc = ctx.Process(target=_client_process, args=args, daemon=True)
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        for p in pipes:
            assert p.recv() == "open"
        open_seconds = time.perf_counter() - opened_at
        time.sleep(2 + n / 2000)  # the last subscribe messages reach the service
        rss_after = _rss_kib(service.pid)

        change_seconds = asyncio.run(_change_all(f"http://127.0.0.1:{port}", ids, pause))
        _settle(pipes, n * m, wait)
        for p in pipes:
            p.send("stop")
        results = [p.recv() for p in pipes]
        for proc in procs:
            proc.join(timeout=30)
    finally:
        service.terminate()
        service.wait(timeout=60)

    latencies = [x for r in results for x in r["latencies"]]
    counts = [c for r in results for c in r["counts"]]
    received = sum(counts)
    return {
        "subscribers": n,
        "changes": m,
        "p50_ms": _pct(latencies, 50) * 1000,
        "p99_ms": _pct(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
        "expected": n * m,
        "received": received,
        "lost": n * m - received,
        "repeats": sum(r["repeats"] for r in results),
        "failed_connections": sum(r["failed"] for r in results),
        "errors": dict(sum((r["errors"] for r in results), Counter())),
        "kib_per_connection": (rss_after - rss_before) / n,
        "service_rss_mib": rss_after / 1024,
        "open_seconds": open_seconds,
        "change_seconds": change_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="1000", help="N, or a list: 1000,5000,10000")
    parser.add_argument("--changes", type=int, default=50, help="M status changes")
    parser.add_argument("--client-processes", type=int, default=0, help="default: N / 2500")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between changes")
    parser.add_argument(
        "--wait", type=float, default=10.0, help="end when nothing arrived for this long"
    )
    parser.add_argument(
        "--modes",
        default="shared,each",
        help="shared: identical subscriptions executed once (the service's default); "
        "each: every subscription executed on its own (the baseline, same run)",
    )
    args = parser.parse_args()

    from api.embedded_db import EmbeddedDatabase

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, SecantusDB")
    with EmbeddedDatabase(":memory:") as server:
        for n in (int(x) for x in args.subscribers.split(",")):
            processes = args.client_processes or max(1, -(-n // 2500))
            p99: dict[str, float] = {}
            for mode in args.modes.split(","):
                shared = mode == "shared"
                r = run(server.uri, n, args.changes, processes, args.pause, args.wait, shared)
                p99[mode] = r["p99_ms"]
                _print(mode, r)
            if len(p99) == 2:
                print(
                    f"N={n:>6}: p99 shared / each = {p99['shared'] / p99['each']:.2f}", flush=True
                )
    sys.stdout.flush()


def _print(mode: str, r: dict[str, Any]) -> None:
    print(
        f"{mode:>6} N={r['subscribers']:>6} M={r['changes']}: "
        f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms; "
        f"lost {r['lost']} of {r['expected']} (repeats {r['repeats']}, "
        f"failed connections {r['failed_connections']}, errors {r['errors'] or 0}); "
        f"{r['kib_per_connection']:.1f} KiB per connection "
        f"(service RSS {r['service_rss_mib']:.0f} MiB); "
        f"opened in {r['open_seconds']:.1f} s, changes made in {r['change_seconds']:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()

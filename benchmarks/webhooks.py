"""Outbound webhooks: how many deliveries one process sends a second, and how long an event
takes from its commit to the receiver's 200, beside the live feed's time for the same events.

    ./dev run benchmarks.webhooks [--events 1000] [--shops 1,4] [--repeat 2] [--rate 100]

The receiver is the stand-in (devtools/webhook_receiver), its own process on loopback, checking
every signature and keeping each delivery id once. SecantusDB in memory, its own process.

- Throughput: K shops with one webhook each (subscribed to every type) and N events each
  already in the log; one WebhookDispatcher in this process (the service's defaults) delivers
  them; timed from its start until every webhook's cursor is at N (deliveries recorded, cursors
  moved). Baseline in the same run: this process posts the same number of signed bodies of the
  same size straight to the same receiver, one at a time per shop, K shops at once; the two
  alternate `--repeat` times so both see the same machine load. Both on uvloop, as the service.
- Latency: one shop, one event committed every 1/rate seconds for `seconds`; for each event the
  time from its commit to the receiver's acceptance (the receiver's clock is this machine's),
  and, in the same run, to its arrival on a live feed subscription (feed/live_feed.py).

Bar: at least 500 deliveries/s on one process; p99 under 250 ms at 100 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import uvloop

from feed.live_feed import LiveFeed
from models.actors import Actor, ActorKind
from models.clock import SystemClock
from services.webhook_delivery import WebhookDispatcher
from services.webhooks import WebhookService
from storage import event_consumers
from storage.indexes import ensure_indexes
from storage.mongo import Database, connect
from tests.support.factories import pending_requests
from tests.support.processes import ROOT, free_port
from webhooks import signing
from webhooks.event_types import EventType

SECRET = "whsec_benchmark_0123456789abcdefghij"


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class ReceiverProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devtools.webhook_receiver",
                "--port",
                str(self.port),
                "--secret",
                SECRET,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = httpx.Client(base_url=self.base, timeout=60)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.http.get("/_receiver/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.05)

    def summary(self) -> dict[str, Any]:
        return self.http.get("/_receiver/deliveries").json()

    def reset(self) -> None:
        self.http.post("/_receiver/reset")

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


async def _register(db: Database, shop_id: str, url: str) -> str:
    state, _ = await WebhookService(db, SystemClock()).create(
        _agent(shop_id), None, url, list(EventType), SECRET
    )
    return state.webhook.id


async def _events(db: Database, shop_id: str, n: int) -> None:
    for start in range(0, n, 500):
        await pending_requests(db, shop_id, [datetime.now(UTC)] * min(500, n - start))


async def dispatch(db: Database, receiver: ReceiverProcess, shops: int, n: int) -> float:
    """Deliveries/s by one dispatcher over a backlog of `n` events in each of `shops` shops."""
    run = uuid.uuid4().hex[:6]
    names = [f"tp-{run}-{i}" for i in range(shops)]
    hooks = {s: await _register(db, s, f"{receiver.base}/hooks") for s in names}
    for s in names:
        await _events(db, s, n)
    receiver.reset()
    dispatcher = WebhookDispatcher(db)
    started = time.perf_counter()
    dispatcher.start()
    try:
        while True:
            # The dispatcher's own count first: reading every cursor every 10 ms took 2.0 s of
            # the 12.4 s this process spent (cProfile of a 1 x 1000 run of this benchmark).
            if dispatcher.status.delivered >= shops * n:
                cursors = [
                    (await event_consumers.get(db, s, f"webhook:{hooks[s]}")).cursor  # type: ignore[union-attr]
                    for s in names
                ]
                if all(c >= n for c in cursors):
                    break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        await dispatcher.stop()
        for s in names:  # done with: its webhook must not be claimed by the next phases
            await WebhookService(db, SystemClock()).delete(_agent(s), hooks[s])
    got = receiver.summary()
    assert len(got["deliveries"]) == shops * n == len(got["attempts"]), "lost or repeated"
    return shops * n / elapsed


async def bare_posts(receiver: ReceiverProcess, shops: int, n: int) -> float:
    """The baseline: the same number of signed posts of a body of the same size, one at a time
    per shop, `shops` at once, from this process to the same receiver."""
    body = b'{"pad":"' + b"x" * 600 + b'"}'
    receiver.reset()
    run = uuid.uuid4().hex[:6]

    async def post_all(client: httpx.AsyncClient, shop: str) -> None:
        for i in range(n):
            headers = signing.headers(
                secret=SECRET,
                timestamp=int(time.time()),
                body=body,
                delivery_id=f"base-{run}-{shop}-{i}",
                shop_id=shop,
                sequence=i + 1,
                event_type="cancellation.status_changed",
            )
            r = await client.post(f"{receiver.base}/hooks", content=body, headers=headers)
            assert r.status_code == 200, r.text

    async with httpx.AsyncClient(timeout=10) as client:
        started = time.perf_counter()
        await asyncio.gather(*(post_all(client, f"s{i}") for i in range(shops)))
        return shops * n / (time.perf_counter() - started)


def _agent(shop_id: str) -> Actor:
    return Actor(ActorKind.SELLER_AGENT, "bench", shop_id, frozenset({"adjustments"}))


async def latency(db: Database, receiver: ReceiverProcess, rate: float, seconds: float) -> dict:
    shop = f"lat-{uuid.uuid4().hex[:6]}"
    await _register(db, shop, f"{receiver.base}/hooks")
    receiver.reset()
    feed = LiveFeed(db)
    feed.start()
    await feed.ready.wait()
    feed_at: dict[int, float] = {}

    async def listen() -> None:
        async for stored in feed.read(shop, None):
            feed_at[stored.seq] = time.time()

    listener = asyncio.create_task(listen())
    dispatcher = WebhookDispatcher(db)
    dispatcher.start(feed)  # as the service starts it: woken by the process's live feed
    committed: dict[int, float] = {}
    count = int(rate * seconds)
    try:
        await asyncio.sleep(0.5)  # the subscription and the dispatcher's first claim
        begin = time.perf_counter()
        for i in range(count):
            due = begin + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            await pending_requests(db, shop, [datetime.now(UTC)])
            committed[i + 1] = time.time()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(receiver.summary()["deliveries"]) >= count and len(feed_at) >= count:
                break
            await asyncio.sleep(0.2)
    finally:
        await dispatcher.stop()
        listener.cancel()
        await feed.stop()
    accepted = {
        a["sequence"]: a["at"]
        for a in receiver.summary()["attempts"]
        if a["outcome"] == "accepted" and a["shop"] == shop
    }
    hook_ms = [(accepted[s] - committed[s]) * 1000 for s in committed if s in accepted]
    feed_ms = [(feed_at[s] - committed[s]) * 1000 for s in committed if s in feed_at]
    return {
        "events": count,
        "delivered": len(accepted),
        "hook_p50": _pct(hook_ms, 50),
        "hook_p99": _pct(hook_ms, 99),
        "hook_max": max(hook_ms, default=float("nan")),
        "feed_p50": _pct(feed_ms, 50),
        "feed_p99": _pct(feed_ms, 99),
    }


async def main_async(args: argparse.Namespace, uri: str) -> None:
    db = connect(uri, f"bench_webhooks_{uuid.uuid4().hex[:6]}")
    await ensure_indexes(db)
    receiver = ReceiverProcess()
    try:
        for shops in (int(x) for x in args.shops.split(",")):
            for _ in range(args.repeat):  # alternating, so both see the same machine load
                rate = await dispatch(db, receiver, shops, args.events)
                base = await bare_posts(receiver, shops, args.events)
                print(
                    f"throughput, {shops} shop(s) x {args.events} events: dispatcher "
                    f"{rate:.0f} deliveries/s, bare posts {base:.0f}/s, "
                    f"dispatcher / bare = {rate / base:.2f}",
                    flush=True,
                )
        r = await latency(db, receiver, args.rate, args.seconds)
        print(
            f"latency at {args.rate:.0f} events/s for {args.seconds:.0f} s "
            f"({r['delivered']}/{r['events']} delivered): commit to receiver's 200 "
            f"p50 {r['hook_p50']:.1f} ms, p99 {r['hook_p99']:.1f} ms, max {r['hook_max']:.1f} ms; "
            f"live feed p50 {r['feed_p50']:.1f} ms, p99 {r['feed_p99']:.1f} ms; "
            f"webhook p99 / feed p99 = {r['hook_p99'] / r['feed_p99']:.1f}",
            flush=True,
        )
    finally:
        receiver.close()
        await db.client.drop_database(db.db.name)
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="events per shop (throughput)")
    parser.add_argument("--repeat", type=int, default=2, help="throughput runs per shop count")
    parser.add_argument("--shops", default="1,4", help="shops (one webhook each), a list")
    parser.add_argument("--rate", type=float, default=100.0, help="events/s (latency)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long (latency)")
    args = parser.parse_args()

    from api.embedded_db import EmbeddedDatabase

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, SecantusDB")
    # uvloop, as the service processes run (uvicorn picks it when installed).
    with (
        EmbeddedDatabase(":memory:") as server,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        runner.run(main_async(args, server.uri))


if __name__ == "__main__":
    main()

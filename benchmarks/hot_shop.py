"""Concurrent decisions on one shop against the same decisions spread over many shops.

    ./dev run benchmarks.hot_shop              # 120 concurrent decisions
    ./dev run benchmarks.hot_shop --n 40

Starts a real service process (`python -m api`) on its own SecantusDB, seeds N waiting
cancellation requests in ONE shop and N in N different shops, then fires N concurrent
`acceptCancellation` mutations over HTTP at each set and reports the wall time and the median
answer time. Every decision moves its shop's tab counter document in its transaction, so
decisions on one shop conflict with each other and retry; the spread set is the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx

from api.embedded_db import EmbeddedDatabase
from storage.indexes import ensure_indexes
from storage.mongo import connect
from tests.support.api_client import authorization
from tests.support.factories import pending_requests, seller
from tests.support.processes import free_port

ACCEPT = "mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) { __typename } }"


async def fire(url: str, work: list[tuple[str, str]]) -> tuple[float, float, int]:
    """Wall seconds, median answer seconds, decisions answered as done."""
    started = time.monotonic()
    answered: list[float] = []
    limits = httpx.Limits(max_connections=len(work))
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def one(shop_id: str, cid: str) -> bool:
            r = await client.post(
                url,
                json={"query": ACCEPT, "variables": {"id": cid}},
                headers=authorization(seller(shop_id)),
            )
            answered.append(time.monotonic() - started)
            data = r.json().get("data") or {}
            return (data.get("acceptCancellation") or {}).get("__typename") == "Cancellation"

        done = await asyncio.gather(*(one(shop, cid) for shop, cid in work))
    return time.monotonic() - started, statistics.median(answered), sum(done)


async def main(n: int) -> None:
    with EmbeddedDatabase(":memory:") as server:
        db = connect(server.uri, "hot_shop")
        await ensure_indexes(db)
        now = datetime.now(UTC)
        hot = [("shop-hot", cid) for cid in await pending_requests(db, "shop-hot", [now] * n)]
        spread = []
        for k in range(n):
            shop = f"shop-{k}"
            spread += [(shop, cid) for cid in await pending_requests(db, shop, [now])]
        await db.close()

        port = free_port()
        env = dict(
            os.environ,
            MONGODB_URI=server.uri,
            AFTERSALES_DATABASE="hot_shop",
            AFTERSALES_PORT=str(port),
            AFTERSALES_DEMO_DATA="false",
            AFTERSALES_WORKER_ENABLED="false",
            AFTERSALES_LOG_LEVEL="WARNING",
        )
        proc = subprocess.Popen([sys.executable, "-m", "api"], env=env, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/graphql"
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            base_wall, base_p50, base_done = await fire(url, spread)
            hot_wall, hot_p50, hot_done = await fire(url, hot)
        finally:
            proc.terminate()
            proc.wait()
    print(f"{n} concurrent decisions, one service process, SecantusDB")
    for label, wall, p50, done in (
        (f"spread over {n} shops (baseline)", base_wall, base_p50, base_done),
        ("all on one shop", hot_wall, hot_p50, hot_done),
    ):
        print(f"  {label:34} {wall:6.1f} s, p50 answer {p50:5.1f} s, done {done}")
    print(f"  ratio one shop / spread: {hot_wall / base_wall:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=120)
    asyncio.run(main(parser.parse_args().n))

"""A burst of concurrent writes on one shop, across two service processes, against the same
burst spread over as many shops.

    ./dev run benchmarks.burst                 # N = 40 and 200, every kind of caller
    ./dev run benchmarks.burst --n 40 --kinds buyer

Starts its own SecantusDB and two service processes (`python -m api`, worker off) on it. For
each kind of caller it seeds N delivered orders in ONE shop and N in N shops, then fires N
concurrent mutations over HTTP at each set, alternating between the two processes:

  buyer     requestAfterSale (refund only), each buyer on their own order
  agent     refundOrder (R9) by the shop's agent with adjustments
  platform  platformRefund (R10)
  mixed     a third of each

Every one of them moves its shop's tab counter and event sequence. Prints p50, p99 and max
answer times and the errors (any answer but the request) per set, and one shop's max over the
spread set's. The bar: no errors, and a ratio of at most 3.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.embedded_db import EmbeddedDatabase
from models.orders import FulfilmentState, Order
from storage import orders as order_store
from storage.indexes import ensure_indexes
from storage.mongo import Database, connect
from tests.support.api_client import authorization
from tests.support.factories import PLATFORM, build_order, buyer, seller
from tests.support.processes import free_port

KINDS = ("buyer", "agent", "platform", "mixed")

ASK = (
    "mutation($input: RequestAfterSaleInput!) { r: requestAfterSale(input: $input) "
    "{ __typename ... on UserError { code message } } }"
)
REFUND = (
    "mutation($input: RefundOrderInput!) { r: refundOrder(input: $input) "
    "{ __typename ... on UserError { code message } } }"
)
PLATFORM_REFUND = (
    "mutation($input: RefundOrderInput!) { r: platformRefund(input: $input) "
    "{ __typename ... on UserError { code message } } }"
)

Call = tuple[str, dict[str, Any], str]  # document, variables, actor


def call_for(kind: str, order: Order) -> Call:
    line = [{"lineId": order.lines[0].line_id, "quantity": 1}]
    if kind == "buyer":
        ask = {"orderId": order.id, "kind": "REFUND_ONLY", "reason": "DAMAGED", "lines": line}
        return ASK, {"input": ask}, buyer(order.buyer_id)
    refund = {"orderId": order.id, "lines": line}
    if kind == "agent":
        return REFUND, {"input": {**refund, "reason": "PRICING_ERROR"}}, seller(order.shop_id)
    return PLATFORM_REFUND, {"input": {**refund, "reason": "POLICY_VIOLATION"}}, PLATFORM


async def seed(db: Database, kind: str, shops: list[str]) -> list[Call]:
    delivered = datetime.now(UTC) - timedelta(days=1)
    orders = [
        build_order(
            shop, f"buyer-{uuid.uuid4().hex[:8]}", delivered, state=FulfilmentState.DELIVERED
        )
        for shop in shops
    ]
    await order_store.insert_many(db, orders)
    kinds = [KINDS[n % 3] if kind == "mixed" else kind for n in range(len(orders))]
    return [call_for(k, o) for k, o in zip(kinds, orders, strict=True)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def fire(urls: list[str], calls: list[Call]) -> tuple[list[float], Counter[str]]:
    """Every call at once, alternating between the processes: answer times and error kinds."""
    times: list[float] = []
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=len(calls) + 10)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:

        async def one(n: int, call: Call) -> None:
            document, variables, actor = call
            started = time.monotonic()
            try:
                r = await client.post(
                    urls[n % len(urls)],
                    json={"query": document, "variables": variables},
                    headers=authorization(actor),
                )
                body = r.json()
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                return
            finally:
                times.append(time.monotonic() - started)
            result = (body.get("data") or {}).get("r") or {}
            if result.get("__typename") != "AfterSale":
                codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
                errors[str(result.get("code") or codes or r.status_code)] += 1

        await asyncio.gather(*(one(n, c) for n, c in enumerate(calls)))
    return times, errors


def start_services(uri: str, database: str) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    procs, urls = [], []
    for _ in range(2):
        port = free_port()
        env = dict(
            os.environ,
            MONGODB_URI=uri,
            AFTERSALES_DATABASE=database,
            AFTERSALES_PORT=str(port),
            AFTERSALES_DEMO_DATA="false",
            AFTERSALES_WORKER_ENABLED="false",
            AFTERSALES_LOG_LEVEL="WARNING",
            AFTERSALES_RATE_LIMIT_COST="0",
        )
        procs.append(
            subprocess.Popen([sys.executable, "-m", "api"], env=env, stdout=subprocess.DEVNULL)
        )
        urls.append(f"http://127.0.0.1:{port}/graphql")
    for url in urls:
        for _ in range(300):
            try:
                httpx.get(url.replace("/graphql", "/healthz"), timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
    return procs, urls


def line(label: str, times: list[float], errors: Counter[str]) -> str:
    shown = ", ".join(f"{k} x{v}" for k, v in errors.items()) or "0"
    return (
        f"  {label:24} p50 {percentile(times, 0.5):6.2f} s  p99 {percentile(times, 0.99):6.2f} s"
        f"  max {max(times):6.2f} s  errors {shown}"
    )


async def main(sizes: list[int], kinds: list[str]) -> bool:
    met = True
    with EmbeddedDatabase(":memory:") as server:
        database = "burst"
        db = connect(server.uri, database)
        await ensure_indexes(db)
        procs, urls = start_services(server.uri, database)
        try:
            for n in sizes:
                print(f"N = {n} concurrent writers, two service processes, SecantusDB")
                for kind in kinds:
                    run = uuid.uuid4().hex[:6]
                    spread = await seed(db, kind, [f"shop-{run}-{k}" for k in range(n)])
                    hot = await seed(db, kind, [f"shop-{run}-hot"] * n)
                    spread_times, spread_errors = await fire(urls, spread)
                    hot_times, hot_errors = await fire(urls, hot)
                    ratio = max(hot_times) / max(spread_times)
                    ok = not spread_errors and not hot_errors and ratio <= 3
                    met = met and ok
                    print(f" {kind}:")
                    print(line(f"spread over {n} shops", spread_times, spread_errors))
                    print(line("one shop", hot_times, hot_errors))
                    print(f"  one shop max / spread max: {ratio:.2f}  {'ok' if ok else 'MISSED'}")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait()
            await db.close()
    return met


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, action="append", help="writers (repeatable)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="buyer,agent,platform,mixed")
    args = parser.parse_args()
    chosen = [k for k in args.kinds.split(",") if k]
    sys.exit(0 if asyncio.run(main(args.n or [40, 200], chosen)) else 1)

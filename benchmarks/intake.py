"""Orders per second through the order intake's batch mutation, beside a plain insert_many.

    ./dev run benchmarks.intake                 # 10 batches of 500 orders each side
    ./dev run benchmarks.intake --batches 20

The intake side posts `placeOrders` with 500 new orders (two lines each) as the shop's
integration, through the service's app in process (middleware, GraphQL, validation, the
transaction that writes the orders, their intake records and their events). The baseline
inserts the documents of the same orders (`order_doc`, other ids) with one `insert_many` of 500
into the same `orders` collection, indexes and all. The two alternate batch by batch, so both
see the same database state; the ratio (intake time / baseline time) is what the intake costs
over storing the orders alone. Figures are noisy on a shared machine: read the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.app import create_app
from api.identity import mint_token
from api.settings import default_settings
from benchmarks.scratch import scratch_database
from models.actors import Actor, ActorKind
from models.clock import SystemClock
from models.order_intake import NewLine, PlaceOrder, placed_order
from models.orders import PaymentMethod
from services.bootstrap import build_services
from storage.documents import order_doc

SHOP = "bench-shop"
BATCH = 500
PLACE = """mutation($shop: ID!, $orders: [PlaceOrderInput!]!) {
  placeOrders(input: {shopId: $shop, orders: $orders}) {
    __typename ... on PlaceOrdersPayload { results { __typename } } } }"""


def _order(n: int, placed_at: datetime) -> dict[str, Any]:
    return {
        "externalId": f"EXT-{n:08d}",
        "buyerId": f"buyer-{n % 997}",
        "currency": "USD",
        "lines": [
            {"lineId": "l1", "sku": "SKU-TNT", "title": "Two-Person Tent", "quantity": 1,
             "unitPriceMinor": 12900, "category": "outdoor"},
            {"lineId": "l2", "sku": "SKU-BTL", "title": "Insulated Bottle", "quantity": 2,
             "unitPriceMinor": 2199, "category": "outdoor"},
        ],
        "shippingFeeMinor": 499,
        "paymentMethod": "PREPAID",
        "placedAt": placed_at.isoformat(),
        "paid": True,
    }  # fmt: skip


def _baseline_docs(orders: list[dict[str, Any]], placed_at: datetime) -> list[dict[str, Any]]:
    """The documents the intake stores for these orders, under other ids."""
    docs = []
    for o in orders:
        cmd = PlaceOrder(
            external_id=o["externalId"],
            buyer_id=o["buyerId"],
            currency="USD",
            lines=tuple(
                NewLine(
                    li["lineId"],
                    li["sku"],
                    li["title"],
                    li["quantity"],
                    li["unitPriceMinor"],
                    li["category"],
                )
                for li in o["lines"]
            ),
            shipping_fee_minor=o["shippingFeeMinor"],
            payment_method=PaymentMethod.PREPAID,
            placed_at=placed_at,
            paid=True,
        )
        order = placed_order(
            cmd, "baseline-shop", f"base_{o['externalId']}", frozenset({"outdoor"}), placed_at
        )
        docs.append(order_doc(order))
    return docs


async def run(batches: int, uri: str | None) -> None:
    async with scratch_database(uri, "bench_intake") as db:
        services = await build_services(db, SystemClock())
        app = create_app(services, settings=default_settings(rate_limit_cost=0))
        token = mint_token(Actor(ActorKind.INTEGRATION, "bench", SHOP))
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        intake_s = baseline_s = 0.0
        placed_at = datetime.now(UTC) - timedelta(minutes=5)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            # One warm-up batch each side (caches, index creation), not counted.
            for b in range(-1, batches):
                orders = [_order((b + 1) * BATCH + i, placed_at) for i in range(BATCH)]
                body = {"query": PLACE, "variables": {"shop": SHOP, "orders": orders}}
                started = time.perf_counter()
                response = await client.post("/graphql", json=body, headers=headers)
                took = time.perf_counter() - started
                results = response.json()["data"]["placeOrders"]["results"]
                assert all(r["__typename"] == "OrderPlaced" for r in results), results[:3]
                docs = _baseline_docs(orders, placed_at)
                started = time.perf_counter()
                await db.orders.insert_many(docs, ordered=False)
                base = time.perf_counter() - started
                if b >= 0:
                    intake_s += took
                    baseline_s += base
        n = batches * BATCH
        print(f"orders per batch: {BATCH}, batches: {batches}")
        print(f"intake (placeOrders):  {n / intake_s:8.0f} orders/s  ({intake_s:.2f} s)")
        print(f"baseline (insert_many): {n / baseline_s:8.0f} orders/s  ({baseline_s:.2f} s)")
        print(f"ratio intake / baseline time: {intake_s / baseline_s:.2f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks.intake", description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--mongodb-uri", default=None)
    args = p.parse_args(argv)
    asyncio.run(run(args.batches, args.mongodb_uri))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

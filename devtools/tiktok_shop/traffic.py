"""Paced traffic the stand-in makes by itself, for load: a new order (its type 1 webhook), then
the buyer's cancellation of it (type 11), alternately, one change every 1/rate seconds.

Made in the stand-in's own loop rather than asked for by a client: a client's HTTP call a change
cost more CPU than the change (about 2.3 ms a change in its process, and the stand-in's share
of each call, `./dev run benchmarks.ingest --profile`), taken from the two cores the service and
its database share with the stand-in in a benchmark.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.tiktok_shop.marketplace import Marketplace, Order

ORDER = {"line_items": [{"product_name": "Mug", "sale_price": "12.50"}]}


@dataclass
class Traffic:
    """One run of paced changes; `made` counts the changes made so far."""

    shop_id: str
    rate: float
    count: int
    made: int = 0
    late_ms: float = 0.0  # the most a change started after its time (the loop was busy)
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def view(self) -> dict[str, Any]:
        return {
            "shop_id": self.shop_id,
            "rate": self.rate,
            "count": self.count,
            "made": self.made,
            "done": self.task is not None and self.task.done(),
            "late_ms": round(self.late_ms, 1),
            "error": self.error,
        }


async def run(market: Marketplace, traffic: Traffic) -> None:
    """Change i at `begin + i / rate`; a change that starts late is not made up for by a burst
    beyond what the schedule asks."""
    begin = time.perf_counter()
    order: Order | None = None
    try:
        for i in range(traffic.count):
            wait = begin + i / traffic.rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                traffic.late_ms = max(traffic.late_ms, -wait * 1000)
            if i % 2 == 0:
                order = market.add_order(traffic.shop_id, ORDER)
            else:
                assert order is not None
                market.buyer_cancels(order, "buyer_changed_mind", [])
            traffic.made += 1
    except Exception as exc:  # reported by the control API, not lost in a task
        traffic.error = repr(exc)

"""The changes benchmarks/ingest.py asks of the TikTok stand-in, from a process of its own so
that its HTTP client is not counted as the service's CPU, nor competes with the service's loop
(in the service's process it took a quarter of that process's samples, py-spy).

    python -m benchmarks.standin_changes BASE_URL RATE COUNT

Every 1/RATE seconds, COUNT times, without waiting for the one before: a new order of the
stand-in's shop (its type 1 webhook follows), then the buyer's cancellation of it (type 11),
alternately. Exits 0 when every change was made.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvloop

ORDER = {"line_items": [{"product_name": "Mug", "sale_price": "12.50"}]}


async def paced(rate: float, count: int, make: Callable[[int], Awaitable[None]]) -> None:
    """Starts make(i) every 1/rate seconds without waiting for the previous one."""
    begin = time.perf_counter()
    tasks = []
    for i in range(count):
        if (wait := begin + i / rate - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(make(i)))
    await asyncio.gather(*tasks)


async def changes(base: str, rate: float, count: int) -> None:
    orders: dict[int, asyncio.Future[str]] = {}
    # Calls wait their turn on a semaphore, not in httpx's pool (whose queue costs a scan of
    # every connection each time a call comes or goes, and times out).
    in_flight = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, pool=None)) as client:

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            async with in_flight:
                answer = await client.post(path, json=body)
            answer.raise_for_status()
            return dict(answer.json())

        async def change(i: int) -> None:
            made = orders.setdefault(i - i % 2, asyncio.get_running_loop().create_future())
            if i % 2 == 0:
                made.set_result((await post("/_standin/orders", ORDER))["id"])
            else:
                await post("/_standin/cancellations", {"order_id": await made})

        await paced(rate, count, change)


def main() -> None:
    base, rate, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(changes(base, rate, count))


if __name__ == "__main__":
    main()

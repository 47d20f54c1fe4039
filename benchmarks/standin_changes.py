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
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def change(i: int) -> None:
            made = orders.setdefault(i - i % 2, asyncio.get_running_loop().create_future())
            if i % 2 == 0:
                answer = await client.post("/_standin/orders", json=ORDER)
                answer.raise_for_status()
                made.set_result(answer.json()["id"])
            else:
                body = {"order_id": await made}
                (await client.post("/_standin/cancellations", json=body)).raise_for_status()

        await paced(rate, count, change)


def main() -> None:
    base, rate, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(changes(base, rate, count))


if __name__ == "__main__":
    main()

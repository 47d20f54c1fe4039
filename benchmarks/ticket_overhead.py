"""What the helpdesk ticket costs a request's move (H1), measured against the same move without.

    ./dev run benchmarks.ticket_overhead --n 2000

Seeds N overdue cancellation requests with their tickets in one shop and N without tickets in
another, then lets the platform accept them (C6) in transactions of --batch, alternating one batch
of each shop so both sides see the same machine load. With tickets, each transaction also reads the
batch's tickets (one `$in` on the `request` index) and updates each one; without, the same lookup
finds nothing. Prints both totals and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

from benchmarks.expiry import seed
from benchmarks.scratch import scratch_database
from models.actors import EXPIRY_WORKER
from models.clock import SettableClock
from models.commands import AutoAcceptCancellations
from services.bootstrap import build_services


async def run(args: argparse.Namespace) -> None:
    async with scratch_database(args.mongodb_uri, "bench_tickets") as db:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = SettableClock(start)
        services = await build_services(db, clock)
        shops = {"with tickets": "bench-tickets", "without": "bench-bare"}
        await seed(db, shops["with tickets"], args.n, start, tickets=True)
        await seed(db, shops["without"], args.n, start, tickets=False)
        clock.set(start + timedelta(hours=49))
        ids = {
            name: [
                d["_id"]
                for d in await db.cancellations.find({"shop_id": shop}, {"_id": 1}).to_list(None)
            ]
            for name, shop in shops.items()
        }
        spent = dict.fromkeys(shops, 0.0)
        for i in range(0, args.n, args.batch):
            for name in shops:
                t0 = time.perf_counter()
                batch = AutoAcceptCancellations(tuple(ids[name][i : i + args.batch]))
                done = await services.cancellations.handle(EXPIRY_WORKER, batch)
                spent[name] += time.perf_counter() - t0
                assert len(done) == len(ids[name][i : i + args.batch])
        moved = await db.tickets.count_documents(
            {"shop_id": shops["with tickets"], "status": "RESOLVED"}
        )
        assert moved == args.n, moved
        print(f"requests: {args.n} per side, batch {args.batch}, {os.cpu_count()} cpus")
        for name, s in spent.items():
            print(f"C6 moves {name:13}: {s:7.2f} s  ({args.n / s:6.0f} requests/s)")
        print(f"ratio with/without tickets: {spent['with tickets'] / spent['without']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--mongodb-uri", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""What storing a webhook costs SecantusDB by how many share one insert: the inbox's documents,
with its indexes, inserted as the service does (`Database.keyed`: unnumbered, unordered), one
at a time beside groups of 2, 3, 5 and 10, in alternating rounds on one server, with the
database's CPU a webhook and its ratio to the single inserts of the same round.

    ./dev run benchmarks.inbox_inserts [--rounds 2] [--webhooks 1000]

Each statement costs SecantusDB a share of its own (the command, its session, the collection's
catalog, read again for every insert) besides each document's: `Accepting`
(storage/tiktok_inbox.py) stores the webhooks that come while one is being stored with one
insert.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from benchmarks.stage_times import cpu_seconds, load_average, on_embedded_server
from storage.tiktok_inbox import INBOX_INDEXES

SIZES = (1, 2, 3, 5, 10)


def _webhook(n: int, now: datetime) -> dict[str, Any]:
    data = {"order_id": f"o{n}", "cancel_id": f"c{n}", "cancel_status": "PENDING"}
    return {
        "_id": f"shop/{n}",
        "notification_id": str(n),
        "shop_id": "shop",
        "type": 11,
        "data": data,
        "timestamp": int(now.timestamp()),
        "received_at": now,
        "state": "NEW",
        "attempts": 1,
        "lease_owner": "process/received",
        "lease_until": now,
    }


async def _ms_a_webhook(collection: Any, first: int, count: int, size: int, pid: int) -> float:
    """The database's CPU ms a webhook over `count` webhooks stored `size` to an insert."""
    now = datetime.now(UTC)
    before = cpu_seconds(pid)
    for start in range(first, first + count, size):
        docs = [_webhook(n, now) for n in range(start, min(start + size, first + count))]
        await collection.insert_many(docs, ordered=False)
    return 1000 * (cpu_seconds(pid) - before) / count


async def main_async(uri: str, pid: int, rounds: int, webhooks: int) -> None:
    client = AsyncMongoClient(uri, retryWrites=False)
    name = f"bench_inbox_{int(time.time())}"
    collection = client[name]["tiktok_inbox"]
    try:
        await collection.create_indexes(INBOX_INDEXES)
        print(f"load average before: {load_average()}")
        print("round | " + " | ".join(f"{size:>2} an insert (ratio)" for size in SIZES))
        written = 0
        for round_ in range(1, rounds + 1):
            cells, alone = [], 0.0
            for size in SIZES:
                ms = await _ms_a_webhook(collection, written, webhooks, size, pid)
                written += webhooks
                alone = alone or ms
                cells.append(f"{ms:>7.2f} ms ({ms / alone:4.2f})")
            print(f"{round_:>5} | " + " | ".join(cells))
        print(f"load average after: {load_average()}")
    finally:
        await client.drop_database(name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every group size")
    parser.add_argument("--webhooks", type=int, default=1000, help="webhooks a group size")
    args = parser.parse_args()
    on_embedded_server(lambda uri, pid: main_async(uri, pid, args.rounds, args.webhooks))


if __name__ == "__main__":
    main()

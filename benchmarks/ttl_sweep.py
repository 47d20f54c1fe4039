"""What a TTL index costs on SecantusDB: two servers side by side, each holding the same keys
(idempotency keys' shape, `--keys` of them) by `created_at`, one under a TTL index (a day) and
one under a plain index, each pinged with a read by `_id` every 5 ms for 65 s (the server's TTL
sweep runs every 60 s); the slowest pings of each and their ratio.

    ./dev run benchmarks.ttl_sweep [--keys 10000]

SecantusDB's sweep reads and decodes every document of a collection with a TTL index under its
one storage lock, expired or not, so every other statement waits it out: the service deletes
what expires itself instead (storage/idempotency.py, storage/webhooks.py).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from pymongo import ASCENDING, AsyncMongoClient, IndexModel

from benchmarks.stage_times import load_average

SECONDS = 65.0  # past the first sweep, which comes a minute after the server starts


async def _slowest(uri: str, keys: int, ttl: bool) -> list[float]:
    """The five slowest pings (ms) of a server holding `keys` keys."""
    client = AsyncMongoClient(uri)
    collection = client["bench_ttl"]["idempotency_keys"]
    options = {"expireAfterSeconds": 86400} if ttl else {}
    await collection.create_indexes([IndexModel([("created_at", ASCENDING)], **options)])
    now = datetime.now(UTC)
    for start in range(0, keys, 1000):
        await collection.insert_many(
            [
                {"_id": f"k{n}", "fingerprint": "f" * 64, "result_id": f"r{n}", "created_at": now}
                for n in range(start, min(start + 1000, keys))
            ]
        )
    took = []
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        began = time.perf_counter()
        await client["bench_ttl"]["other"].find_one({"_id": 1})
        took.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.005)
    await client.close()
    return sorted(took, reverse=True)[:5]


async def main_async(plain_uri: str, ttl_uri: str, keys: int) -> None:
    print(f"load average before: {load_average()}")
    plain, ttl = await asyncio.gather(
        _slowest(plain_uri, keys, False), _slowest(ttl_uri, keys, True)
    )
    print(f"{keys:,} keys, the five slowest pings in {SECONDS:.0f} s:")
    print(f"  plain index: {', '.join(f'{ms:.0f}' for ms in plain)} ms")
    print(f"  TTL index:   {', '.join(f'{ms:.0f}' for ms in ttl)} ms")
    print(f"  slowest, TTL over plain: {ttl[0] / plain[0]:.1f}x")
    print(f"load average after: {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=10_000, help="keys each server holds")
    args = parser.parse_args()

    from api.embedded_db import EmbeddedDatabase

    with EmbeddedDatabase(":memory:") as plain, EmbeddedDatabase(":memory:") as ttl:
        asyncio.run(main_async(plain.uri, ttl.uri, args.keys))


if __name__ == "__main__":
    main()

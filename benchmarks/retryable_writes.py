"""What a retryable write costs SecantusDB as they add up: single inserts into an inbox-like
collection numbered as retryable writes (the driver's default) beside the same inserts through
a client with `retryWrites=False` (storage/mongo.py `Database.keyed`), in alternating blocks on
one server, with the database's CPU a write of each block.

    ./dev run benchmarks.retryable_writes [--blocks 8] [--block 1500]

SecantusDB keeps a record of every numbered write for 30 minutes, up to 10,000, and looks
through them all on each numbered write (and sorts them, past 10,000): the numbered inserts'
cost grows with the writes before them, the unnumbered ones' does not. The ratio is numbered
against unnumbered, block by block.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient

from benchmarks.stage_times import cpu_seconds, load_average, on_embedded_server


async def _block(collection: Any, start: int, count: int, db_pid: int) -> float:
    """The database's CPU ms an insert over `count` single inserts."""
    now = datetime.now(UTC)
    before = cpu_seconds(db_pid)
    for i in range(start, start + count):
        doc = {"_id": f"shop/{i}", "state": "NEW", "lease_until": now, "data": {"n": i}}
        await collection.insert_many([doc], ordered=False)
    return 1000 * (cpu_seconds(db_pid) - before) / count


async def main_async(uri: str, db_pid: int, blocks: int, block: int) -> None:
    numbered = AsyncMongoClient(uri)
    unnumbered = AsyncMongoClient(uri, retryWrites=False)
    name = f"bench_retryable_{int(time.time())}"
    try:
        for client in (numbered, unnumbered):
            await client[name]["inbox"].create_index(
                [("state", ASCENDING), ("lease_until", ASCENDING)]
            )
        print(f"load average before: {load_average()}")
        print("numbered writes before | numbered ms an insert | unnumbered | ratio")
        written = 0
        for _ in range(blocks):
            ms = await _block(numbered[name]["inbox"], written, block, db_pid)
            base = await _block(unnumbered[name]["inbox"], written + block, block, db_pid)
            print(f"{written // 2:>22,} | {ms:>21.2f} | {base:>10.2f} | {ms / base:5.2f}")
            written += 2 * block
        print(f"load average after: {load_average()}")
    finally:
        await numbered.drop_database(name)
        await numbered.close()
        await unnumbered.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=8, help="blocks of each kind")
    parser.add_argument("--block", type=int, default=1500, help="inserts a block")
    args = parser.parse_args()
    on_embedded_server(lambda uri, pid: main_async(uri, pid, args.blocks, args.block))


if __name__ == "__main__":
    main()

"""How the TikTok inbox's claim costs on SecantusDB as the inbox grows: one findAndModify (the
way it was) against a read by index and an update of what it read (the way it is), same run,
same data.

    ./dev run benchmarks.tiktok_claims                # inboxes of 100, 1,000 and 3,000 webhooks
    ./dev run benchmarks.tiktok_claims --sizes 500 5000 --claims 50

Here all but 50 are handled (DONE) and 50 wait (NEW), as when the inbox kept every webhook of
the replay window (it now deletes a handled one: storage/tiktok_inbox.py), and each size is
claimed `--claims` times both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, ReturnDocument

from api.embedded_db import EmbeddedDatabase
from storage import tiktok_inbox as inbox
from storage.mongo import Database, connect

WAITING = 50
LEASE = timedelta(seconds=30)


async def fill(db: Database, size: int) -> None:
    now = datetime.now(UTC)
    await inbox.collection(db).delete_many({})
    await inbox.collection(db).insert_many(
        {
            "_id": f"shop/{n}",
            "notification_id": str(n),
            "shop_id": "shop",
            "type": 11,
            "data": {"cancel_id": str(n)},
            "timestamp": 0,
            "received_at": now + timedelta(milliseconds=n),
            "state": inbox.NEW if n >= size - WAITING else inbox.DONE,
            "attempts": 0,
            "lease_until": None,
        }
        for n in range(size)
    )


async def find_and_modify(db: Database, now: datetime) -> None:
    """The claim as one findAndModify, as it was."""
    await inbox.collection(db).find_one_and_update(
        {"state": inbox.NEW, "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]},
        {"$set": {"lease_owner": "bench", "lease_until": now + LEASE}, "$inc": {"attempts": 1}},
        sort=[("received_at", ASCENDING)],
        return_document=ReturnDocument.AFTER,
    )


async def read_then_update(db: Database, now: datetime) -> None:
    """The claim as it is (one webhook's worth: a worker's batch claims up to 50 the same way)."""
    await inbox.claim_batch(db, "bench", now, LEASE, 1)


async def timed(db: Database, size: int, claims: int, way: object) -> float:
    """Milliseconds a claim, over `claims` claims of a freshly filled inbox."""
    await fill(db, size)
    started = time.perf_counter()
    for _ in range(claims):
        await way(db, datetime.now(UTC))  # type: ignore[operator]
    return (time.perf_counter() - started) / claims * 1000


async def main(sizes: list[int], claims: int) -> None:
    with EmbeddedDatabase(":memory:") as server:
        db = connect(server.uri, "tiktok_claims")
        await inbox.collection(db).create_indexes(inbox.INBOX_INDEXES)
        print(f"{'inbox':>7} {'findAndModify ms':>17} {'read+update ms':>15} {'ratio':>6}")
        for size in sizes:
            before = await timed(db, size, min(claims, WAITING), find_and_modify)
            after = await timed(db, size, min(claims, WAITING), read_then_update)
            print(f"{size:>7} {before:>17.1f} {after:>15.1f} {before / after:>5.1f}x")
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--claims", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.claims))

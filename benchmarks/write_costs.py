"""What a write costs on the database under the benchmarks: per document, per statement, per index.

    ./dev run benchmarks.write_costs            # 2,000 documents per case
    ./dev run benchmarks.write_costs --n 5000 --cases update_many,bulk_update

Each case writes N small documents of one collection in one way and prints the time per
document; cases with the same shape differ in one thing (how the change is sent, how many
indexes the collection has, inside a transaction or not), so their difference is that thing's
cost. Figures are noisy on a shared machine: read them against each other, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, ReplaceOne, UpdateOne

from benchmarks.scratch import scratch_database
from storage.mongo import Database

Case = Callable[[Database, int], Awaitable[float]]


def _doc(i: int) -> dict[str, Any]:
    return {
        "_id": f"d_{i:07d}",
        "shop_id": "shop-1",
        "buyer_id": f"buyer-{i % 500}",
        "status": "PENDING",
        "tabs": ["ALL", "TO_PROCEED"],
        "k": f"2026-11-22T00:00:00|d_{i:07d}",
        "payload": "x" * 600,
        "timeline": [{"at": i, "action": "REQUEST"}],
        "version": 0,
    }


def _indexes(kind: str, count: int) -> list[IndexModel]:
    """`count` indexes of one kind: plain (scalar fields), multikey (over the two-entry `tabs`
    array), unique (on `k`) or partial (only PENDING documents)."""
    if kind == "plain":
        fields = ["shop_id", "buyer_id", "status", "k"]
        return [
            IndexModel(
                [(fields[i % 4], ASCENDING), ("k", ASCENDING), (f"x{i}", ASCENDING)],
                name=f"plain_{i}",
            )
            for i in range(count)
        ]
    if kind == "multikey":
        return [
            IndexModel(
                [("shop_id", ASCENDING), ("tabs", ASCENDING), ("k", ASCENDING), (f"x{i}", 1)],
                name=f"multikey_{i}",
            )
            for i in range(count)
        ]
    if kind == "unique":
        return [IndexModel([("k", ASCENDING)], name="unique_k", unique=True)]
    if kind == "partial":
        return [
            IndexModel(
                [("status", ASCENDING), ("k", ASCENDING)],
                name="partial",
                partialFilterExpression={"status": "PENDING"},
            )
        ]
    raise ValueError(kind)


async def _fresh(db: Database, n: int, indexes: list[IndexModel]) -> Any:
    coll = db.db[f"c_{time.perf_counter_ns()}"]
    if indexes:
        await coll.create_indexes(indexes)
    if n:
        await coll.insert_many([_doc(i) for i in range(n)], ordered=False)
    elif not indexes:  # an insert case starts empty, its collection made outside the timing
        await db.db.create_collection(coll.name)
    return coll


CHANGE = {
    "$set": {"status": "DONE", "tabs": ["ALL", "COMPLETED"]},
    "$push": {"timeline": {"at": 1, "action": "AUTO"}},
    "$inc": {"version": 1},
}


def _replaced(i: int) -> dict[str, Any]:
    d = _doc(i)
    d.update(
        status="DONE",
        tabs=["ALL", "COMPLETED"],
        timeline=[*d["timeline"], {"at": 1, "action": "AUTO"}],
        version=1,
    )
    return d


def update_case(how: str, indexes: list[IndexModel], in_txn: bool, batch: int = 500) -> Case:
    """Time one change to N documents: `update_many` over all of them (one statement), or
    `bulk` (one UpdateOne per document, `batch` per round trip), or `replace` (ReplaceOne)."""

    async def run(db: Database, n: int) -> float:
        coll = await _fresh(db, n, indexes)
        ids = [f"d_{i:07d}" for i in range(n)]
        t0 = time.perf_counter()
        for start in range(0, n, batch if how != "update_many" else n):
            chunk = range(start, min(n, start + batch)) if how != "update_many" else range(n)

            async def write(session: Any, chunk: range = chunk) -> None:
                if how == "update_many":
                    await coll.update_many({"shop_id": "shop-1"}, CHANGE, session=session)
                elif how == "update_many_in":
                    await coll.update_many(
                        {"_id": {"$in": [ids[i] for i in chunk]}}, CHANGE, session=session
                    )
                elif how == "bulk":
                    ops = [UpdateOne({"_id": ids[i]}, CHANGE) for i in chunk]
                    await coll.bulk_write(ops, ordered=False, session=session)
                elif how == "replace":
                    ops = [ReplaceOne({"_id": ids[i]}, _replaced(i)) for i in chunk]
                    await coll.bulk_write(ops, ordered=False, session=session)

            if in_txn:
                await db.transaction(write)
            else:
                await write(None)
        return time.perf_counter() - t0

    return run


def insert_case(indexes: list[IndexModel], in_txn: bool, batch: int = 500) -> Case:
    async def run(db: Database, n: int) -> float:
        coll = await _fresh(db, 0, indexes)
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            docs = [_doc(i) for i in range(start, min(n, start + batch))]

            async def write(session: Any, docs: list[dict[str, Any]] = docs) -> None:
                await coll.bulk_write([InsertOne(d) for d in docs], session=session)

            if in_txn:
                await db.transaction(write)
            else:
                await write(None)
        return time.perf_counter() - t0

    return run


CASES: dict[str, Case] = {
    # How the change is sent (no secondary index, in transactions of 500 but update_many).
    "update_many": update_case("update_many", [], in_txn=False),
    "update_many_in_txn": update_case("update_many_in", [], in_txn=True),
    "bulk_update_in_txn": update_case("bulk", [], in_txn=True),
    "bulk_update_no_txn": update_case("bulk", [], in_txn=False),
    "bulk_replace_in_txn": update_case("replace", [], in_txn=True),
    # What each index adds to a bulk update in a transaction.
    "bulk_update_1_plain": update_case("bulk", _indexes("plain", 1), in_txn=True),
    "bulk_update_4_plain": update_case("bulk", _indexes("plain", 4), in_txn=True),
    "bulk_update_8_plain": update_case("bulk", _indexes("plain", 8), in_txn=True),
    "bulk_update_4_multikey": update_case("bulk", _indexes("multikey", 4), in_txn=True),
    "bulk_update_8_multikey": update_case("bulk", _indexes("multikey", 8), in_txn=True),
    "bulk_update_unique": update_case("bulk", _indexes("unique", 1), in_txn=True),
    "bulk_update_partial": update_case("bulk", _indexes("partial", 1), in_txn=True),
    "update_many_8_multikey": update_case("update_many", _indexes("multikey", 8), in_txn=False),
    "update_many_in_8_multikey": update_case(
        "update_many_in", _indexes("multikey", 8), in_txn=True
    ),
    # Inserts.
    "insert_in_txn": insert_case([], in_txn=True),
    "insert_in_txn_1_unique": insert_case(_indexes("unique", 1), in_txn=True),
    "insert_in_txn_4_plain": insert_case(_indexes("plain", 4), in_txn=True),
}


async def run(args: argparse.Namespace) -> None:
    names = args.cases.split(",") if args.cases else list(CASES)
    async with scratch_database(args.mongodb_uri, "bench_write_costs") as db:
        print(f"{'case':<28}{'docs':>7}{'seconds':>9}{'ms/doc':>9}")
        for name in names:
            for _ in range(args.repeat):
                seconds = await CASES[name](db, args.n)
                print(f"{name:<28}{args.n:>7}{seconds:>9.2f}{1000 * seconds / args.n:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="documents per case")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case")
    parser.add_argument("--cases", default="", help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--mongodb-uri", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

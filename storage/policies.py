"""Category policies (Y1): a document per category that sets its own windows."""

from __future__ import annotations

from collections.abc import Iterable

from models.policy import CategoryPolicy, PolicyBook
from storage.mongo import Database, Session


async def book_for(
    db: Database, categories: Iterable[str], session: Session | None = None
) -> PolicyBook:
    wanted = sorted(set(categories))
    docs = await db.category_policies.find({"_id": {"$in": wanted}}, session=session).to_list(None)
    return PolicyBook({d["_id"]: CategoryPolicy.from_seconds(d["policy"]) for d in docs})


async def put(db: Database, category: str, policy: CategoryPolicy) -> None:
    await db.category_policies.replace_one(
        {"_id": category},
        {"_id": category, "listed": True, "policy": policy.to_seconds()},
        upsert=True,
    )


async def all_policies(db: Database) -> dict[str, CategoryPolicy]:
    """Every category that sets its own policy, by name (the `_id` index, in order)."""
    # An equality on `listed` (the `listed` index): SecantusDB scans for an empty filter.
    found = db.category_policies.find({"listed": True}).sort([("_id", 1)])
    docs = await found.to_list(None)
    return {d["_id"]: CategoryPolicy.from_seconds(d["policy"]) for d in docs}

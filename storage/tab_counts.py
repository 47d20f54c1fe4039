"""Per-shop tab counters, moved in the same transaction as the request they count.

Counting a tab by scanning grows with the shop; a counter read is one document whatever the size.
A test recounts after racing decisions to prove the counters never drift.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from enum import Enum

from storage.mongo import Database, Session


def _key(shop_id: str, section: str) -> str:
    return f"{shop_id}:{section}"


Move = tuple[str, Enum | None, Enum]  # shop, from tab (None: a new request), to tab


async def move(db: Database, section: str, moves: list[Move], session: Session) -> None:
    """Apply request moves to the counters: one update per shop, however many moves."""
    per_shop: dict[str, Counter[str]] = defaultdict(Counter)
    for shop_id, from_tab, to_tab in moves:
        if from_tab == to_tab:
            continue
        per_shop[shop_id][to_tab.value] += 1
        if from_tab is not None:
            per_shop[shop_id][from_tab.value] -= 1
    for shop_id, inc in sorted(per_shop.items()):
        changes = {f"tabs.{tab}": n for tab, n in inc.items() if n}
        if not changes:
            continue
        await db.tab_counts.update_one(
            {"_id": _key(shop_id, section)},
            {"$inc": changes, "$setOnInsert": {"shop_id": shop_id, "section": section}},
            upsert=True,
            session=session,
        )


async def read(db: Database, shop_id: str, section: str) -> dict[str, int]:
    doc = await db.tab_counts.find_one({"_id": _key(shop_id, section)})
    return dict(doc["tabs"]) if doc else {}

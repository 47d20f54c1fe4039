"""Per-shop tab counters, moved in the same transaction as the request they count.

Counting a tab by scanning grows with the shop; a counter read is one document whatever the size.
A test recounts after racing decisions to prove the counters never drift.
"""

from __future__ import annotations

from enum import Enum

from storage.mongo import Database, Session


def _key(shop_id: str, section: str) -> str:
    return f"{shop_id}:{section}"


async def move(
    db: Database,
    shop_id: str,
    section: str,
    from_tab: Enum | None,
    to_tab: Enum,
    session: Session,
) -> None:
    if from_tab == to_tab:
        return
    inc = {f"tabs.{to_tab.value}": 1}
    if from_tab is not None:
        inc[f"tabs.{from_tab.value}"] = -1
    await db.tab_counts.update_one(
        {"_id": _key(shop_id, section)},
        {"$inc": inc, "$setOnInsert": {"shop_id": shop_id, "section": section}},
        upsert=True,
        session=session,
    )


async def read(db: Database, shop_id: str, section: str) -> dict[str, int]:
    doc = await db.tab_counts.find_one({"_id": _key(shop_id, section)})
    return dict(doc["tabs"]) if doc else {}

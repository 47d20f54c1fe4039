"""Per-shop tab counters, moved in the same transaction as the request they count.

Counting a tab by scanning grows with the shop; a counter read is one document whatever the size.
A test recounts after racing decisions to prove the counters never drift.

A counter is the shop's hottest document: every write of the shop moves it. Inside a transaction
run by `Database.transaction` the moves are gathered and written once per shop, last, just before
the commit (with the event sequence, storage/events.py), so a transaction holds it for the
fewest round trips: another process's write of the shop conflicts only with that short tail, and
a process killed mid-transaction leaves it held (until the database's transaction lifetime ends)
only when it died in that tail.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from enum import Enum

from storage.mongo import BeforeCommit, Database, Session


def _key(shop_id: str, section: str) -> str:
    return f"{shop_id}:{section}"


Move = tuple[str, Enum | None, Enum]  # shop, from tab (None: a new request), to tab


class _Gathered(BeforeCommit):
    def __init__(self) -> None:
        self.per_key: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)

    async def flush(self, db: Database, session: Session) -> None:
        for (shop_id, section), inc in sorted(self.per_key.items()):
            changes = {f"tabs.{tab}": n for tab, n in inc.items() if n}
            if not changes:
                continue
            await db.tab_counts.update_one(
                {"_id": _key(shop_id, section)},
                {"$inc": changes, "$setOnInsert": {"shop_id": shop_id, "section": section}},
                upsert=True,
                session=session,
            )


async def move(db: Database, section: str, moves: list[Move], session: Session) -> None:
    """Apply request moves to the counters: one update per shop, however many moves (gathered
    until the commit in a transaction `db` runs; at once otherwise)."""
    gathered = db.before_commit(session, _Gathered)
    now = gathered or _Gathered()
    for shop_id, from_tab, to_tab in moves:
        if from_tab == to_tab:
            continue
        now.per_key[shop_id, section][to_tab.value] += 1
        if from_tab is not None:
            now.per_key[shop_id, section][from_tab.value] -= 1
    if gathered is None:
        await now.flush(db, session)


async def read(db: Database, shop_id: str, section: str) -> dict[str, int]:
    doc = await db.tab_counts.find_one({"_id": _key(shop_id, section)})
    return dict(doc["tabs"]) if doc else {}

"""Category policies (Y1): a document per category that sets its own windows; and the business
calendar (Y2), one document beside them under an id no category may take."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from models.policy import BusinessCalendar, CategoryPolicy, PolicyBook
from storage.batch_writes import read_once
from storage.mongo import Database, Session

# Read with the categories' policies in the same query: a request's deadline needs both.
CALENDAR_ID = "*calendar"


def calendar_doc(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "weekend": sorted(calendar.weekend),
        "holidays": sorted(d.isoformat() for d in calendar.holidays),
    }


def calendar_from(d: dict[str, Any]) -> BusinessCalendar:
    return BusinessCalendar(
        frozenset(d["weekend"]), frozenset(date.fromisoformat(x) for x in d["holidays"])
    )


async def book_for(
    db: Database, categories: Iterable[str], session: Session | None = None
) -> PolicyBook:
    wanted = [*sorted(set(categories)), CALENDAR_ID]

    async def read() -> list[dict[str, Any]]:
        found = db.category_policies.find({"_id": {"$in": wanted}}, session=session)
        return await found.to_list(None)

    docs = await read_once(db, session, ("policies", *wanted), read)
    calendar = next((calendar_from(d["calendar"]) for d in docs if d["_id"] == CALENDAR_ID), None)
    found = {d["_id"]: CategoryPolicy.from_seconds(d["policy"]) for d in docs if "policy" in d}
    return PolicyBook(found) if calendar is None else PolicyBook(found, calendar=calendar)


async def put(db: Database, category: str, policy: CategoryPolicy) -> None:
    await db.category_policies.replace_one(
        {"_id": category},
        {"_id": category, "listed": True, "policy": policy.to_seconds()},
        upsert=True,
    )


async def put_calendar(db: Database, calendar: BusinessCalendar) -> None:
    await db.category_policies.replace_one(
        {"_id": CALENDAR_ID},
        {"_id": CALENDAR_ID, "listed": False, "calendar": calendar_doc(calendar)},
        upsert=True,
    )


async def all_policies(db: Database) -> dict[str, CategoryPolicy]:
    """Every category that sets its own policy, by name (the `_id` index, in order)."""
    # An equality on `listed` (the `listed` index): SecantusDB scans for an empty filter.
    found = db.category_policies.find({"listed": True}).sort([("_id", 1)])
    docs = await found.to_list(None)
    return {d["_id"]: CategoryPolicy.from_seconds(d["policy"]) for d in docs}

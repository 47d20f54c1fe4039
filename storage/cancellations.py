"""Cancellation requests in MongoDB: one document each, its timeline embedded."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from models.access import Scope
from models.cancellations import Cancellation, CancellationTab
from storage.bounds import time_range
from storage.documents import cancellation_doc, cancellation_from
from storage.mongo import ConcurrentUpdate, Database, Session
from storage.pagination import Page, SortOrder, fetch_page

SORTS = {
    "NEWEST": SortOrder("NEWEST", "requested_at", -1),
    "OLDEST": SortOrder("OLDEST", "requested_at", 1),
    "DEADLINE_SOONEST": SortOrder("DEADLINE_SOONEST", "deadline_key", 1),
}


@dataclass(frozen=True)
class CancellationFilter:
    order_id: str | None = None
    buyer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def list_query(scope: Scope, tab: CancellationTab | None, f: CancellationFilter) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if scope.shop_id:
        query["shop_id"] = scope.shop_id
    if scope.buyer_id:
        query["buyer_id"] = scope.buyer_id
    if f.buyer_id:
        if scope.buyer_id and f.buyer_id != scope.buyer_id:
            query["buyer_id"] = {"$in": []}  # a buyer filtering on someone else sees nothing
        else:
            query["buyer_id"] = f.buyer_id
    if tab is not None:
        query["tab"] = tab.value
    if f.order_id:
        query["order_id"] = f.order_id
    if f.created_from or f.created_to:
        query["requested_at"] = time_range(at_or_after=f.created_from, before=f.created_to)
    return query


async def get(
    db: Database, cancellation_id: str, session: Session | None = None
) -> Cancellation | None:
    doc = await db.cancellations.find_one({"_id": cancellation_id}, session=session)
    return cancellation_from(doc) if doc else None


async def insert(db: Database, c: Cancellation, session: Session) -> Cancellation:
    await db.cancellations.insert_one(cancellation_doc(c), session=session)
    return c


async def save(
    db: Database, c: Cancellation, expected_version: int, session: Session
) -> Cancellation:
    """Compare-and-set on the version read: a decision lands only on the state it was made from."""
    saved = replace(c, version=expected_version + 1)
    result = await db.cancellations.replace_one(
        {"_id": c.id, "version": expected_version}, cancellation_doc(saved), session=session
    )
    if result.matched_count != 1:
        raise ConcurrentUpdate(c.id)
    return saved


async def page(
    db: Database,
    scope: Scope,
    tab: CancellationTab | None,
    f: CancellationFilter,
    sort: str,
    first: int,
    after: str | None,
) -> tuple[list[Cancellation], Page]:
    result = await fetch_page(
        db.cancellations, list_query(scope, tab, f), SORTS[sort], first, after
    )
    return [cancellation_from(d) for d in result.docs], result


async def for_order(db: Database, order_id: str) -> list[Cancellation]:
    docs = (
        await db.cancellations.find({"order_id": order_id})
        .sort([("requested_at", -1), ("_id", -1)])
        .to_list(None)
    )
    return [cancellation_from(d) for d in docs]


async def count(db: Database, scope: Scope, tab: CancellationTab, f: CancellationFilter) -> int:
    return await db.cancellations.count_documents(list_query(scope, tab, f))


async def due_for_auto_accept(db: Database, now: datetime, limit: int) -> list[str]:
    """Pending requests whose response window has closed (served by the partial index)."""
    docs = (
        await db.cancellations.find(
            {"status": "PENDING", "respond_by": time_range(at_or_before=now)}, {"_id": 1}
        )
        .sort([("respond_by", 1)])
        .limit(limit)
        .to_list(None)
    )
    return [d["_id"] for d in docs]

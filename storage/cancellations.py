"""Cancellation requests in MongoDB: one document each, its timeline embedded
(the reads and writes every kind shares: storage/request_store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from models.access import Scope
from models.cancellations import Cancellation, CancellationTab
from storage.documents import cancellation_doc, cancellation_from
from storage.keys import ALL
from storage.mongo import Database
from storage.pagination import Page, SortOrder
from storage.request_store import SORTS, RequestStore, list_prefix

__all__ = ["SORTS"]

REQUESTS: RequestStore[Cancellation] = RequestStore(
    "cancellations", cancellation_doc, cancellation_from
)
get = REQUESTS.get
get_many = REQUESTS.get_many
insert_many = REQUESTS.insert_many
save_many = REQUESTS.save_many
count_for_buyer = REQUESTS.count_for_buyer


@dataclass(frozen=True)
class CancellationFilter:
    order_id: str | None = None
    buyer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def list_query(
    scope: Scope, tab: CancellationTab | None, f: CancellationFilter, sort: SortOrder
) -> dict[str, Any]:
    """Equality on who and which tab, one range on the sort key (storage/keys.py)."""
    tabs = tab.value if tab else ALL
    return list_prefix(scope, f.order_id, f.buyer_id, tabs, sort, f.created_from, f.created_to)


async def page(
    db: Database,
    scope: Scope,
    tab: CancellationTab | None,
    f: CancellationFilter,
    sort: str,
    first: int,
    after: str | None,
) -> tuple[list[Cancellation], Page]:
    order = SORTS[sort]
    return await REQUESTS.page(
        db, list_query(scope, tab, f, order), scope, f.buyer_id, order, first, after
    )


async def for_order(db: Database, order_id: str) -> list[Cancellation]:
    docs = (
        await db.cancellations.find({"order_id": order_id, "tabs": ALL})
        .sort(SORTS["NEWEST"].spec)
        .to_list(None)
    )
    return [cancellation_from(d) for d in docs]


async def count(db: Database, scope: Scope, tab: CancellationTab, f: CancellationFilter) -> int:
    query = list_query(scope, tab, f, SORTS["NEWEST"])
    return await REQUESTS.count(db, query, scope, f.buyer_id)


async def due_for_auto_accept(
    db: Database, now: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """Ids and deadlines of pending requests whose response window has closed, oldest first
    (the partial `pending_due` index)."""
    # `< now + 1 ms` is `<= now` for millisecond BSON times, and a strict upper bound is read
    # right by SecantusDB, which drops an inclusive bound at the end of an index scan.
    due = {"$lt": now + timedelta(milliseconds=1)}
    found = db.cancellations.find({"status": "PENDING", "respond_by": due}, {"respond_by": 1})
    docs = await found.sort([("respond_by", 1)]).limit(limit).to_list(None)
    return [(d["_id"], d["respond_by"]) for d in docs]

"""After-sale requests in MongoDB: one document each, its timeline embedded.

The same shapes as storage/cancellations.py: every list query is an equality prefix (shop, buyer
or order; the `tabs` value, which also carries the kind) plus one range on one sort key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from models.access import Scope
from models.after_sales import (
    AfterSaleKind,
    AfterSaleRequest,
    AfterSaleStatus,
    AfterSaleTab,
)
from models.errors import ValidationFailed
from storage.after_sale_documents import after_sale_doc, after_sale_from, tab_key
from storage.documents import changes_between
from storage.keys import ALL, time_bounds
from storage.mongo import ConcurrentUpdate, Database, Session, find_by_ids
from storage.pagination import Page, SortOrder, fetch_page

SORTS = {
    "NEWEST": SortOrder("NEWEST", "k_requested", -1),
    "OLDEST": SortOrder("OLDEST", "k_requested", 1),
    "DEADLINE_SOONEST": SortOrder("DEADLINE_SOONEST", "k_deadline", 1),
}


@dataclass(frozen=True)
class AfterSaleFilter:
    kind: AfterSaleKind | None = None
    order_id: str | None = None
    buyer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    deadline_before: datetime | None = None


def list_query(
    scope: Scope, tab: AfterSaleTab | None, f: AfterSaleFilter, sort: SortOrder
) -> dict[str, Any]:
    """Equality on who and which tab (and kind), one range on the sort key (storage/keys.py).

    "Created between" is a range on the creation key, so it goes with NEWEST or OLDEST;
    "deadline before" is a range on the deadline key, so it goes with DEADLINE_SOONEST.
    """
    query: dict[str, Any] = {}
    if f.order_id:
        query["order_id"] = f.order_id
    else:
        if scope.shop_id:
            query["shop_id"] = scope.shop_id
        buyer_id = scope.buyer_id or f.buyer_id
        if buyer_id:
            query["buyer_id"] = buyer_id
    query["tabs"] = tab_key(tab.value if tab else ALL, f.kind)
    if f.created_from or f.created_to:
        if sort.key != "k_requested":
            raise ValidationFailed(
                "a created-between filter sorts by NEWEST or OLDEST", field="sort"
            )
        if f.deadline_before:
            raise ValidationFailed(
                "filter by created between or by deadline before, not both", field="filter"
            )
        query["k_requested"] = time_bounds(f.created_from, f.created_to)
    if f.deadline_before:
        if sort.key != "k_deadline":
            raise ValidationFailed(
                "a deadline-before filter sorts by DEADLINE_SOONEST", field="sort"
            )
        query["k_deadline"] = time_bounds(None, f.deadline_before)
    return query


def in_scope(doc: dict[str, Any], scope: Scope, f: AfterSaleFilter) -> bool:
    return (
        (not scope.shop_id or doc["shop_id"] == scope.shop_id)
        and (not scope.buyer_id or doc["buyer_id"] == scope.buyer_id)
        and (not f.buyer_id or doc["buyer_id"] == f.buyer_id)
    )


async def get(
    db: Database, request_id: str, session: Session | None = None
) -> AfterSaleRequest | None:
    doc = await db.after_sales.find_one({"_id": request_id}, session=session)
    return after_sale_from(doc) if doc else None


async def get_many(
    db: Database, ids: list[str], session: Session | None = None
) -> list[AfterSaleRequest]:
    docs = await find_by_ids(db.after_sales, ids, session)
    return [after_sale_from(d) for d in docs]


async def for_orders(
    db: Database, order_ids: list[str], session: Session | None = None
) -> dict[str, list[AfterSaleRequest]]:
    """Every request of these orders, oldest first (the order index, tab ALL)."""
    out: dict[str, list[AfterSaleRequest]] = {o: [] for o in order_ids}
    for order_id in order_ids:
        docs = (
            await db.after_sales.find({"order_id": order_id, "tabs": ALL}, session=session)
            .sort(SORTS["OLDEST"].spec)
            .to_list(None)
        )
        out[order_id] = [after_sale_from(d) for d in docs]
    return out


async def insert_many(db: Database, created: list[AfterSaleRequest], session: Session) -> None:
    if created:
        await db.after_sales.insert_many([after_sale_doc(r) for r in created], session=session)


async def save_many(
    db: Database, changes: list[tuple[AfterSaleRequest, AfterSaleRequest]], session: Session
) -> list[AfterSaleRequest]:
    """Each request from the state it was decided on (`before`, read in this transaction) to
    `after`: the transaction is the compare-and-set (see storage/cancellations.save_many)."""
    saved = [replace(after, version=before.version + 1) for before, after in changes]
    ops = [
        UpdateOne(
            {"_id": before.id}, changes_between(after_sale_doc(before), after_sale_doc(after))
        )
        for (before, _), after in zip(changes, saved, strict=True)
    ]
    if ops:
        result = await db.after_sales.bulk_write(ops, ordered=False, session=session)
        if result.matched_count != len(ops):
            raise ConcurrentUpdate("batch")
    return saved


async def page(
    db: Database,
    scope: Scope,
    tab: AfterSaleTab | None,
    f: AfterSaleFilter,
    sort: str,
    first: int,
    after: str | None,
) -> tuple[list[AfterSaleRequest], Page]:
    order = SORTS[sort]
    result = await fetch_page(db.after_sales, list_query(scope, tab, f, order), order, first, after)
    if f.order_id and not all(in_scope(d, scope, f) for d in result.docs):
        result = Page([], False, [])
    return [after_sale_from(d) for d in result.docs], result


async def count(db: Database, scope: Scope, tab: AfterSaleTab | None, f: AfterSaleFilter) -> int:
    sort = SORTS["DEADLINE_SOONEST"] if f.deadline_before else SORTS["NEWEST"]
    query = list_query(scope, tab, f, sort)
    if f.order_id:
        docs = await db.after_sales.find(query, {"shop_id": 1, "buyer_id": 1}).to_list(None)
        return sum(1 for d in docs if in_scope(d, scope, f))
    return await db.after_sales.count_documents(query)


async def count_for_buyer(
    db: Database, shop_id: str, buyer_id: str, since: datetime, before: datetime
) -> int:
    """The buyer's after-sale requests (every kind) at the shop requested in [since, before)
    (the `shop_buyer` index: equality on shop, buyer and ALL, one range on the time key); the
    helpdesk's rule conditions count them with the buyer's cancellations (H2)."""
    query = {
        "shop_id": shop_id,
        "buyer_id": buyer_id,
        "tabs": ALL,
        "k_requested": time_bounds(since, before),
    }
    return await db.after_sales.count_documents(query)


async def due(
    db: Database, status: AfterSaleStatus, now: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """Ids and deadlines of requests in `status` whose deadline has passed, oldest first
    (the `status_deadline` index: one equality, one range)."""
    # `< now + 1 ms` is `<= now` for millisecond BSON times (see cancellations.due_for_auto_accept).
    bound = {"$lt": now + timedelta(milliseconds=1)}
    found = db.after_sales.find({"status": status.value, "deadline": bound}, {"deadline": 1})
    docs = await found.sort([("deadline", 1)]).limit(limit).to_list(None)
    return [(d["_id"], d["deadline"]) for d in docs]

"""Orders in MongoDB."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from models.access import Scope
from models.orders import FulfilmentState, Order
from storage.documents import changes_between, order_doc, order_from
from storage.keys import ALL, time_bounds
from storage.mongo import ConcurrentUpdate, Database, Session, find_by_ids
from storage.pagination import Page, SortOrder, fetch_page

NEWEST = SortOrder("NEWEST", "k_placed", -1)


@dataclass(frozen=True)
class OrderFilter:
    fulfilment_state: FulfilmentState | None = None
    buyer_id: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None


async def get(db: Database, order_id: str, session: Session | None = None) -> Order | None:
    doc = await db.orders.find_one({"_id": order_id}, session=session)
    return order_from(doc) if doc else None


async def get_many(
    db: Database, order_ids: list[str], session: Session | None = None
) -> dict[str, Order]:
    docs = await find_by_ids(db.orders, order_ids, session)
    return {d["_id"]: order_from(d) for d in docs}


async def insert_many(db: Database, orders: list[Order]) -> None:
    if orders:
        await db.orders.insert_many([order_doc(o) for o in orders], ordered=False)


def list_query(scope: Scope, f: OrderFilter) -> dict[str, Any]:
    """Equality on who and which state, one range on the sort key (storage/keys.py)."""
    query: dict[str, Any] = {}
    if scope.shop_id:
        query["shop_id"] = scope.shop_id
    buyer_id = scope.buyer_id or f.buyer_id
    if buyer_id:
        query["buyer_id"] = buyer_id
    query["states"] = f.fulfilment_state.value if f.fulfilment_state else ALL
    if f.placed_from or f.placed_to:
        query["k_placed"] = time_bounds(f.placed_from, f.placed_to)
    return query


async def page(
    db: Database, scope: Scope, f: OrderFilter, first: int, after: str | None
) -> tuple[list[Order], Page]:
    result = await fetch_page(db.orders, list_query(scope, f), NEWEST, first, after)
    return [order_from(d) for d in result.docs], result


async def due_for_payment_cancel(
    db: Database, now: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """Ids and deadlines of unpaid orders whose payment window has closed, oldest first
    (the partial `unpaid_due` index)."""
    # `< now + 1 ms` is `<= now` for millisecond BSON times (see due_for_auto_accept).
    due = {"$lt": now + timedelta(milliseconds=1)}
    found = db.orders.find(
        {"fulfilment_state": "UNPAID", "payment_due_at": due}, {"payment_due_at": 1}
    )
    docs = await found.sort([("payment_due_at", 1)]).limit(limit).to_list(None)
    return [(d["_id"], d["payment_due_at"]) for d in docs]


async def save_many(db: Database, changes: list[tuple[Order, Order]], session: Session) -> None:
    """Each order from `before` (read in this transaction) to `after`: see
    cancellations.save_many for why the transaction is the compare-and-set."""
    ops = [
        UpdateOne(
            {"_id": before.id},
            changes_between(
                order_doc(before), order_doc(replace(after, version=before.version + 1))
            ),
        )
        for before, after in changes
    ]
    if ops:
        result = await db.orders.bulk_write(ops, ordered=False, session=session)
        if result.matched_count != len(ops):
            raise ConcurrentUpdate("batch")


async def save(db: Database, before: Order, after: Order, session: Session) -> Order:
    """Compare-and-set on the version read: the change lands only on the state it was made from."""
    await save_many(db, [(before, after)], session)
    return replace(after, version=before.version + 1)

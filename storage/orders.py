"""Orders in MongoDB."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from models.access import Scope
from models.orders import FulfilmentState, Order
from storage.documents import order_doc, order_from
from storage.keys import ALL, time_bounds
from storage.mongo import ConcurrentUpdate, Database, Session
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


async def get_many(db: Database, order_ids: list[str]) -> dict[str, Order]:
    docs = await db.orders.find({"_id": {"$in": order_ids}}).to_list(None)
    return {d["_id"]: order_from(d) for d in docs}


async def insert_many(db: Database, orders: list[Order]) -> None:
    if orders:
        await db.orders.insert_many([order_doc(o) for o in orders], ordered=False)


async def save(db: Database, order: Order, expected_version: int, session: Session) -> Order:
    saved = replace(order, version=expected_version + 1)
    result = await db.orders.replace_one(
        {"_id": order.id, "version": expected_version}, order_doc(saved), session=session
    )
    if result.matched_count != 1:
        raise ConcurrentUpdate(order.id)
    return saved


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

"""Cancellation requests in MongoDB: one document each, its timeline embedded
(the reads and writes every kind shares: storage/request_store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.access import Scope
from models.cancellations import Cancellation, CancellationTab
from storage.documents import cancellation_doc, cancellation_from
from storage.keys import ALL
from storage.mongo import Database
from storage.pagination import SortOrder
from storage.request_store import SORTS, RequestFilter, RequestStore, list_prefix

__all__ = ["SORTS"]


@dataclass(frozen=True)
class CancellationFilter(RequestFilter):
    """A cancellation's lists filter on what every kind's do."""


def list_query(
    scope: Scope, tab: CancellationTab | None, f: CancellationFilter, sort: SortOrder
) -> dict[str, Any]:
    """Equality on who and which tab, one range on the sort key (storage/keys.py)."""
    tabs = tab.value if tab else ALL
    return list_prefix(scope, f.order_id, f.buyer_id, tabs, sort, f.created_from, f.created_to)


REQUESTS: RequestStore[Cancellation] = RequestStore(
    "cancellations", cancellation_doc, cancellation_from, list_query
)
get = REQUESTS.get
get_many = REQUESTS.get_many  # the rest through REQUESTS


async def for_order(db: Database, order_id: str) -> list[Cancellation]:
    """The order's cancellations, newest first."""
    return (await REQUESTS.for_orders(db, [order_id], "NEWEST"))[order_id]


async def due_for_auto_accept(
    db: Database, now: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """Ids and deadlines of pending requests whose response window has closed, oldest first
    (the partial `pending_due` index)."""
    return await REQUESTS.due(db, {"status": "PENDING"}, "respond_by", now, limit)

"""Cancellation requests in MongoDB: one document each, its timeline embedded
(the reads and writes every kind shares: storage/request_store.py)."""

from __future__ import annotations

from datetime import datetime

from models.cancellations import Cancellation
from storage.keys import ALL
from storage.mongo import Database
from storage.request_store import Overdue, RequestFilter, RequestStore, overdue

CancellationFilter = RequestFilter  # a cancellation's lists filter on what every kind's do
REQUESTS = RequestStore(
    "cancellations",
    Cancellation,
    tabs=lambda c: [ALL, c.tab.value],  # list keys: see storage/keys.py
    # Sorted by deadline only while it runs (a decided request keeps `respond_by`).
    deadline=lambda c: c.respond_by if c.next_action else None,
    by_order="NEWEST",  # an order's cancellations newest first
)
get = REQUESTS.get
get_many = REQUESTS.get_many  # the rest through REQUESTS


async def due_for_auto_accept(db: Database, now: datetime, limit: int) -> Overdue:
    """Ids and deadlines of pending requests whose response window has closed, oldest first
    (the partial `pending_due` index)."""
    return await overdue(db, db.cancellations, {"status": "PENDING"}, "respond_by", now, limit)

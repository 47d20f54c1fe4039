"""After-sale requests in MongoDB: one document each, its timeline embedded, and the parts its
steps add (decision, rejection, appeal, shipments, offer) each embedded as its value.

The same shapes as storage/cancellations.py (the reads and writes every kind shares:
storage/request_store.py): every list query is an equality prefix (shop, buyer or order; the
`tabs` value, which also carries the kind) plus one range on one sort key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from models.access import Scope
from models.after_sale_requests import AfterSaleRequest
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus
from models.errors import ValidationFailed
from storage.keys import ALL, time_bounds
from storage.mongo import Database
from storage.pagination import SortOrder
from storage.request_store import Overdue, RequestFilter, RequestStore, on_sort_key, overdue


def tabs_of(r: AfterSaleRequest) -> list[str]:
    """What the `tabs` list key holds: the All tab, the request's tab, and both again per kind,
    so a kind filter is one more equality value on the same indexes (storage/keys.py)."""
    tab, kind = r.tab.value, r.kind.value
    return [ALL, tab, f"{ALL}/{kind}", f"{tab}/{kind}"]


@dataclass(frozen=True)
class AfterSaleFilter(RequestFilter):
    kind: AfterSaleKind | None = None
    deadline_before: datetime | None = None

    def tabs(self, tab: Enum | None) -> str:
        tabs = super().tabs(tab)
        return f"{tabs}/{self.kind.value}" if self.kind else tabs

    def query(self, scope: Scope, tab: Enum | None, sort: SortOrder | None) -> dict[str, Any]:
        """Equality on who and which tab (and kind), one range on the sort key (storage/keys.py).

        "Created between" is a range on the creation key, so it goes with NEWEST or OLDEST;
        "deadline before" is a range on the deadline key, so it goes with DEADLINE_SOONEST.
        """
        query = super().query(scope, tab, sort)
        if (self.created_from or self.created_to) and self.deadline_before:
            raise ValidationFailed(
                "filter by created between or by deadline before, not both", field="filter"
            )
        if self.deadline_before:
            on_sort_key(sort, "k_deadline", "a deadline-before filter sorts by DEADLINE_SOONEST")
            query["k_deadline"] = time_bounds(None, self.deadline_before)
        return query


# An order's requests oldest first.
REQUESTS = RequestStore(
    "after_sales", AfterSaleRequest, tabs=tabs_of, deadline=lambda r: r.deadline, by_order="OLDEST"
)
get = REQUESTS.get
get_many = REQUESTS.get_many
for_orders = REQUESTS.for_orders  # the rest through REQUESTS


async def due(db: Database, status: AfterSaleStatus, now: datetime, limit: int) -> Overdue:
    """Ids and deadlines of requests in `status` whose deadline has passed, oldest first
    (the `status_deadline` index: one equality, one range)."""
    return await overdue(db, db.after_sales, {"status": status.value}, "deadline", now, limit)

"""After-sale requests in MongoDB: one document each, its timeline embedded, and the parts its
steps add (decision, rejection, appeal, shipments, offer) each embedded as its value.

The same shapes as storage/cancellations.py (the reads and writes every kind shares:
storage/request_store.py): every list query is an equality prefix (shop, buyer or order; the
`tabs` value, which also carries the kind) plus one range on one sort key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.access import Scope
from models.after_sale_requests import (
    AfterSaleRequest,
    Appeal,
    Decision,
    Offer,
    Rejection,
    Shipment,
)
from models.after_sales_machine import AfterSaleAction, AfterSaleKind, AfterSaleStatus, AfterSaleTab
from models.errors import ValidationFailed
from storage.documents import RequestCodec
from storage.keys import ALL, time_bounds
from storage.mongo import Database, Session
from storage.pagination import SortOrder
from storage.request_store import SORTS, RequestFilter, RequestStore, list_prefix

__all__ = ["SORTS"]


def tab_values(r: AfterSaleRequest) -> list[str]:
    """What the `tabs` list key holds: the All tab, the request's tab, and both again per kind,
    so a kind filter is one more equality value on the same indexes (storage/keys.py)."""
    tab, kind = r.tab.value, r.kind.value
    return [ALL, tab, f"{ALL}/{kind}", f"{tab}/{kind}"]


def tab_key(tab: str, kind: AfterSaleKind | None) -> str:
    return f"{tab}/{kind.value}" if kind else tab


@dataclass(frozen=True)
class AfterSaleFilter(RequestFilter):
    kind: AfterSaleKind | None = None
    deadline_before: datetime | None = None

    def count_order(self) -> SortOrder:
        return SORTS["DEADLINE_SOONEST"] if self.deadline_before else SORTS["NEWEST"]


def list_query(
    scope: Scope, tab: AfterSaleTab | None, f: AfterSaleFilter, sort: SortOrder
) -> dict[str, Any]:
    """Equality on who and which tab (and kind), one range on the sort key (storage/keys.py).

    "Created between" is a range on the creation key, so it goes with NEWEST or OLDEST;
    "deadline before" is a range on the deadline key, so it goes with DEADLINE_SOONEST.
    """
    tabs = tab_key(tab.value if tab else ALL, f.kind)
    query = list_prefix(scope, f, tabs, sort)
    if (f.created_from or f.created_to) and f.deadline_before:
        raise ValidationFailed(
            "filter by created between or by deadline before, not both", field="filter"
        )
    if f.deadline_before:
        if sort.key != "k_deadline":
            raise ValidationFailed(
                "a deadline-before filter sorts by DEADLINE_SOONEST", field="sort"
            )
        query["k_deadline"] = time_bounds(None, f.deadline_before)
    return query


DOCUMENTS: RequestCodec[AfterSaleRequest] = RequestCodec(
    AfterSaleRequest,
    AfterSaleAction,
    AfterSaleStatus,
    tabs=tab_values,
    deadline=lambda r: r.deadline,
    plain=("follows_id", "deadline", "replacement_order_id"),
    enums={"kind": AfterSaleKind},
    parts={
        "decision": Decision,
        "rejection": Rejection,
        "appeal": Appeal,
        "return_shipment": Shipment,
        "replacement_shipment": Shipment,
        "offer": Offer,
    },
)
REQUESTS: RequestStore[AfterSaleRequest] = RequestStore("after_sales", DOCUMENTS, list_query)
get = REQUESTS.get
get_many = REQUESTS.get_many  # the rest through REQUESTS


async def for_orders(
    db: Database, order_ids: list[str], session: Session | None = None
) -> dict[str, list[AfterSaleRequest]]:
    """Every request of these orders, oldest first."""
    return await REQUESTS.for_orders(db, order_ids, "OLDEST", session)


async def due(
    db: Database, status: AfterSaleStatus, now: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """Ids and deadlines of requests in `status` whose deadline has passed, oldest first
    (the `status_deadline` index: one equality, one range)."""
    return await REQUESTS.due(db, {"status": status.value}, "deadline", now, limit)

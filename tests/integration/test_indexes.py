"""Every query the service makes is served by an index: the server's own plan says so.

The shapes are built with the same functions the service uses (list queries, cursors), so a new
filter or sort that no index serves fails here.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.access import Scope
from models.after_sales_machine import AfterSaleKind, AfterSaleTab
from models.cancellations import CancellationTab
from models.errors import ValidationFailed
from models.notifications import Recipient
from models.orders import FulfilmentState
from models.request_kinds import AFTER_SALE_DEADLINES
from models.tickets import RequestKind, TicketStatus
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage import orders as order_store
from storage import tickets as ticket_store
from storage.keys import time_bounds
from storage.mongo import Database
from storage.notifications import inbox_key
from storage.pagination import SortOrder, encode_cursor, page_query
from storage.refunds import FIELD as RECORD
from storage.request_store import SORTS
from storage.tickets import TicketFilter

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _stages(plan: dict[str, Any]) -> list[str]:
    found = [plan.get("stage", "")]
    if "inputStage" in plan:
        found += _stages(plan["inputStage"])
    for child in plan.get("inputStages", []):
        found += _stages(child)
    return found


async def _plan(db: Database, collection: str, query: dict, sort: list | None = None) -> list[str]:
    command: dict[str, Any] = {"find": collection, "filter": query, "limit": 51}
    if sort:
        command["sort"] = dict(sort)
    explained = await db.db.command("explain", command, verbosity="queryPlanner")
    return _stages(explained["queryPlanner"]["winningPlan"])


def _shapes(query: dict, sort: SortOrder) -> list[dict]:
    """The first page and a later page (after a cursor) of one list query."""
    cursor = encode_cursor(sort, {sort.key: "2026-11-22T10:00:00.000Z|can_x"})
    return [query, page_query(query, sort, cursor)]


FILTERS = [
    cancellation_store.CancellationFilter(),
    cancellation_store.CancellationFilter(order_id="ord_1"),
    cancellation_store.CancellationFilter(buyer_id="buyer-1"),
    cancellation_store.CancellationFilter(created_from=NOW - timedelta(days=1), created_to=NOW),
]
SCOPES = [Scope(shop_id="shop-1"), Scope(buyer_id="buyer-1"), Scope(shop_id="shop-1", buyer_id="b")]


@pytest.mark.parametrize(
    ("scope", "tab", "f", "sort"),
    list(itertools.product(SCOPES, [None, *CancellationTab], FILTERS, SORTS)),
)
async def test_every_cancellation_list_shape_uses_an_index(
    db: Database, scope: Scope, tab: CancellationTab | None, f: Any, sort: str
) -> None:
    order = SORTS[sort]
    try:
        query = f.query(scope, tab, order)
    except ValidationFailed:
        assert f.created_from and sort == "DEADLINE_SOONEST"  # refused, with a clear error
        return
    for shape in _shapes(query, order):
        stages = await _plan(db, "cancellations", shape, order.spec)
        assert "COLLSCAN" not in stages and "IXSCAN" in stages, (shape, stages)
        count = await db.db.command("explain", {"count": "cancellations", "query": shape})
        assert "COLLSCAN" not in _stages(count["queryPlanner"]["winningPlan"])


@pytest.mark.parametrize(
    "f",
    [
        order_store.OrderFilter(),
        order_store.OrderFilter(fulfilment_state=FulfilmentState.UNPAID),
        order_store.OrderFilter(buyer_id="buyer-1"),
        order_store.OrderFilter(placed_from=NOW - timedelta(days=1), placed_to=NOW),
    ],
)
@pytest.mark.parametrize("scope", [Scope(shop_id="shop-1"), Scope(buyer_id="buyer-1")])
async def test_every_order_list_shape_uses_an_index(db: Database, scope: Scope, f: Any) -> None:
    for shape in _shapes(order_store.list_query(scope, f), order_store.NEWEST):
        stages = await _plan(db, "orders", shape, order_store.NEWEST.spec)
        assert "COLLSCAN" not in stages and "IXSCAN" in stages, stages


async def test_point_reads_and_worker_scans_use_an_index(db: Database) -> None:
    due = {"$lt": NOW}
    shapes = [
        ("cancellations", {"order_id": "ord_1", "tabs": "ALL"}, [("k_requested", -1)]),
        ("cancellations", {"status": "PENDING", "respond_by": due}, [("respond_by", 1)]),
        ("orders", {"fulfilment_state": "UNPAID", "payment_due_at": due}, [("payment_due_at", 1)]),
        ("notifications", {"inboxes": inbox_key(Recipient.BUYER, "b")}, [("k_at", -1)]),
        # An inbox's notices that ride on event documents (storage/notifications.py `page`).
        ("events", {"inboxes": inbox_key(Recipient.BUYER, "b")}, [("k_at", -1)]),
        ("cancellations", {"_id": "can_1"}, None),
        ("orders", {"_id": {"$in": ["ord_1", "ord_2"]}}, None),
        # The live feed's replay after a cursor (storage/events.py `after`).
        ("events", {"shop_id": "shop-1", "seq": {"$gt": 41}}, [("seq", 1)]),
        ("event_sequences", {"_id": "shop-1"}, None),
        # The shop's refunds, in one state or all, on both request collections (storage/refunds.py).
        *[
            (requests, {f"{RECORD}.shop_id": "shop-1", **state}, [(f"{RECORD}.instructed_at", -1)])
            for requests in ("cancellations", "after_sales")
            for state in ({f"{RECORD}.state": "INSTRUCTED"},)
        ],
    ]
    for collection, query, sort in shapes:
        stages = await _plan(db, collection, query, sort)
        assert "COLLSCAN" not in stages, (collection, query, stages)


TICKET_FILTERS = [
    TicketFilter(),
    TicketFilter(status=TicketStatus.OPEN),
    TicketFilter(assignee="agent-1"),
    TicketFilter(assignee=""),
    TicketFilter(kind=RequestKind.REFUND_ONLY),
    TicketFilter(tag="vip"),
    TicketFilter(status=TicketStatus.PENDING, assignee="agent-1", kind=RequestKind.CANCELLATION),
    TicketFilter(
        status=TicketStatus.RESOLVED, assignee="a", kind=RequestKind.REPLACEMENT, tag="vip"
    ),
]


@pytest.mark.parametrize("f", TICKET_FILTERS)
async def test_every_ticket_list_shape_uses_an_index(db: Database, f: TicketFilter) -> None:
    sort = ticket_store.DEADLINE_SOONEST
    for shape in _shapes(ticket_store.list_query("shop-1", f), sort):
        stages = await _plan(db, "tickets", shape, sort.spec)
        assert "COLLSCAN" not in stages and "IXSCAN" in stages, (shape, stages)
        count = await db.db.command("explain", {"count": "tickets", "query": shape})
        assert "COLLSCAN" not in _stages(count["queryPlanner"]["winningPlan"])


async def test_helpdesk_point_reads_and_scans_use_an_index(db: Database) -> None:
    shapes = [
        ("tickets", {"request_id": "can_1"}, None),
        ("tickets", {"request_id": {"$in": ["can_1", "can_2"]}}, None),
        ("tickets", {"rules_due": True, "opened_at": {"$lt": NOW}}, [("opened_at", 1)]),
        ("ticket_rules", {"shop_id": "shop-1"}, [("k_order", 1)]),
        ("shop_agents", {"_id": "shop-1:agent-1"}, None),
        ("shop_agents", {"shop_id": "shop-1"}, [("agent_id", 1)]),
        *(
            (
                collection,
                {
                    "shop_id": "shop-1",
                    "buyer_id": "b",
                    "tabs": "ALL",
                    "k_requested": time_bounds(NOW - timedelta(days=30), NOW),
                },
                None,
            )
            # A buyer's earlier requests, for rule conditions (services/buyer_history.py).
            for collection in ("cancellations", "after_sales")
        ),
    ]
    for collection, query, sort in shapes:
        stages = await _plan(db, collection, query, sort)
        assert "COLLSCAN" not in stages, (collection, query, stages)


AFTER_SALE_FILTERS = [
    after_sale_store.AfterSaleFilter(),
    after_sale_store.AfterSaleFilter(kind=AfterSaleKind.REPLACEMENT),
    after_sale_store.AfterSaleFilter(order_id="ord_1"),
    after_sale_store.AfterSaleFilter(buyer_id="buyer-1", kind=AfterSaleKind.REFUND_ONLY),
    after_sale_store.AfterSaleFilter(created_from=NOW - timedelta(days=1), created_to=NOW),
    after_sale_store.AfterSaleFilter(deadline_before=NOW),
]


@pytest.mark.parametrize(
    ("scope", "tab", "f", "sort"),
    list(itertools.product(SCOPES, [None, *AfterSaleTab], AFTER_SALE_FILTERS, SORTS)),
)
async def test_every_after_sale_list_shape_uses_an_index(
    db: Database, scope: Scope, tab: AfterSaleTab | None, f: Any, sort: str
) -> None:
    order = SORTS[sort]
    try:
        query = f.query(scope, tab, order)
    except ValidationFailed:
        # A time range and a sort on another key: refused with a clear error.
        assert (f.created_from and sort == "DEADLINE_SOONEST") or (
            f.deadline_before and sort != "DEADLINE_SOONEST"
        )
        return
    for shape in _shapes(query, order):
        stages = await _plan(db, "after_sales", shape, order.spec)
        assert "COLLSCAN" not in stages and "IXSCAN" in stages, (shape, stages)
        count = await db.db.command("explain", {"count": "after_sales", "query": shape})
        assert "COLLSCAN" not in _stages(count["queryPlanner"]["winningPlan"])


async def test_after_sale_point_reads_and_deadline_scans_use_an_index(db: Database) -> None:
    due = {"$lt": NOW}
    shapes = [
        ("after_sales", {"order_id": "ord_1", "tabs": "ALL"}, [("k_requested", 1)]),
        ("after_sales", {"_id": {"$in": ["afs_1", "afs_2"]}}, None),
        ("category_policies", {"listed": True}, [("_id", 1)]),
        *(
            ("after_sales", {"status": status.value, "deadline": due}, [("deadline", 1)])
            for status in AFTER_SALE_DEADLINES
        ),
    ]
    for collection, query, sort in shapes:
        stages = await _plan(db, collection, query, sort)
        assert "COLLSCAN" not in stages, (collection, query, stages)


async def test_order_intake_lookups_use_an_index(db: Database) -> None:
    """A batch finds its orders by the marketplace's ids (storage/order_records.py)."""
    shapes = [
        ("order_records", {"shop_id": "shop-1", "external_id": {"$in": ["E-1", "E-2"]}}),
        ("order_records", {"_id": {"$in": ["ord_1", "ord_2"]}}),
    ]
    for collection, query in shapes:
        stages = await _plan(db, collection, query)
        assert "COLLSCAN" not in stages, (collection, query, stages)


async def test_webhook_reads_and_retention_scans_use_an_index(db: Database) -> None:
    shapes = [
        # A consumer's batch (storage/event_consumers.py `read`): a range bounded both sides.
        ("events", {"shop_id": "shop-1", "seq": {"$gt": 40, "$lte": 140}}, [("seq", 1)]),
        # Retention (storage/event_retention.py `prune`).
        ("events", {"stored_at": {"$lt": NOW}}, None),
        ("events", {"_id": {"$in": ["evt_1", "evt_2"]}}, None),
        ("event_consumers", {"shop_id": "shop-1"}, [("name", 1)]),
        ("webhooks", {"status": "ACTIVE"}, None),
        ("webhooks", {"shop_id": "shop-1"}, [("created_at", 1)]),
        (
            "webhook_deliveries",
            {"webhook_id": "wh_1", "first_seq": {"$lt": 90}},
            [("first_seq", -1)],
        ),
    ]
    for collection, query, sort in shapes:
        stages = await _plan(db, collection, query, sort)
        assert "COLLSCAN" not in stages, (collection, query, stages)

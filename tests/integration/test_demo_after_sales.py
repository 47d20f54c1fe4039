"""The demo data puts after-sale requests in every tab of both shops, with counters that match."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from models.clock import SettableClock
from services.after_sales import KIND
from services.bootstrap import build_services
from services.deadline_worker import DeadlineWorker
from services.demo_data import DEMO_REFUND_RULE, SHOPS, load_demo_data
from storage import tab_counts
from storage import tickets as ticket_store
from storage.indexes import ensure_indexes
from storage.mongo import connect


async def test_demo_data_has_after_sales_in_every_tab(mongodb_uri: str) -> None:
    db = connect(mongodb_uri, f"demo_{uuid.uuid4().hex[:10]}")
    try:
        await ensure_indexes(db)
        summary = await load_demo_data(db, datetime.now(UTC).replace(microsecond=0))
        assert summary is not None and summary.after_sales == 25
        docs = await db.after_sales.find({}, {"shop_id": 1, "tabs": 1}).to_list(None)
        for shop_id in SHOPS:
            tabs = Counter(d["tabs"][1] for d in docs if d["shop_id"] == shop_id)
            assert set(tabs) == {"TO_PROCEED", "IN_PROCESS", "COMPLETED", "CLOSED"}
            stored = await tab_counts.read(db, shop_id, KIND.section)
            assert {k: v for k, v in stored.items() if v} == dict(tabs)
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()


async def test_h1_h2_demo_after_sales_have_tickets_and_a_rule_approves_one(
    mongodb_uri: str,
) -> None:
    """Every demo after-sale request has its ticket (they are made through the service); the
    worker's sweep runs shop-2's rule, which approves the small electronics refund."""
    db = connect(mongodb_uri, f"demo_{uuid.uuid4().hex[:10]}")
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        await ensure_indexes(db)
        await load_demo_data(db, now)
        requests = await db.after_sales.find({}, {"initiator": 1}).to_list(None)
        tickets = {t["request_id"]: t for t in await db.tickets.find({}).to_list(None)}
        # No ticket only for what needs nobody: the seller's own refunds (R9).
        assert {r["_id"] for r in requests if r["initiator"] != "SELLER"} <= set(tickets)

        services = await build_services(db, SettableClock(now))
        due = await ticket_store.rules_due(db, now + timedelta(minutes=1), 1000)
        await services.helpdesk.run_rules_for_tickets([ticket_id for ticket_id, _ in due])
        [approved] = await db.after_sales.find(
            {"timeline.actor_id": f"rule.{DEMO_REFUND_RULE}"}
        ).to_list(None)
        assert (approved["shop_id"], approved["kind"], approved["status"]) == (
            "shop-2",
            "REFUND_ONLY",
            "REFUNDED",
        )
        t = await db.tickets.find_one({"request_id": approved["_id"]})
        assert (t["status"], t["rules_applied"]) == ("RESOLVED", [DEMO_REFUND_RULE])
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()


async def test_y2_c8_the_demo_has_an_unpaid_order_the_worker_cancels_when_its_window_closes(
    mongodb_uri: str,
) -> None:
    """The food category's payment window (30 minutes) gives the demo's unpaid tin of tea its
    due time; once it passes, the deadline worker's pass cancels it for non-payment (C8)."""
    db = connect(mongodb_uri, f"demo_{uuid.uuid4().hex[:10]}")
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        await ensure_indexes(db)
        await load_demo_data(db, now)
        order = await db.orders.find_one({"_id": "ord_10059"})
        assert order is not None and order["fulfilment_state"] == "UNPAID"
        assert order["lines"][0]["category"] == "food"
        assert order["payment_due_at"] == order["placed_at"] + timedelta(minutes=30)

        clock = SettableClock(order["payment_due_at"].replace(tzinfo=UTC))
        services = await build_services(db, clock)
        await DeadlineWorker(services, interval=1, batch_size=50).run_once()
        after = await db.orders.find_one({"_id": "ord_10059"})
        assert after is not None and after["fulfilment_state"] == "CANCELLED"
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()

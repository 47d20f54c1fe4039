"""Where a refund is stored: in the document of the request that decided it (storage/refunds.py),
and in its order's refund ledger, in the order's document (storage/orders.py); refunds and ledgers
an earlier version kept in collections of their own move into their requests and orders at start."""

from __future__ import annotations

from datetime import timedelta

from models.clock import SettableClock
from models.orders import FulfilmentState
from models.refunds import RefundState, SettledBy
from storage import orders as order_store
from storage import refunds as refund_store
from storage.indexes import ensure_indexes
from storage.mongo import Database
from tests.support.factories import new_buyer_id, pending_requests, place_order


async def test_a_refund_stored_apart_by_an_earlier_version_moves_into_its_request_at_start(
    db: Database, clock: SettableClock, shop_id: str
) -> None:
    [request_id] = await pending_requests(db, shop_id, [clock.now()])
    request = await db.cancellations.find_one({"_id": request_id})
    old = {
        "_id": f"rfd_{request_id}",
        "shop_id": shop_id,
        "order_id": request["order_id"],
        "request_id": request_id,
        "request_kind": "CANCELLATION",
        "amount_minor": 1250,
        "currency": "USD",
        "lines": [{"line_id": "l1", "quantity": 1, "amount_minor": 1250}],
        "state": "SETTLED",
        "instructed_at": clock.now(),
        "settled_by": "PLATFORM",
        "reference": None,
        "failure_reason": None,
        "settled_at": clock.now(),
        "version": 0,
    }
    await db.db[refund_store.OLD_COLLECTION].insert_one(old)

    await ensure_indexes(db)  # what every process does at start
    await ensure_indexes(db)  # and again: nothing left to move, nothing moved twice

    [refund] = (await refund_store.get_many(db, [f"rfd_{request_id}"])).values()
    assert (refund.request_id, refund.state, refund.settled_by) == (
        request_id,
        RefundState.SETTLED,
        SettledBy.PLATFORM,
    )
    assert refund.amount.minor == 1250 and refund.lines[0].line_id == "l1"
    assert await refund_store.in_shop(db, shop_id, RefundState.SETTLED, 10) == [refund]
    assert refund_store.OLD_COLLECTION not in await db.db.list_collection_names()


async def test_a_ledger_stored_apart_by_an_earlier_version_moves_into_its_order_at_start(
    db: Database, clock: SettableClock, shop_id: str
) -> None:
    placed = clock.now() - timedelta(days=2)
    delivered = FulfilmentState.DELIVERED
    order = await place_order(db, shop_id, new_buyer_id(), placed, state=delivered)
    keeps = await place_order(db, shop_id, new_buyer_id(), placed, state=delivered)
    line_id = order.lines[0].line_id

    def old(order_id: str, source_id: str) -> dict[str, object]:
        entry = {
            "source": "AFTER_SALE",
            "source_id": source_id,
            "at": clock.now(),
            "lines": [{"line_id": line_id, "quantity": 1, "amount": 700}],
            "shipping": 0,
        }
        return {"_id": order_id, "currency": "USD", "entries": [entry], "version": 1}

    await db.db[order_store.OLD_LEDGERS].insert_many([old(order.id, "afs_1"), old(keeps.id, "x")])
    # An order whose ledger is in its document already keeps it.
    await db.orders.update_one({"_id": keeps.id}, {"$set": {order_store.LEDGER: []}})

    await ensure_indexes(db)  # what every process does at start
    await ensure_indexes(db)  # and again: nothing left to move, nothing moved twice

    ledgers = await order_store.with_ledgers(db, [order.id, keeps.id])
    [entry] = ledgers[order.id][1].entries
    assert (entry.source_id, entry.lines[0].line_id, entry.lines[0].amount.minor) == (
        "afs_1",
        line_id,
        700,
    )
    assert ledgers[keeps.id][1].entries == ()
    assert order_store.OLD_LEDGERS not in await db.db.list_collection_names()

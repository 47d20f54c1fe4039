"""Where a refund is stored: in the document of the request that decided it (storage/refunds.py);
refunds an earlier version kept in a collection of their own move into their requests at start."""

from __future__ import annotations

from models.clock import SettableClock
from models.refunds import RefundState, SettledBy
from storage import refunds as refund_store
from storage.indexes import ensure_indexes
from storage.mongo import Database
from tests.support.factories import pending_requests


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

"""Every index the service's queries use, created idempotently at start.

Each list query is an equality prefix (shop, and tab where one is chosen) followed by the sort key
and `_id` as tie-breaker, so a real MongoDB walks the index in order and stops after the page
(no in-memory sort). tests/test_indexes.py checks the winning plan of each query shape.
"""

from __future__ import annotations

from pymongo import ASCENDING as ASC
from pymongo import DESCENDING as DESC
from pymongo import IndexModel

from storage.mongo import Database

CANCELLATION_INDEXES = [
    # Seller Center tabs: newest/oldest (and "created between") within a tab ...
    IndexModel(
        [("shop_id", ASC), ("tab", ASC), ("requested_at", DESC), ("_id", DESC)],
        name="shop_tab_requested",
    ),
    # ... and deadline soonest within a tab (To Proceed's natural order).
    IndexModel(
        [("shop_id", ASC), ("tab", ASC), ("deadline_key", ASC), ("_id", ASC)],
        name="shop_tab_deadline",
    ),
    # The All tab.
    IndexModel([("shop_id", ASC), ("requested_at", DESC), ("_id", DESC)], name="shop_requested"),
    IndexModel([("shop_id", ASC), ("deadline_key", ASC), ("_id", ASC)], name="shop_deadline"),
    # Filter by order (few requests per order) and the buyer's own list.
    IndexModel([("order_id", ASC), ("requested_at", DESC), ("_id", DESC)], name="order_requested"),
    IndexModel([("buyer_id", ASC), ("requested_at", DESC), ("_id", DESC)], name="buyer_requested"),
    IndexModel(
        [("shop_id", ASC), ("buyer_id", ASC), ("requested_at", DESC), ("_id", DESC)],
        name="shop_buyer_requested",
    ),
    # The expiry worker's scan: pending requests by deadline, and nothing else in the index.
    IndexModel(
        [("respond_by", ASC)],
        name="pending_deadline",
        partialFilterExpression={"status": "PENDING"},
    ),
]

ORDER_INDEXES = [
    IndexModel([("shop_id", ASC), ("placed_at", DESC), ("_id", DESC)], name="shop_placed"),
    IndexModel(
        [("shop_id", ASC), ("fulfilment_state", ASC), ("placed_at", DESC), ("_id", DESC)],
        name="shop_state_placed",
    ),
    IndexModel([("buyer_id", ASC), ("placed_at", DESC), ("_id", DESC)], name="buyer_placed"),
    # Unpaid orders by payment deadline (system cancellation, C8).
    IndexModel(
        [("payment_due_at", ASC)],
        name="unpaid_due",
        partialFilterExpression={"fulfilment_state": "UNPAID"},
    ),
]

NOTIFICATION_INDEXES = [
    IndexModel(
        [("recipient", ASC), ("recipient_id", ASC), ("at", DESC), ("_id", DESC)],
        name="recipient_at",
    ),
]

IDEMPOTENCY_INDEXES = [
    # Keys are kept a day, then the server drops them.
    IndexModel([("created_at", ASC)], name="expire_keys", expireAfterSeconds=24 * 3600),
]


async def ensure_indexes(db: Database) -> None:
    await db.cancellations.create_indexes(CANCELLATION_INDEXES)
    await db.orders.create_indexes(ORDER_INDEXES)
    await db.notifications.create_indexes(NOTIFICATION_INDEXES)
    await db.idempotency_keys.create_indexes(IDEMPOTENCY_INDEXES)

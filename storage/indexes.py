"""Every index the service's queries use, created idempotently at start.

Each list query is an equality prefix (shop, buyer or order; the tab or state, "ALL" included)
and one range on a sort key (storage/keys.py), so a real MongoDB walks the index in order and
stops after the page, and SecantusDB, whose planner needs that exact shape, uses the index too.
tests/test_indexes.py checks the winning plan of every shape the service builds.
"""

from __future__ import annotations

from pymongo import ASCENDING as ASC
from pymongo import IndexModel

from storage.events import EVENT_INDEXES
from storage.mongo import Database


def _lists(prefixes: dict[str, list[str]], group: str, keys: list[str]) -> list[IndexModel]:
    return [
        IndexModel([*((f, ASC) for f in fields), (group, ASC), (key, ASC)], name=f"{name}_{key}")
        for name, fields in prefixes.items()
        for key in keys
    ]


CANCELLATION_INDEXES = [
    # The seller's tabs, the seller's buyer filter, the buyer's own list, one order's requests;
    # each by creation time (newest/oldest, created between) and by deadline.
    *_lists(
        {
            "shop": ["shop_id"],
            "shop_buyer": ["shop_id", "buyer_id"],
            "buyer": ["buyer_id"],
            "order": ["order_id"],
        },
        "tabs",
        ["k_requested", "k_deadline"],
    ),
    # The expiry worker's scan: pending requests by deadline, nothing else in the index.
    IndexModel(
        [("status", ASC), ("respond_by", ASC)],
        name="pending_due",
        partialFilterExpression={"status": "PENDING"},
    ),
]

ORDER_INDEXES = [
    *_lists(
        {"shop": ["shop_id"], "shop_buyer": ["shop_id", "buyer_id"], "buyer": ["buyer_id"]},
        "states",
        ["k_placed"],
    ),
    # Unpaid orders by payment deadline (system cancellation, C8).
    IndexModel(
        [("fulfilment_state", ASC), ("payment_due_at", ASC)],
        name="unpaid_due",
        partialFilterExpression={"fulfilment_state": "UNPAID"},
    ),
]

NOTIFICATION_INDEXES = [
    IndexModel([("recipient", ASC), ("recipient_id", ASC), ("k_at", ASC)], name="recipient_at"),
]

IDEMPOTENCY_INDEXES = [
    # Keys are kept a day, then the server drops them.
    IndexModel([("created_at", ASC)], name="expire_keys", expireAfterSeconds=24 * 3600),
]


async def ensure_indexes(db: Database) -> None:
    await db.events.create_indexes(EVENT_INDEXES)
    await db.cancellations.create_indexes(CANCELLATION_INDEXES)
    await db.orders.create_indexes(ORDER_INDEXES)
    await db.notifications.create_indexes(NOTIFICATION_INDEXES)
    await db.idempotency_keys.create_indexes(IDEMPOTENCY_INDEXES)

"""Every index the service's queries use, created idempotently at start.

Each list query is an equality prefix (shop, buyer or order; the tab or state, "ALL" included)
and one range on a sort key (storage/keys.py), so a real MongoDB walks the index in order and
stops after the page, and SecantusDB, whose planner needs that exact shape, uses the index too.
tests/integration/test_indexes.py checks the winning plan of every shape the service builds.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING as ASC
from pymongo import IndexModel

from storage import event_retention, idempotency
from storage.event_consumers import CONSUMER_INDEXES
from storage.event_consumers import collection as consumers
from storage.events import EVENT_INDEXES
from storage.evidence import BUCKET, EVIDENCE_INDEXES, GRIDFS_CHUNK_INDEXES, GRIDFS_FILE_INDEXES
from storage.evidence import COLLECTION as EVIDENCE
from storage.mongo import Database
from storage.order_records import ORDER_RECORD_INDEXES
from storage.orders import fold_old_ledgers
from storage.refunds import REFUND_INDEXES, fold_old_collection, request_collections
from storage.webhooks import (
    DELIVERY_INDEXES,
    RETIRED_DELIVERY_INDEXES,
    WEBHOOK_INDEXES,
    deliveries,
    webhooks,
)


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

AFTER_SALE_INDEXES = [
    # As for cancellations; the `tabs` values also carry the kind ("TO_PROCEED/REPLACEMENT"), so
    # the kind filter needs no index of its own.
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
    # The deadline worker's scans (R3, R5, R8): one status, deadlines in order.
    IndexModel([("status", ASC), ("deadline", ASC)], name="status_deadline"),
]

POLICY_INDEXES = [IndexModel([("listed", ASC), ("_id", ASC)], name="listed")]

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
    # An inbox's page: one entry per recipient of the document (storage/notifications.py).
    IndexModel([("inboxes", ASC), ("k_at", ASC)], name="inbox_at"),
]

# Keys are kept a day, then pruned by the deadline worker (storage/idempotency.py).
IDEMPOTENCY_INDEXES = idempotency.INDEXES


TICKET_INDEXES = [
    # Every ticket list: the shop, one filter combination (storage/tickets.py), by deadline.
    IndexModel(
        [("shop_id", ASC), ("facets", ASC), ("k_deadline", ASC)], name="shop_facets_deadline"
    ),
    # A request's ticket, found in the request's own transaction; one ticket per request.
    IndexModel([("request_id", ASC)], name="request", unique=True),
    # Tickets whose rules have not run yet (swept by the deadline worker).
    IndexModel(
        [("rules_due", ASC), ("opened_at", ASC)],
        name="rules_due",
        partialFilterExpression={"rules_due": True},
    ),
]

TICKET_RULE_INDEXES = [IndexModel([("shop_id", ASC), ("k_order", ASC)], name="shop_order")]

SHOP_AGENT_INDEXES = [IndexModel([("shop_id", ASC), ("agent_id", ASC)], name="shop_agent")]


async def retire_indexes(collection: Any, names: list[str]) -> None:
    """Drops these indexes where they exist: those of an earlier version that no query uses any
    more (each costs every write of the collection), or whose options changed (created again
    with the new ones after)."""
    existing = await collection.index_information()
    for name in names:
        if name in existing:
            await collection.drop_index(name)


async def ensure_indexes(db: Database) -> None:
    await retire_indexes(db.events, [event_retention.OLD_TTL_INDEX])
    await db.events.create_indexes(EVENT_INDEXES)
    await consumers(db).create_indexes(CONSUMER_INDEXES)
    await webhooks(db).create_indexes(WEBHOOK_INDEXES)
    await retire_indexes(deliveries(db), RETIRED_DELIVERY_INDEXES)
    await deliveries(db).create_indexes(DELIVERY_INDEXES)
    await db.cancellations.create_indexes(CANCELLATION_INDEXES)
    await db.orders.create_indexes(ORDER_INDEXES)
    await db.after_sales.create_indexes(AFTER_SALE_INDEXES)
    await db.category_policies.create_indexes(POLICY_INDEXES)
    await db.notifications.create_indexes(NOTIFICATION_INDEXES)
    await retire_indexes(db.idempotency_keys, idempotency.RETIRED_INDEXES)
    await db.idempotency_keys.create_indexes(IDEMPOTENCY_INDEXES)
    await db.tickets.create_indexes(TICKET_INDEXES)
    await db.ticket_rules.create_indexes(TICKET_RULE_INDEXES)
    await db.shop_agents.create_indexes(SHOP_AGENT_INDEXES)
    await db.db[EVIDENCE].create_indexes(EVIDENCE_INDEXES)
    await db.db[f"{BUCKET}.chunks"].create_indexes(GRIDFS_CHUNK_INDEXES)
    await db.db[f"{BUCKET}.files"].create_indexes(GRIDFS_FILE_INDEXES)
    await db.db["order_records"].create_indexes(ORDER_RECORD_INDEXES)
    for requests in request_collections(db):
        await requests.create_indexes(REFUND_INDEXES)
    await fold_old_collection(db)
    await fold_old_ledgers(db)

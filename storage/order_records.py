"""The order intake's record of each order, in `order_records` (one document per order, `_id`
the order's id): the marketplace's id for it (unique within the shop; an order placed before
the intake, or by the platform's own mutations, is known by its own id), the placement as the
marketplace sent it (a repeat is compared with it), the stage the intake knows it at and since
when, and the timeline of every update received, applied or not (a stale one included).

Kept beside the order rather than in it: the order's document and indexes stay as they are,
and an order placed before the intake (or by the platform's own mutations) gets its record on
its first move.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne

from models.actors import Actor
from models.order_intake import stage_of
from models.orders import Order
from storage.batch_writes import insert_at_commit
from storage.documents import order_doc
from storage.mongo import IN_CHUNK, Database, Session

# The timeline keeps the latest entries: a marketplace that resends an update forever must not
# grow a document without bound.
TIMELINE_KEPT = 100

ORDER_RECORD_INDEXES = [
    # A repeat is found by the marketplace's id within the shop; two placements of one id race
    # on this index, and the loser decides again (a repeat). Not partial: SecantusDB's planner
    # did not use a partial index for the `$in` lookup, and every batch scanned every record
    # (a third batch of 500 took 7 s against 1.8 s for the first, benchmarks/intake.py).
    IndexModel(
        [("shop_id", ASCENDING), ("external_id", ASCENDING)], name="shop_external", unique=True
    ),
]


def collection(db: Database) -> Any:
    return db.db["order_records"]


def entry(
    action: str, at: datetime, outcome: str, actor: Actor, received_at: datetime
) -> dict[str, Any]:
    """One update as received: what it said, when it said it happened, what became of it."""
    return {
        "action": action,
        "at": at,
        "outcome": outcome,
        "actor_kind": actor.kind.value,
        "actor_id": actor.id,
        "received_at": received_at,
    }


def new_record(
    order: Order,
    external_id: str | None,
    placement: dict[str, Any] | None,
    first: dict[str, Any],
) -> dict[str, Any]:
    return {
        "_id": order.id,
        "shop_id": order.shop_id,
        "external_id": external_id,
        "placement": placement,
        "stage": stage_of(order).value,
        "stage_at": order.placed_at,
        "timeline": [first],
    }


async def by_external(
    db: Database, shop_id: str, external_ids: Sequence[str], session: Session | None = None
) -> dict[str, dict[str, Any]]:
    """The records of these marketplace ids in the shop, by marketplace id (those that exist)."""
    wanted = sorted(set(external_ids))
    docs: list[dict[str, Any]] = []
    for start in range(0, len(wanted), IN_CHUNK):
        query = {"shop_id": shop_id, "external_id": {"$in": wanted[start : start + IN_CHUNK]}}
        docs += await collection(db).find(query, session=session).to_list(None)
    return {d["external_id"]: d for d in docs}


async def by_order(
    db: Database, order_ids: Sequence[str], session: Session | None = None
) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(order_ids))
    docs: list[dict[str, Any]] = []
    for start in range(0, len(wanted), IN_CHUNK):
        query = {"_id": {"$in": wanted[start : start + IN_CHUNK]}}
        docs += await collection(db).find(query, session=session).to_list(None)
    return {d["_id"]: d for d in docs}


async def insert_placed(
    db: Database, orders: list[Order], records: list[dict[str, Any]], session: Session
) -> None:
    """New orders and their records, in the caller's transaction: at its commit in a batch
    (a marketplace's orders placed with the requests opened on them), where a request's
    opening reads its new order by id as it waits and its change is made in its insert
    (storage/batch_writes.py `read_ahead`, `fold_at_commit`)."""
    if orders:
        new = [order_doc(o) for o in orders]
        for target, docs in ((db.orders, new), (collection(db), records)):
            if not insert_at_commit(db, target, docs, session):
                await target.insert_many(docs, session=session)


async def append(
    db: Database,
    shop_of: dict[str, str],
    stages: dict[str, tuple[str, datetime]],
    entries: dict[str, list[dict[str, Any]]],
    session: Session,
) -> None:
    """Each order's new entries, and its stage where it moved; a record is made for an order
    that has none yet (one placed before the intake)."""
    ops = []
    for order_id, new in entries.items():
        update: dict[str, Any] = {
            "$push": {"timeline": {"$each": new, "$slice": -TIMELINE_KEPT}},
            "$setOnInsert": {"shop_id": shop_of[order_id], "external_id": order_id},
        }
        if order_id in stages:
            stage, at = stages[order_id]
            update["$set"] = {"stage": stage, "stage_at": at}
        ops.append(UpdateOne({"_id": order_id}, update, upsert=True))
    if ops:
        await collection(db).bulk_write(ops, ordered=False, session=session)


async def timeline(db: Database, order_id: str) -> list[dict[str, Any]]:
    doc = await collection(db).find_one({"_id": order_id}, {"timeline": 1})
    return list(doc["timeline"]) if doc else []

"""Webhooks and their deliveries.

`webhooks`: `{_id, shop_id, url, event_types: [wire names], secret, status: ACTIVE | PAUSED,
paused_reason, failed_in_a_row, created_at, created_by, subscription}`; each reads the shop's log
as the durable consumer `webhook:<id>` (storage/event_consumers.py), which holds its cursor and
lease. The secret is stored to sign with; nothing reads it out but the sender.

`webhook_deliveries`: a delivery that needed more than one attempt (or failed) has a document of
its own, `_id` the delivery id (webhooks/payloads.py): `{webhook_id, shop_id, seq, first_seq,
event_type, status, attempts, body, created_at, updated_at}`; status RETRYING, DELIVERED or
FAILED; attempts `{at, status_code, excerpt, error, duration_ms}`, the last MAX_ATTEMPTS_KEPT;
the body kept while FAILED. The deliveries of a batch that went through at the first try share
one document, `{webhook_id, shop_id, seq (the last), first_seq, batch: [{id, seq, event_type,
at, status_code, excerpt, error, duration_ms}]}`. A replay adds documents; a listing merges them
per delivery. Kept DELIVERY_RETENTION after their last change, then deleted by
`prune_deliveries` (the dispatcher's retention pass): not a TTL index, which SecantusDB sweeps
by reading the whole collection under its one storage lock (storage/idempotency.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from storage.mongo import Database, Session
from webhooks.event_types import EventType

MAX_ATTEMPTS_KEPT = 20
DELIVERY_RETENTION = timedelta(days=7)

WEBHOOK_INDEXES = [
    IndexModel([("shop_id", ASCENDING), ("created_at", ASCENDING)], name="shop_created"),
    IndexModel([("status", ASCENDING)], name="status"),
]
DELIVERY_INDEXES = [
    IndexModel([("webhook_id", ASCENDING), ("first_seq", DESCENDING)], name="webhook_first_seq"),
    IndexModel([("updated_at", ASCENDING)], name="updated"),
]
# The TTL index of earlier versions: dropped at start.
RETIRED_DELIVERY_INDEXES = ["expire_deliveries"]


def webhooks(db: Database) -> Any:
    return db.db["webhooks"]


def deliveries(db: Database) -> Any:
    return db.db["webhook_deliveries"]


class WebhookStatus(Enum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


class DeliveryStatus(Enum):
    RETRYING = "RETRYING"  # an attempt failed; the next one is waiting for its backoff
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # every attempt failed; kept for replay


def consumer_name(webhook_id: str) -> str:
    return f"webhook:{webhook_id}"


@dataclass(frozen=True)
class Webhook:
    id: str
    shop_id: str
    url: str
    event_types: frozenset[EventType]
    secret: str = field(repr=False)
    status: WebhookStatus
    paused_reason: str | None
    failed_in_a_row: int
    created_at: datetime
    created_by: str
    subscription: str | None = (
        None  # a GraphQL document shaping `data` (resolvers/webhooks/documents.py)
    )

    @property
    def consumer(self) -> str:
        return consumer_name(self.id)


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    shop_id: str
    seq: int
    event_type: EventType
    status: DeliveryStatus
    attempts: tuple[Attempt, ...]
    created_at: datetime
    updated_at: datetime
    body: bytes | None = None


def _webhook(d: dict[str, Any]) -> Webhook:
    return Webhook(
        id=d["_id"],
        shop_id=d["shop_id"],
        url=d["url"],
        event_types=frozenset(EventType(t) for t in d["event_types"]),
        secret=d["secret"],
        status=WebhookStatus(d["status"]),
        paused_reason=d.get("paused_reason"),
        failed_in_a_row=int(d.get("failed_in_a_row", 0)),
        created_at=d["created_at"],
        created_by=d["created_by"],
        subscription=d.get("subscription"),
    )


def _attempt_doc(a: Attempt) -> dict[str, Any]:
    return {
        "at": a.at,
        "status_code": a.status_code,
        "excerpt": a.excerpt,
        "error": a.error,
        "duration_ms": a.duration_ms,
    }


def _delivery(d: dict[str, Any]) -> Delivery:
    return Delivery(
        id=d["_id"],
        webhook_id=d["webhook_id"],
        shop_id=d["shop_id"],
        seq=int(d["seq"]),
        event_type=EventType(d["event_type"]),
        status=DeliveryStatus(d["status"]),
        attempts=tuple(
            Attempt(a["at"], a["status_code"], a["excerpt"], a["error"], a["duration_ms"])
            for a in d.get("attempts", [])
        ),
        created_at=d["created_at"],
        updated_at=d["updated_at"],
        body=d.get("body"),
    )


async def insert(db: Database, w: Webhook, session: Session) -> None:
    await webhooks(db).insert_one(
        {
            "_id": w.id,
            "shop_id": w.shop_id,
            "url": w.url,
            "event_types": sorted(t.value for t in w.event_types),
            "secret": w.secret,
            "status": w.status.value,
            "paused_reason": w.paused_reason,
            "failed_in_a_row": w.failed_in_a_row,
            "created_at": w.created_at,
            "created_by": w.created_by,
            "subscription": w.subscription,
        },
        session=session,
    )


async def get(db: Database, webhook_id: str) -> Webhook | None:
    d = await webhooks(db).find_one({"_id": webhook_id})
    return _webhook(d) if d else None


async def of_shop(db: Database, shop_id: str) -> list[Webhook]:
    found = webhooks(db).find({"shop_id": shop_id}).sort("created_at", ASCENDING)
    return [_webhook(d) async for d in found]


async def active(db: Database) -> list[Webhook]:
    return [_webhook(d) async for d in webhooks(db).find({"status": WebhookStatus.ACTIVE.value})]


async def set_status(
    db: Database,
    webhook_id: str,
    status: WebhookStatus,
    *,
    reason: str | None = None,
    failed_in_a_row: int | None = None,
    session: Session | None = None,
) -> bool:
    changes: dict[str, Any] = {"status": status.value, "paused_reason": reason}
    if failed_in_a_row is not None:
        changes["failed_in_a_row"] = failed_in_a_row
    result = await webhooks(db).update_one({"_id": webhook_id}, {"$set": changes}, session=session)
    return result.matched_count == 1


async def set_failed_in_a_row(db: Database, webhook_id: str, count: int) -> None:
    await webhooks(db).update_one({"_id": webhook_id}, {"$set": {"failed_in_a_row": count}})


async def delete(db: Database, webhook_id: str, session: Session) -> None:
    await webhooks(db).delete_one({"_id": webhook_id}, session=session)
    await deliveries(db).delete_many({"webhook_id": webhook_id}, session=session)


@dataclass(frozen=True)
class DeliveryRecord:
    """What one round of attempts of a delivery added."""

    id: str
    webhook_id: str
    shop_id: str
    seq: int
    event_type: EventType
    status: DeliveryStatus
    attempts: Sequence[Attempt]
    body: bytes | None  # kept while FAILED
    first_try: bool = False  # delivered on the first attempt of this round: batched


def _upsert(r: DeliveryRecord, now: datetime) -> UpdateOne:
    return UpdateOne(
        {"_id": r.id},
        {
            "$set": {
                "webhook_id": r.webhook_id,
                "shop_id": r.shop_id,
                "seq": r.seq,
                "first_seq": r.seq,
                "event_type": r.event_type.value,
                "status": r.status.value,
                "body": r.body,
                "updated_at": now,
            },
            "$setOnInsert": {"created_at": now},
            "$push": {
                "attempts": {
                    "$each": [_attempt_doc(a) for a in r.attempts],
                    "$slice": -MAX_ATTEMPTS_KEPT,
                }
            },
        },
        upsert=True,
    )


def _batch_doc(batch: Sequence[DeliveryRecord], now: datetime) -> dict[str, Any]:
    first = batch[0]
    return {
        "_id": f"{first.id}-{batch[-1].seq}.{ObjectId()}",
        "webhook_id": first.webhook_id,
        "shop_id": first.shop_id,
        "seq": batch[-1].seq,
        "first_seq": first.seq,
        "batch": [
            {"id": r.id, "seq": r.seq, "event_type": r.event_type.value}
            | _attempt_doc(r.attempts[0])
            for r in batch
        ],
        "created_at": now,
        "updated_at": now,
    }


async def record(db: Database, records: Sequence[DeliveryRecord], now: datetime) -> None:
    """A batch of a webhook's deliveries in two writes at most: those delivered at the first try
    as one document (SecantusDB's cost is per document and index entry: recording 500 deliveries
    one document each halved the dispatcher's rate, measured beside benchmarks/webhooks.py), the
    others (retried, failed) one document each, their attempts appended."""
    batch = [r for r in records if r.first_try and r.status is DeliveryStatus.DELIVERED]
    single = [r for r in records if not (r.first_try and r.status is DeliveryStatus.DELIVERED)]
    if batch:
        await deliveries(db).insert_one(_batch_doc(batch, now))
    if single:
        await deliveries(db).bulk_write([_upsert(r, now) for r in single], ordered=True)


def _unrolled(d: dict[str, Any]) -> list[Delivery]:
    if "batch" not in d:
        return [_delivery(d)]
    return [
        Delivery(
            id=item["id"],
            webhook_id=d["webhook_id"],
            shop_id=d["shop_id"],
            seq=int(item["seq"]),
            event_type=EventType(item["event_type"]),
            status=DeliveryStatus.DELIVERED,
            attempts=(
                Attempt(
                    item["at"],
                    item["status_code"],
                    item["excerpt"],
                    item["error"],
                    item["duration_ms"],
                ),
            ),
            created_at=d["created_at"],
            updated_at=d["updated_at"],
        )
        for item in d["batch"]
    ]


def _merged(found: list[Delivery]) -> Delivery:
    """One delivery recorded in several documents (retried, replayed): every attempt in time
    order, the status of the latest."""
    latest = max(found, key=lambda d: d.updated_at)
    attempts = sorted((a for d in found for a in d.attempts), key=lambda a: a.at)
    return Delivery(
        id=latest.id,
        webhook_id=latest.webhook_id,
        shop_id=latest.shop_id,
        seq=latest.seq,
        event_type=latest.event_type,
        status=latest.status,
        attempts=tuple(attempts[-MAX_ATTEMPTS_KEPT:]),
        created_at=min(d.created_at for d in found),
        updated_at=latest.updated_at,
        body=latest.body,
    )


async def of_webhook(
    db: Database,
    webhook_id: str,
    limit: int,
    before_seq: int | None = None,
    status: DeliveryStatus | None = None,
) -> list[Delivery]:
    """The webhook's deliveries, newest event first: at most `limit`, from the newest `limit`
    documents (a batch document holds many)."""
    query: dict[str, Any] = {"webhook_id": webhook_id}
    if before_seq is not None:
        query["first_seq"] = {"$lt": before_seq}
    docs = deliveries(db).find(query).sort("first_seq", DESCENDING).limit(limit)
    by_seq: dict[int, list[Delivery]] = {}
    async for d in docs:
        for one in _unrolled(d):
            if before_seq is None or one.seq < before_seq:
                by_seq.setdefault(one.seq, []).append(one)
    merged = [_merged(by_seq[seq]) for seq in sorted(by_seq, reverse=True)]
    if status is not None:
        merged = [d for d in merged if d.status is status]
    return merged[:limit]


async def prune_deliveries(db: Database, now: datetime) -> int:
    """Deletes the deliveries unchanged for `DELIVERY_RETENTION`; how many went."""
    gone = await deliveries(db).delete_many({"updated_at": {"$lt": now - DELIVERY_RETENTION}})
    return int(gone.deleted_count)

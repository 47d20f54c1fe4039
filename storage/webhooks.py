"""Webhooks and their deliveries.

`webhooks`: `{_id, shop_id, url, event_types: [wire names], secret, status: ACTIVE | PAUSED,
paused_reason, failed_in_a_row, created_at, created_by}`; each reads the shop's log as the
durable consumer `webhook:<id>` (storage/event_consumers.py), which holds its cursor and lease.
The secret is stored to sign with; nothing reads it out but the sender.

`webhook_deliveries`: one document per webhook and event, `_id` the delivery id
(webhooks/payloads.py): `{webhook_id, shop_id, seq, event_type, status, attempts, body,
created_at, updated_at}`; status RETRYING, DELIVERED or FAILED; attempts `{at, status_code,
excerpt, error, duration_ms}`, the last MAX_ATTEMPTS_KEPT; the body kept while FAILED. Kept
DELIVERY_RETENTION after their last change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.errors import BulkWriteError

from storage.mongo import Database, Session
from webhooks.event_types import EventType

MAX_ATTEMPTS_KEPT = 20
DELIVERY_RETENTION = timedelta(days=7)

WEBHOOK_INDEXES = [
    IndexModel([("shop_id", ASCENDING), ("created_at", ASCENDING)], name="shop_created"),
    IndexModel([("status", ASCENDING)], name="status"),
]
DELIVERY_INDEXES = [
    IndexModel([("webhook_id", ASCENDING), ("seq", DESCENDING)], name="webhook_seq"),
    IndexModel(
        [("updated_at", ASCENDING)],
        name="expire_deliveries",
        expireAfterSeconds=int(DELIVERY_RETENTION.total_seconds()),
    ),
]


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


def _delivery_doc(r: DeliveryRecord, now: datetime) -> dict[str, Any]:
    return {
        "_id": r.id,
        "webhook_id": r.webhook_id,
        "shop_id": r.shop_id,
        "seq": r.seq,
        "event_type": r.event_type.value,
        "status": r.status.value,
        "body": r.body,
        "attempts": [_attempt_doc(a) for a in r.attempts][-MAX_ATTEMPTS_KEPT:],
        "created_at": now,
        "updated_at": now,
    }


def _upsert(r: DeliveryRecord, now: datetime) -> UpdateOne:
    return UpdateOne(
        {"_id": r.id},
        {
            "$set": {
                "webhook_id": r.webhook_id,
                "shop_id": r.shop_id,
                "seq": r.seq,
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


async def record(db: Database, records: Sequence[DeliveryRecord], now: datetime) -> None:
    """A batch in two round trips at most. A delivery done on its first attempt is usually new:
    inserted (on SecantusDB a bulk of upserts cost 2.5 times as much: 100 took 240 to 300 ms
    against 89 to 107 ms, measured beside benchmarks/webhooks.py on a loaded machine); one
    already there (a replay) and every retry are upserted, their attempts appended."""
    fresh = [r for r in records if r.status is DeliveryStatus.DELIVERED and len(r.attempts) == 1]
    known = [
        r for r in records if not (r.status is DeliveryStatus.DELIVERED and len(r.attempts) == 1)
    ]
    if fresh:
        try:
            await deliveries(db).insert_many([_delivery_doc(r, now) for r in fresh], ordered=False)
        except BulkWriteError as exc:
            taken = {e["index"] for e in exc.details.get("writeErrors", []) if e["code"] == 11000}
            if len(taken) != len(exc.details.get("writeErrors", [])):
                raise
            known += [r for n, r in enumerate(fresh) if n in taken]
    if known:
        await deliveries(db).bulk_write([_upsert(r, now) for r in known], ordered=True)


async def of_webhook(
    db: Database,
    webhook_id: str,
    limit: int,
    before_seq: int | None = None,
    status: DeliveryStatus | None = None,
) -> list[Delivery]:
    """The webhook's deliveries, newest event first."""
    query: dict[str, Any] = {"webhook_id": webhook_id}
    if before_seq is not None:
        query["seq"] = {"$lt": before_seq}
    if status is not None:
        query["status"] = status.value
    found = deliveries(db).find(query).sort("seq", DESCENDING).limit(limit)
    return [_delivery(d) async for d in found]

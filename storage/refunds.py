"""Refunds (`refunds`, one document per refund, models/refunds.py) and the shops that have a
payment integration registered (`payment_integrations`, one document per shop).

`refunds`: `{_id: "rfd_<request id>", shop_id, order_id, request_id, request_kind, amount_minor,
currency, lines: [{line_id, quantity, amount_minor}], state, instructed_at, settled_by,
reference, failure_reason, settled_at, version}`. Inserted by the write that decides the refund;
the `_id` is the request's, so a second instruction for one request is a duplicate key, never a
second refund. A settlement saves it with compare-and-set on `version`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel

from models.money import Money
from models.refund_ledger import LineRefund
from models.refunds import Refund, RefundState, SettledBy
from models.requests import RequestKind
from storage.mongo import ConcurrentUpdate, Database, Session, find_by_ids

REFUND_INDEXES = [
    IndexModel([("request_id", ASCENDING)], name="request", unique=True),
    IndexModel([("shop_id", ASCENDING), ("state", ASCENDING)], name="shop_state"),
]


def refunds(db: Database) -> Any:
    return db.db["refunds"]


def integrations(db: Database) -> Any:
    return db.db["payment_integrations"]


def refund_doc(r: Refund) -> dict[str, Any]:
    return {
        "_id": r.id,
        "shop_id": r.shop_id,
        "order_id": r.order_id,
        "request_id": r.request_id,
        "request_kind": r.request_kind.value,
        "amount_minor": r.amount.minor,
        "currency": r.amount.currency,
        "lines": [
            {"line_id": li.line_id, "quantity": li.quantity, "amount_minor": li.amount.minor}
            for li in r.lines
        ],
        "state": r.state.value,
        "instructed_at": r.instructed_at,
        "settled_by": r.settled_by.value if r.settled_by else None,
        "reference": r.reference,
        "failure_reason": r.failure_reason,
        "settled_at": r.settled_at,
        "version": r.version,
    }


def refund_from(d: dict[str, Any]) -> Refund:
    currency = d["currency"]
    return Refund(
        id=d["_id"],
        shop_id=d["shop_id"],
        order_id=d["order_id"],
        request_id=d["request_id"],
        request_kind=RequestKind(d["request_kind"]),
        amount=Money(int(d["amount_minor"]), currency),
        lines=tuple(
            LineRefund(x["line_id"], int(x["quantity"]), Money(int(x["amount_minor"]), currency))
            for x in d["lines"]
        ),
        state=RefundState(d["state"]),
        instructed_at=d["instructed_at"],
        settled_by=SettledBy(d["settled_by"]) if d.get("settled_by") else None,
        reference=d.get("reference"),
        failure_reason=d.get("failure_reason"),
        settled_at=d.get("settled_at"),
        version=int(d.get("version", 0)),
    )


async def insert_many(db: Database, new: Sequence[Refund], session: Session) -> None:
    if new:
        await refunds(db).insert_many([refund_doc(r) for r in new], session=session)


async def get_many(
    db: Database, ids: list[str], session: Session | None = None
) -> dict[str, Refund]:
    return {d["_id"]: refund_from(d) for d in await find_by_ids(refunds(db), ids, session)}


async def of_requests(
    db: Database, request_ids: list[str], session: Session | None = None
) -> dict[str, Refund]:
    """The refund of each request that has one, by request id."""
    cursor = refunds(db).find({"request_id": {"$in": request_ids}}, session=session)
    return {d["request_id"]: refund_from(d) async for d in cursor}


async def in_shop(
    db: Database, shop_id: str, state: RefundState | None, limit: int
) -> list[Refund]:
    """The shop's refunds (in one state), newest first."""
    query: dict[str, Any] = {"shop_id": shop_id}
    if state is not None:
        query["state"] = state.value
    cursor = refunds(db).find(query).sort("instructed_at", -1).limit(limit)
    return [refund_from(d) async for d in cursor]


async def save(db: Database, before: Refund, after: Refund, session: Session) -> Refund:
    """`after`, if the stored refund is still at `before`'s version (else ConcurrentUpdate)."""
    saved = Refund(**{**after.__dict__, "version": before.version + 1})
    result = await refunds(db).replace_one(
        {"_id": before.id, "version": before.version}, refund_doc(saved), session=session
    )
    if result.matched_count != 1:
        raise ConcurrentUpdate(f"refund {before.id} changed while it was settled")
    return saved


# ---- the shops whose payment system settles their refunds -------------------------------------


async def integrated_shops(
    db: Database, shop_ids: list[str], session: Session | None = None
) -> set[str]:
    """Which of these shops have a payment integration registered."""
    docs = await find_by_ids(integrations(db), sorted(set(shop_ids)), session)
    return {d["_id"] for d in docs}


async def register(db: Database, shop_id: str, by: str, at: datetime) -> bool:
    """Register the shop's payment integration; False when it was registered already."""
    result = await integrations(db).update_one(
        {"_id": shop_id},
        {"$setOnInsert": {"registered_by": by, "registered_at": at}},
        upsert=True,
    )
    return result.upserted_id is not None

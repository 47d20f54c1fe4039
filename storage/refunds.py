"""Refunds (models/refunds.py), each inside the document of the request that decided it, and the
shops that have a payment integration registered (`payment_integrations`, one document per shop).

A request's refund is its field `refund_record`: `{id: "rfd_<request id>", shop_id, order_id,
request_id, request_kind, amount_minor, currency, lines: [{line_id, quantity, amount_minor}],
state, instructed_at, settled_by, reference, failure_reason, settled_at, version}`. It is set by
the write that decides the refund, in the same statement as the request's own change
(services/request_writes.py), so a refunding move writes no document of its own for it; one
field per request is one refund per request, and the id names the request, so a settlement finds
it by id. A settlement saves it with compare-and-set on its `version`. The shop's refunds (in one
state) are listed on the sparse `refunds_state` index of both request collections, which holds
only the requests that have one.

Refunds stored by earlier versions in a `refunds` collection of their own are moved into their
requests at start (`fold_old_collection`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel

from models.money import Money
from models.refund_ledger import LineRefund
from models.refunds import Refund, RefundState, SettledBy
from models.requests import RequestKind
from storage.batch_writes import find_by_ids
from storage.mongo import ConcurrentUpdate, Database, Session, fold_collection

FIELD = "refund_record"
_PREFIX = "rfd_"

# On each request collection. Sparse: a request without a refund has none of these keys. One
# index, not one more without the state: every index costs every write of a request on
# SecantusDB (docs/architecture.md, "What a write costs"), and a list of every state reads
# each state's range (`in_shop`).
REFUND_INDEXES = [
    IndexModel(
        [
            (f"{FIELD}.shop_id", ASCENDING),
            (f"{FIELD}.state", ASCENDING),
            (f"{FIELD}.instructed_at", DESCENDING),
        ],
        name="refunds_state",
        sparse=True,
    ),
]

# Where the refunds were kept before they moved into their requests.
OLD_COLLECTION = "refunds"


def request_collections(db: Database) -> list[Any]:
    return [db.cancellations, db.after_sales]


def collection_of(db: Database, kind: RequestKind) -> Any:
    return db.cancellations if kind is RequestKind.CANCELLATION else db.after_sales


def integrations(db: Database) -> Any:
    return db.db["payment_integrations"]


def refund_doc(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id,
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
        id=d["id"],
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


def fields_of(new: Sequence[Refund]) -> dict[str, dict[str, Any]]:
    """What each refunding request's document gains, by request id: its refund."""
    return {r.request_id: {FIELD: refund_doc(r)} for r in new}


def _recorded(docs: Sequence[dict[str, Any]]) -> list[Refund]:
    return [refund_from(d[FIELD]) for d in docs if d.get(FIELD)]


async def of_requests(
    db: Database, request_ids: list[str], session: Session | None = None
) -> dict[str, Refund]:
    """The refund of each request that has one, by request id."""
    found: list[Refund] = []
    for requests in request_collections(db):
        found += _recorded(await find_by_ids(requests, request_ids, session))
    return {r.request_id: r for r in found}


async def get_many(
    db: Database, ids: list[str], session: Session | None = None
) -> dict[str, Refund]:
    """The refunds with these ids (the id names its request)."""
    request_ids = [i.removeprefix(_PREFIX) for i in ids if i.startswith(_PREFIX)]
    by_request = await of_requests(db, request_ids, session)
    return {r.id: r for r in by_request.values() if r.id in ids}


async def in_shop(
    db: Database, shop_id: str, state: RefundState | None, limit: int
) -> list[Refund]:
    """The shop's refunds (in one state), newest first: the newest `limit` of each state and
    request collection, merged."""
    found: list[Refund] = []
    for s in [state] if state is not None else list(RefundState):
        query = {f"{FIELD}.shop_id": shop_id, f"{FIELD}.state": s.value}
        for requests in request_collections(db):
            cursor = requests.find(query, {FIELD: 1}).sort(f"{FIELD}.instructed_at", -1)
            found += _recorded(await cursor.limit(limit).to_list(None))
    found.sort(key=lambda r: r.instructed_at, reverse=True)
    return found[:limit]


async def save(db: Database, before: Refund, after: Refund, session: Session) -> Refund:
    """`after`, if the stored refund is still at `before`'s version (else ConcurrentUpdate)."""
    saved = Refund(**{**after.__dict__, "version": before.version + 1})
    result = await collection_of(db, before.request_kind).update_one(
        {"_id": before.request_id, f"{FIELD}.version": before.version},
        {"$set": {FIELD: refund_doc(saved)}},
        session=session,
    )
    if result.matched_count != 1:
        raise ConcurrentUpdate(f"refund {before.id} changed while it was settled")
    return saved


async def fold_old_collection(db: Database) -> int:
    """Move refunds an earlier version kept in their own collection into their requests (a
    request that has its refund already keeps it); returns how many moved."""

    def into(d: dict[str, Any]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        record = {**{k: v for k, v in d.items() if k != "_id"}, "id": d["_id"]}
        requests = collection_of(db, RequestKind(d["request_kind"]))
        query = {"_id": d["request_id"], FIELD: {"$exists": False}}
        return requests, query, {"$set": {FIELD: record}}

    return await fold_collection(db, OLD_COLLECTION, into)


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

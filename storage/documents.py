"""Mapping between domain objects and MongoDB documents. Money is stored as integer minor units."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from typing import Any, TypeVar

from models.actors import ActorKind
from models.cancellations import (
    Cancellation,
    CancellationAction,
    CancellationStatus,
    Initiator,
    RefundBreakdown,
    TimelineRecord,
)
from models.money import Money
from models.orders import (
    CancelledUnits,
    FulfilmentState,
    LineItem,
    Order,
    PaymentMethod,
    PaymentState,
)
from models.policy import CategoryPolicy
from models.refund_ledger import LineRefund
from models.requests import Opened
from storage.keys import ALL, sort_key
from storage.rebuild import frozen_constructor

Doc = dict[str, Any]
E = TypeVar("E", bound=Enum)


def _member(enum: type[E], value: Any) -> E:
    """`enum(value)`, by a plain dict lookup first: a page of 50 requests decodes ~250 members,
    and Enum's own call costs ~0.4 us each. An unknown value still raises Enum's ValueError."""
    try:
        member = enum._value2member_map_.get(value)
    except TypeError:  # not hashable: Enum's own call says what is wrong with it
        member = None
    return member if member is not None else enum(value)  # type: ignore[return-value]


# What LineItem(...), TimelineRecord(...) and Cancellation(...) build, for a fraction of
# frozen's cost: a tab page decodes 50 requests and their lines (storage/rebuild.py).
_new_line = frozen_constructor(LineItem)
_new_record = frozen_constructor(TimelineRecord)
_new_cancellation = frozen_constructor(Cancellation)


def money_doc(m: Money) -> Doc:
    return {"minor": m.minor, "currency": m.currency}


def money_from(d: Doc) -> Money:
    return _money(d["minor"], d["currency"])


@lru_cache(maxsize=4096)
def _money(minor: int, currency: str) -> Money:
    # Money is immutable and a shop's prices repeat: a tab page of 50 requests decodes ~100
    # amounts, and a lookup costs a quarter of building and checking one. (Keys equal as
    # numbers share an entry, which is what int() would have made of them anyway.)
    return Money(int(minor), currency)


def line_doc(line: LineItem) -> Doc:
    return {
        "line_id": line.line_id,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": money_doc(line.unit_price),
        "category": line.category,
    }


def line_from(d: Doc) -> LineItem:
    return _new_line(
        line_id=d["line_id"],
        sku=d["sku"],
        title=d["title"],
        quantity=d["quantity"],
        unit_price=money_from(d["unit_price"]),
        category=d["category"],
    )


def order_doc(o: Order) -> Doc:
    return {
        "_id": o.id,
        "shop_id": o.shop_id,
        "buyer_id": o.buyer_id,
        "lines": [line_doc(line) for line in o.lines],
        "shipping_fee": money_doc(o.shipping_fee),
        "payment_method": o.payment_method.value,
        "payment_state": o.payment_state.value,
        "fulfilment_state": o.fulfilment_state.value,
        "states": [ALL, o.fulfilment_state.value],  # list keys: see storage/keys.py
        "placed_at": o.placed_at,
        "k_placed": sort_key(o.placed_at, o.id),
        "payment_due_at": o.payment_due_at,
        "paid_at": o.paid_at,
        "shipped_at": o.shipped_at,
        "delivered_at": o.delivered_at,
        "cancelled_at": o.cancelled_at,
        "carrier": o.carrier,
        "tracking_number": o.tracking_number,
        "refunded": money_doc(o.refunded) if o.refunded else None,
        "open_cancellation_id": o.open_cancellation_id,
        "rejected_cancellation_id": o.rejected_cancellation_id,
        "cancelled_by": o.cancelled_by,
        "cancelled_lines": [cancelled_units_doc(u) for u in o.cancelled_lines],
        "version": o.version,
        "replacement_of": o.replacement_of,
        "replacement_request_id": o.replacement_request_id,
        "replacement_order_ids": list(o.replacement_order_ids),
    }


def cancelled_units_doc(u: CancelledUnits) -> Doc:
    return {
        "line_id": u.line_id,
        "quantity": u.quantity,
        "cancellation_id": u.cancellation_id,
        "reason": u.reason,
        "actor_kind": u.actor_kind.value,
        "actor_id": u.actor_id,
        "at": u.at,
        "refunded": money_doc(u.refunded),
        "voided": u.voided,
    }


def cancelled_units_from(d: Doc) -> CancelledUnits:
    return CancelledUnits(
        line_id=d["line_id"],
        quantity=d["quantity"],
        cancellation_id=d["cancellation_id"],
        reason=d["reason"],
        actor_kind=_member(ActorKind, d["actor_kind"]),
        actor_id=d["actor_id"],
        at=d["at"],
        refunded=money_from(d["refunded"]),
        voided=d["voided"],
    )


def order_from(d: Doc) -> Order:
    return Order(
        id=d["_id"],
        shop_id=d["shop_id"],
        buyer_id=d["buyer_id"],
        lines=tuple(line_from(x) for x in d["lines"]),
        shipping_fee=money_from(d["shipping_fee"]),
        payment_method=PaymentMethod(d["payment_method"]),
        payment_state=PaymentState(d["payment_state"]),
        fulfilment_state=FulfilmentState(d["fulfilment_state"]),
        placed_at=d["placed_at"],
        payment_due_at=d.get("payment_due_at"),
        paid_at=d.get("paid_at"),
        shipped_at=d.get("shipped_at"),
        delivered_at=d.get("delivered_at"),
        cancelled_at=d.get("cancelled_at"),
        carrier=d.get("carrier"),
        tracking_number=d.get("tracking_number"),
        refunded=money_from(d["refunded"]) if d.get("refunded") else None,
        open_cancellation_id=d.get("open_cancellation_id"),
        rejected_cancellation_id=d.get("rejected_cancellation_id"),
        cancelled_by=d.get("cancelled_by"),
        cancelled_lines=tuple(cancelled_units_from(u) for u in d.get("cancelled_lines") or ()),
        version=d.get("version", 0),
        replacement_of=d.get("replacement_of"),
        replacement_request_id=d.get("replacement_request_id"),
        replacement_order_ids=tuple(d.get("replacement_order_ids", ())),
    )


def record_doc(r: TimelineRecord) -> Doc:
    return {
        "at": r.at,
        "actor_kind": r.actor_kind.value,
        "actor_id": r.actor_id,
        "action": r.action.value,
        "from_status": r.from_status.value if r.from_status else None,
        "to_status": r.to_status.value,
        "reason": r.reason,
        "comment": r.comment,
        "deadline": r.deadline,
    }


def record_from(
    d: Doc,
    actions: type[Enum] = CancellationAction,
    statuses: type[Enum] = CancellationStatus,
) -> TimelineRecord:
    """A timeline record of any kind of request, with that kind's actions and statuses."""
    from_status = d.get("from_status")
    return _new_record(
        at=d["at"],
        actor_kind=_member(ActorKind, d["actor_kind"]),
        actor_id=d["actor_id"],
        action=_member(actions, d["action"]),
        from_status=_member(statuses, from_status) if from_status else None,
        to_status=_member(statuses, d["to_status"]),
        reason=d.get("reason"),
        comment=d.get("comment"),
        deadline=d.get("deadline"),
    )


def breakdown_doc(b: RefundBreakdown) -> Doc:
    return {
        "items": money_doc(b.items),
        "shipping": money_doc(b.shipping),
        "lines": [
            {"line_id": x.line_id, "quantity": x.quantity, "amount": money_doc(x.amount)}
            for x in b.lines
        ],
    }


def breakdown_from(d: Doc) -> RefundBreakdown:
    return RefundBreakdown(
        money_from(d["items"]),
        money_from(d["shipping"]),
        tuple(
            LineRefund(x["line_id"], x["quantity"], money_from(x["amount"]))
            for x in d.get("lines", [])
        ),
    )


def opened_doc(r: Any) -> Doc:
    """The fields every kind of request is opened with (models/requests.py::Opened)."""
    return {
        "_id": r.id,
        "order_id": r.order_id,
        "shop_id": r.shop_id,
        "buyer_id": r.buyer_id,
        "initiator": r.initiator.value,
        "reason": r.reason,
        "note": r.note,
        "currency": r.currency,
        "policy": r.policy.to_seconds(),
        "requested_at": r.requested_at,
        "k_requested": sort_key(r.requested_at, r.id),
    }


def opened_from(d: Doc) -> Opened:
    return Opened(
        id=d["_id"],
        order_id=d["order_id"],
        shop_id=d["shop_id"],
        buyer_id=d["buyer_id"],
        initiator=_member(Initiator, d["initiator"]),
        reason=d["reason"],
        note=d.get("note"),
        currency=d["currency"],
        policy=CategoryPolicy.from_seconds(d["policy"]),
        requested_at=d["requested_at"],
    )


def cancellation_doc(c: Cancellation) -> Doc:
    return {
        **opened_doc(c),
        "status": c.status.value,
        "tabs": [ALL, c.tab.value],  # list keys: see storage/keys.py
        "respond_by": c.respond_by,
        # Sorted by deadline only while it runs (a decided request keeps `respond_by`).
        "k_deadline": sort_key(c.respond_by if c.next_action else None, c.id),
        "resolved_at": c.resolved_at,
        "rejection_reason": c.rejection_reason,
        "rejection_comment": c.rejection_comment,
        "refund": breakdown_doc(c.refund) if c.refund else None,
        "lines": [line_doc(line) for line in c.lines],
        "timeline": [record_doc(r) for r in c.timeline],
        "version": c.version,
    }


def cancellation_from(d: Doc) -> Cancellation:
    refund = d.get("refund")
    return _new_cancellation(
        **opened_from(d),
        status=_member(CancellationStatus, d["status"]),
        lines=tuple([line_from(x) for x in d["lines"]]),
        respond_by=d.get("respond_by"),
        resolved_at=d.get("resolved_at"),
        rejection_reason=d.get("rejection_reason"),
        rejection_comment=d.get("rejection_comment"),
        refund=breakdown_from(refund) if refund else None,
        timeline=tuple([record_from(r) for r in d.get("timeline", [])]),
        version=d.get("version", 0),
    )


def changes_between(before: Doc, after: Doc) -> Doc:
    """The update that turns `before` into `after`: `$set` of the changed fields, and `$push` of
    the records added to the end of an embedded timeline. Rewriting only what moved keeps the
    work per decision close to a bare update of the same fields."""
    update: Doc = {}
    changed = {k: v for k, v in after.items() if k != "_id" and before.get(k) != v}
    old_timeline, new_timeline = before.get("timeline"), after.get("timeline")
    if (
        "timeline" in changed
        and isinstance(old_timeline, list)
        and isinstance(new_timeline, list)
        and new_timeline[: len(old_timeline)] == old_timeline
    ):
        del changed["timeline"]
        update["$push"] = {"timeline": {"$each": new_timeline[len(old_timeline) :]}}
    if changed:
        update["$set"] = changed
    return update

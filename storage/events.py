"""The event log behind the live feed: `events`, one document per status change of a request
and one per change to a helpdesk ticket (`type: "TICKET"`) or to an order (`type: "ORDER"`: placed
or moved, models/events.py OrderEvent) or to a refund (`type: "REFUND"`: instructed, settled,
failed, RefundEvent); a document without `type` is a request event. All kinds share the shop's
numbering, so one cursor orders them. A ticket's change that follows its request's move in the
same write is carried by the request's event document (`CARRIED`) and numbered right after it,
and so is the refund instruction the write decided for that request (`CARRIED_REFUND`, after
both): a move writes one event document, and every reader splits a document into its events
(`events_from`), reading from `MAX_CARRIED - 1` numbers before its cursor. The same document
carries the notice that change sent (storage/notifications.py: `inboxes`, `to`, `k_at`), so a
move writes no notification document either; the inboxes read it here on the `inbox_at` index.

Order. Each shop has its own feed, numbered 1, 2, 3, ... by a counter document per shop
(`event_sequences`) moved in the same transaction as the change, as its last write before the
commit. Two transactions of one shop both move that counter, so the second waits for (or retries
after) the first: a shop's numbers
commit in order and without gaps, and the change stream (commit order) delivers them in order.
Writes of different shops never touch the same counter, so nothing serializes across shops; a
shop's writes were already serialized by its tab counter (storage/tab_counts.py).

Retention. Events are kept at least `RETENTION` after `stored_at` (the wall-clock time of the
write), long enough for a console to reconnect after a night, and until every durable consumer
of the shop has passed them (storage/event_retention.py prunes; storage/event_consumers.py);
a cursor older than what is kept is refused with CursorExpired (the client reloads its page and
subscribes afresh).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument

from models.actors import ActorKind
from models.events import OrderEvent, RefundEvent, RequestKind, StatusEvent, TicketEvent
from models.notifications import Notification
from storage import notifications
from storage.mongo import BeforeCommit, Database, Session

RETENTION = timedelta(hours=24)

EVENT_INDEXES = [
    # Replay of one shop's feed after a cursor: equality on the shop, one range on seq.
    IndexModel([("shop_id", ASCENDING), ("seq", ASCENDING)], name="shop_seq", unique=True),
    # Retention's scan (storage/event_retention.py): not a TTL index, which cannot see consumers.
    IndexModel([("stored_at", ASCENDING)], name="stored_at"),
    # An inbox's page (storage/notifications.py). Sparse, so only the documents that carry a
    # notice are in it (SecantusDB's planner does not pick a partial index for this query).
    IndexModel([("inboxes", ASCENDING), ("k_at", ASCENDING)], name="inbox_at", sparse=True),
]


@dataclass(frozen=True)
class StoredEvent:
    """An event with its place in its shop's feed."""

    id: str
    seq: int
    event: AnyEvent
    stored_at: datetime

    @property
    def shop_id(self) -> str:
        return self.event.shop_id


TICKET = "TICKET"
ORDER = "ORDER"
# A request's status event carries its ticket's change of the same write (one document, two
# numbers: the ticket's is the next), so a move writes one event document, not two.
CARRIED = "ticket"
# So is the refund instruction the same write decided for that request (a shop whose payment
# system settles its refunds), numbered after both: a refunding move writes one event document too.
CARRIED_REFUND = "refund"
_SHARED = ("shop_id", "type", "stored_at")
REFUND = "REFUND"

AnyEvent = StatusEvent | TicketEvent | OrderEvent | RefundEvent


def refund_event_doc(e: RefundEvent, seq: int, stored_at: datetime) -> dict[str, Any]:
    return {
        "_id": f"evt_{ObjectId()}",
        "type": REFUND,
        "shop_id": e.shop_id,
        "seq": seq,
        "refund_id": e.refund_id,
        "order_id": e.order_id,
        "request_id": e.request_id,
        "kind": e.kind.value,
        "action": e.action,
        "amount_minor": e.amount_minor,
        "currency": e.currency,
        "lines": [list(li) for li in e.lines],
        "reference": e.reference,
        "failure_reason": e.failure_reason,
        "actor_kind": e.actor_kind.value,
        "actor_id": e.actor_id,
        "at": e.at,
        "stored_at": stored_at,
    }


def refund_event_from(d: dict[str, Any]) -> RefundEvent:
    return RefundEvent(
        refund_id=d["refund_id"],
        shop_id=d["shop_id"],
        order_id=d["order_id"],
        request_id=d["request_id"],
        kind=RequestKind(d["kind"]),
        action=d["action"],
        amount_minor=int(d["amount_minor"]),
        currency=d["currency"],
        lines=tuple((str(li[0]), int(li[1]), int(li[2])) for li in d["lines"]),
        reference=d["reference"],
        failure_reason=d["failure_reason"],
        actor_kind=ActorKind(d["actor_kind"]),
        actor_id=d["actor_id"],
        at=d["at"],
    )


def order_event_doc(e: OrderEvent, seq: int, stored_at: datetime) -> dict[str, Any]:
    return {
        "_id": f"evt_{ObjectId()}",
        "type": ORDER,
        "shop_id": e.shop_id,
        "seq": seq,
        "order_id": e.order_id,
        "buyer_id": e.buyer_id,
        "external_id": e.external_id,
        "action": e.action,
        "from_stage": e.from_stage,
        "to_stage": e.to_stage,
        "fulfilment_state": e.fulfilment_state,
        "payment_state": e.payment_state,
        "actor_kind": e.actor_kind.value,
        "actor_id": e.actor_id,
        "at": e.at,
        "stored_at": stored_at,
    }


def order_event_from(d: dict[str, Any]) -> OrderEvent:
    return OrderEvent(
        order_id=d["order_id"],
        shop_id=d["shop_id"],
        buyer_id=d["buyer_id"],
        external_id=d["external_id"],
        action=d["action"],
        from_stage=d["from_stage"],
        to_stage=d["to_stage"],
        fulfilment_state=d["fulfilment_state"],
        payment_state=d["payment_state"],
        actor_kind=ActorKind(d["actor_kind"]),
        actor_id=d["actor_id"],
        at=d["at"],
    )


def ticket_event_doc(e: TicketEvent, seq: int, stored_at: datetime) -> dict[str, Any]:
    return {
        "_id": f"evt_{ObjectId()}",
        "type": TICKET,
        "shop_id": e.shop_id,
        "seq": seq,
        "ticket_id": e.ticket_id,
        "kind": e.kind.value,
        "request_id": e.request_id,
        "order_id": e.order_id,
        "action": e.action,
        "detail": e.detail,
        "status": e.status,
        "assignee": e.assignee,
        "tags": list(e.tags),
        "actor_kind": e.actor_kind.value,
        "actor_id": e.actor_id,
        "rule_id": e.rule_id,
        "rule_name": e.rule_name,
        "at": e.at,
        "stored_at": stored_at,
    }


def ticket_event_from(d: dict[str, Any]) -> TicketEvent:
    return TicketEvent(
        ticket_id=d["ticket_id"],
        kind=RequestKind(d["kind"]),
        request_id=d["request_id"],
        order_id=d["order_id"],
        shop_id=d["shop_id"],
        action=d["action"],
        detail=d["detail"],
        status=d["status"],
        assignee=d["assignee"],
        tags=tuple(d["tags"]),
        actor_kind=ActorKind(d["actor_kind"]),
        actor_id=d["actor_id"],
        rule_id=d["rule_id"],
        rule_name=d["rule_name"],
        at=d["at"],
    )


def event_doc(e: AnyEvent, seq: int, stored_at: datetime) -> dict[str, Any]:
    if isinstance(e, RefundEvent):
        return refund_event_doc(e, seq, stored_at)
    if isinstance(e, TicketEvent):
        return ticket_event_doc(e, seq, stored_at)
    if isinstance(e, OrderEvent):
        return order_event_doc(e, seq, stored_at)
    return {
        "_id": f"evt_{ObjectId()}",
        "shop_id": e.shop_id,
        "seq": seq,
        "kind": e.kind.value,
        "request_id": e.request_id,
        "order_id": e.order_id,
        "buyer_id": e.buyer_id,
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "from_tab": e.from_tab,
        "to_tab": e.to_tab,
        "actor_kind": e.actor_kind.value,
        "actor_id": e.actor_id,
        "reason": e.reason,
        "at": e.at,
        "stored_at": stored_at,
    }


def events_from(d: dict[str, Any]) -> list[StoredEvent]:
    """The events one document holds, in order: its own, then the ticket's change and the
    refund instruction it carries, if any."""
    found = [event_from(d)]
    for key, kind in ((CARRIED, TICKET), (CARRIED_REFUND, REFUND)):
        carried = d.get(key)
        if carried is not None:
            shared = {"shop_id": d["shop_id"], "type": kind, "stored_at": d["stored_at"]}
            found.append(event_from({**carried, **shared}))
    return found


def last_seq(d: dict[str, Any]) -> int:
    """The number of the last event a document holds."""
    carried = [d[k]["seq"] for k in (CARRIED, CARRIED_REFUND) if d.get(k) is not None]
    return int(max(carried, default=d["seq"]))


# A document carries at most this many events after its own number: a reader from a cursor
# starts this far before it, so a document that carries the next number is read.
MAX_CARRIED = 2


def event_from(d: dict[str, Any]) -> StoredEvent:
    if d.get("type") == TICKET:
        return StoredEvent(d["_id"], int(d["seq"]), ticket_event_from(d), d["stored_at"])
    if d.get("type") == ORDER:
        return StoredEvent(d["_id"], int(d["seq"]), order_event_from(d), d["stored_at"])
    if d.get("type") == REFUND:
        return StoredEvent(d["_id"], int(d["seq"]), refund_event_from(d), d["stored_at"])
    return StoredEvent(
        id=d["_id"],
        seq=int(d["seq"]),
        stored_at=d["stored_at"],
        event=StatusEvent(
            kind=RequestKind(d["kind"]),
            request_id=d["request_id"],
            order_id=d["order_id"],
            shop_id=d["shop_id"],
            buyer_id=d["buyer_id"],
            action=d["action"],
            from_status=d["from_status"],
            to_status=d["to_status"],
            from_tab=d["from_tab"],
            to_tab=d["to_tab"],
            actor_kind=ActorKind(d["actor_kind"]),
            actor_id=d["actor_id"],
            reason=d["reason"],
            at=d["at"],
        ),
    )


@dataclass
class _Carrier:
    event: AnyEvent
    ticket: TicketEvent | None = None
    refund: RefundEvent | None = None


def _carrying(events: list[AnyEvent]) -> list[_Carrier]:
    """The events in order, each request's ticket change and then its refund instruction carried
    by that request's last status event of the same write, numbered right after it (one of each;
    a ticket change after the refund's is a document of its own, so the numbers keep the order
    the events came in)."""
    out: list[_Carrier] = []
    last_of: dict[str, _Carrier] = {}  # request id -> its last status event's carrier
    for e in events:
        at = None if isinstance(e, OrderEvent) else last_of.get(e.request_id)
        if isinstance(e, TicketEvent) and at and at.ticket is None and at.refund is None:
            at.ticket = e
            continue
        if isinstance(e, RefundEvent) and at and at.refund is None:
            at.refund = e
            continue
        out.append(_Carrier(e))
        if isinstance(e, StatusEvent):
            last_of[e.request_id] = out[-1]
    return out


def event_docs(events: list[AnyEvent], first: int, stored_at: datetime) -> list[dict[str, Any]]:
    """The documents of one shop's events of one write, numbered from `first`."""
    docs = []
    seq = first - 1
    for c in _carrying(events):
        seq += 1
        doc = event_doc(c.event, seq, stored_at)
        for key, carried in ((CARRIED, c.ticket), (CARRIED_REFUND, c.refund)):
            if carried is not None:
                seq += 1
                carried_doc = event_doc(carried, seq, stored_at)
                doc[key] = {k: v for k, v in carried_doc.items() if k not in _SHARED}
        docs.append(doc)
    return docs


def with_notices(docs: list[dict[str, Any]], notes: Sequence[Notification]) -> list[Notification]:
    """Each change's notice on the document of its status event (same request, order and time),
    the last one of the write; returns the notes no status event of these documents carries."""
    groups = notifications.by_change(notes)
    for d in reversed(docs):
        if "type" in d:
            continue
        group = groups.pop((d["request_id"], d["order_id"], d["at"]), None)
        if group is not None:
            d.update(notifications.notice(d["_id"], group))
    return [n for group in groups.values() for n in group]


class _Gathered(BeforeCommit):
    def __init__(self) -> None:
        self.events: list[AnyEvent] = []
        self.notes: list[Notification] = []

    async def flush(self, db: Database, session: Session) -> None:
        per_shop: dict[str, list[AnyEvent]] = defaultdict(list)
        for e in self.events:
            per_shop[e.shop_id].append(e)
        if not per_shop:
            await notifications.insert_many(db, self.notes, session)
            return
        stored_at = datetime.now(UTC)  # wall clock: retention is about real time, not domain time
        docs = []
        for shop_id, shop_events in sorted(per_shop.items()):
            counter = await db.event_sequences.find_one_and_update(
                {"_id": shop_id},
                {"$inc": {"seq": len(shop_events)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            first = int(counter["seq"]) - len(shop_events) + 1
            docs += event_docs(shop_events, first, stored_at)
        alone = with_notices(docs, self.notes)
        await db.events.insert_many(docs, ordered=True, session=session)
        await notifications.insert_many(db, alone, session)


async def append_many(
    db: Database,
    events: Iterable[AnyEvent],
    session: Session,
    notes: Sequence[Notification] = (),
) -> None:
    """Append events in the caller's transaction: one counter move per shop, one insert; and
    the notes of the same write, each change's notice on its status event's document.

    Call it from every write path, inside the transaction that writes the change itself. In a
    transaction `db` runs, the events are gathered (in the order appended) and numbered just
    before the commit, one counter move per shop for the whole transaction (storage/tab_counts.py
    says why last).
    """
    gathered = db.before_commit(session, _Gathered)
    if gathered is None:
        gathered = _Gathered()
        gathered.events.extend(events)
        gathered.notes.extend(notes)
        await gathered.flush(db, session)
        return
    gathered.events.extend(events)
    gathered.notes.extend(notes)


async def head(db: Database, shop_id: str) -> int:
    """The number of the shop's last committed event (0: none yet)."""
    counter = await db.event_sequences.find_one({"_id": shop_id})
    return int(counter["seq"]) if counter else 0


async def after(db: Database, shop_id: str, seq: int, limit: int) -> Sequence[StoredEvent]:
    """The shop's events after `seq`, in order, at most `limit` (from the document that may hold
    `seq` and the ticket's change after it)."""
    cursor = (
        db.events.find({"shop_id": shop_id, "seq": {"$gte": seq - MAX_CARRIED + 1}})
        .sort("seq", ASCENDING)
        .limit(limit + 1)
    )
    found = [e async for d in cursor for e in events_from(d) if e.seq > seq]
    return found[:limit]

"""Notifications for buyers and shops (C7, C8, C9), written with the change that caused them.

A change's notification is a notice, whoever it tells: `inboxes` (the recipients, one index entry
each), `to` (each one's kind and message), the order, the request, the time and `k_at`. A move's
notice rides on the move's status event document (storage/events.py), so a move writes no
notification document; a notice no status event of its write carries (none of that request and
time) is a document of its own in `notifications`, and so is one the event log's retention
passed (storage/event_retention.py copies it there before the event goes). A recipient's page
reads its inbox in both collections on their `inbox_at` indexes and sees its own part.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bson import ObjectId
from pymongo.errors import BulkWriteError

from models.notifications import Notification, Recipient
from storage.documents import Doc
from storage.keys import sort_key
from storage.mongo import Database, Session
from storage.pagination import Page, SortOrder, encode_cursor, fetch_page

DUPLICATE_KEY = 11000

NEWEST = SortOrder("NEWEST", "k_at", -1)


def inbox_key(recipient: Recipient, recipient_id: str) -> str:
    return f"{recipient.value}|{recipient_id}"


# What one change's notes share: one notice each (the request, the order, the time).
ChangeKey = tuple[str, str, datetime]
# The fields of a notice, on whichever document holds it.
NOTICE_FIELDS = ("inboxes", "to", "order_id", "request_id", "at", "k_at")


def by_change(notes: Sequence[Notification]) -> dict[ChangeKey, list[Notification]]:
    """The notes of a write grouped by change, in order."""
    out: dict[ChangeKey, list[Notification]] = {}
    for n in notes:
        out.setdefault((n.request_id, n.order_id, n.at), []).append(n)
    return out


def notice(doc_id: str, notes: Sequence[Notification]) -> Doc:
    """The notice of one change's notes (same request, order and time), for document `doc_id`."""
    first = notes[0]
    inboxes = [inbox_key(n.recipient, n.recipient_id) for n in notes]
    return {
        "inboxes": inboxes,
        "to": {
            i: {"kind": n.kind.value, "message": n.message}
            for i, n in zip(inboxes, notes, strict=True)
        },
        "order_id": first.order_id,
        "request_id": first.request_id,
        "at": first.at,
        "k_at": sort_key(first.at, doc_id),
    }


def notification_docs(notes: Sequence[Notification]) -> list[Doc]:
    """The notes of each change (same request, order and time) as one document, in order."""
    docs = []
    for group in by_change(notes).values():
        new_id = f"ntf_{ObjectId()}"
        docs.append({"_id": new_id, **notice(new_id, group)})
    return docs


async def insert_many(db: Database, notes: Sequence[Notification], session: Session) -> None:
    if notes:
        await db.notifications.insert_many(notification_docs(notes), session=session)


async def keep(db: Database, docs: Sequence[Doc]) -> None:
    """Copy these documents' notices into `notifications` under their own ids (the event log's
    retention, before it deletes them); a copy made already is left as it is."""
    if not docs:
        return
    copies = [{"_id": d["_id"], **{k: d[k] for k in NOTICE_FIELDS}} for d in docs]
    try:
        await db.notifications.insert_many(copies, ordered=False)
    except BulkWriteError as err:
        if any(e.get("code") != DUPLICATE_KEY for e in err.details.get("writeErrors", [])):
            raise


async def page(
    db: Database, recipient: Recipient, recipient_id: str, first: int, after: str | None
) -> tuple[list[Doc], Page]:
    """The recipient's notifications, newest first, each as its own: id, kind, order, request,
    message and time."""
    inbox = inbox_key(recipient, recipient_id)
    query = {"inboxes": inbox}
    # A notice retention is copying can be in both collections for a moment: the same, once.
    pages = [
        await fetch_page(c, query, NEWEST, first, after) for c in (db.events, db.notifications)
    ]
    merged = {d["_id"]: d for p in reversed(pages) for d in p.docs}
    docs = sorted(merged.values(), key=lambda d: d["k_at"], reverse=True)
    has_next = len(docs) > first or any(p.has_next for p in pages)
    result = Page(docs[:first], has_next, [encode_cursor(NEWEST, d) for d in docs[:first]])
    mine = [
        {
            "_id": d["_id"],
            "order_id": d["order_id"],
            "request_id": d["request_id"],
            "at": d["at"],
            **d["to"][inbox],
        }
        for d in result.docs
    ]
    return mine, result

"""Notifications for buyers and shops (C7, C8, C9), written with the change that caused them.

One document per change, whoever it tells: a move that tells the buyer and the shop writes one
document naming both inboxes (`inboxes`, one index entry each), each with its own kind and
message (`to`). A recipient's page reads its inbox on the `inbox_at` index and sees its own part.
"""

from __future__ import annotations

from bson import ObjectId

from models.notifications import Notification, Recipient
from storage.documents import Doc
from storage.keys import sort_key
from storage.mongo import Database, Session
from storage.pagination import Page, SortOrder, fetch_page

NEWEST = SortOrder("NEWEST", "k_at", -1)


def inbox_key(recipient: Recipient, recipient_id: str) -> str:
    return f"{recipient.value}|{recipient_id}"


def notification_docs(notes: tuple[Notification, ...]) -> list[Doc]:
    """The notes of one change (same request, order and time) as one document, in order."""
    docs: dict[tuple[str, str, object], Doc] = {}
    for n in notes:
        key = (n.request_id, n.order_id, n.at)
        doc = docs.get(key)
        if doc is None:
            new_id = f"ntf_{ObjectId()}"
            doc = docs[key] = {
                "_id": new_id,
                "inboxes": [],
                "to": {},
                "order_id": n.order_id,
                "request_id": n.request_id,
                "at": n.at,
                "k_at": sort_key(n.at, new_id),
            }
        inbox = inbox_key(n.recipient, n.recipient_id)
        doc["inboxes"].append(inbox)
        doc["to"][inbox] = {"kind": n.kind.value, "message": n.message}
    return list(docs.values())


async def insert_many(db: Database, notes: tuple[Notification, ...], session: Session) -> None:
    if notes:
        await db.notifications.insert_many(notification_docs(notes), session=session)


async def page(
    db: Database, recipient: Recipient, recipient_id: str, first: int, after: str | None
) -> tuple[list[Doc], Page]:
    """The recipient's notifications, newest first, each as its own: id, kind, order, request,
    message and time."""
    inbox = inbox_key(recipient, recipient_id)
    result = await fetch_page(db.notifications, {"inboxes": inbox}, NEWEST, first, after)
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

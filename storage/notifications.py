"""Notifications for buyers and shops (C7, C8, C9), written with the change that caused them."""

from __future__ import annotations

from bson import ObjectId

from models.notifications import Notification, Recipient
from storage.documents import Doc, notification_doc
from storage.mongo import Database, Session
from storage.pagination import Page, SortOrder, fetch_page

NEWEST = SortOrder("NEWEST", "k_at", -1)


async def insert_many(db: Database, notes: tuple[Notification, ...], session: Session) -> None:
    if notes:
        docs = [notification_doc(n, f"ntf_{ObjectId()}") for n in notes]
        await db.notifications.insert_many(docs, session=session)


async def page(
    db: Database, recipient: Recipient, recipient_id: str, first: int, after: str | None
) -> tuple[list[Doc], Page]:
    query = {"recipient": recipient.value, "recipient_id": recipient_id}
    result = await fetch_page(db.notifications, query, NEWEST, first, after)
    return result.docs, result

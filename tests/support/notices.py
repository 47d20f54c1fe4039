"""Counting notifications where they are stored: on the event documents of the moves that sent
them, or in `notifications` (storage/notifications.py)."""

from __future__ import annotations

from typing import Any

from storage.mongo import Database


async def count_notices(db: Database, query: dict[str, Any]) -> int:
    """The notices matching `query` (on `inboxes`, `to.<inbox>.kind`, ...) in both places."""
    return sum([await c.count_documents(query) for c in (db.events, db.notifications)])

"""Helpers for the tests of webhook delivery: a database of their own (so a dispatcher sees only
their webhooks), webhooks registered through the service, events made in bulk, and waiting for
the receiver stand-in (tests/support/webhook_receiver.py runs it as a process)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from models.actors import Actor, ActorKind
from models.clock import SystemClock
from services.webhooks import WebhookService
from storage.indexes import ensure_indexes
from storage.mongo import Database, connect
from tests.support.factories import pending_requests
from webhooks.event_types import EventType


@asynccontextmanager
async def own_database(uri: str) -> AsyncIterator[Database]:
    database = connect(uri, f"hooks_{uuid.uuid4().hex[:12]}")
    await ensure_indexes(database)
    try:
        yield database
    finally:
        await database.client.drop_database(database.db.name)
        await database.close()


async def register(db: Database, shop_id: str, url: str, secret: str) -> str:
    agent = Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({"adjustments"}))
    service = WebhookService(db, SystemClock())
    state, _ = await service.create(agent, None, url, list(EventType), secret)
    return state.webhook.id


async def make_events(db: Database, shop_id: str, count: int) -> None:
    """`count` events in the shop's feed: new cancellation requests, one transaction."""
    await pending_requests(db, shop_id, [datetime.now(UTC)] * count)


async def eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Polls until check() is truthy; fails naming what never happened (a wait, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)

"""A database of a test's own whose statements are recorded as its client sends them (a driver
CommandListener): for tests of how many statements a step sends, and how."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pymongo import monitoring

from storage.mongo import Database, connect


@dataclass(frozen=True)
class Sent:
    command: str
    collection: str
    numbered: bool  # a retryable write's number (txnNumber) outside a transaction
    documents: int = 0  # a write's documents (inserted) or statements (updates, deletes)


class Statements(monitoring.CommandListener):
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        target = command.get(event.command_name)
        numbered = "txnNumber" in command and "autocommit" not in command
        collection = target if isinstance(target, str) else ""
        written = next(
            (command[f] for f in ("documents", "updates", "deletes") if f in command), []
        )
        self.sent.append(Sent(event.command_name, collection, numbered, len(written)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def of(self, command: str, collection: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.command == command and collection in (None, s.collection)]


@asynccontextmanager
async def recorded_database(uri: str) -> AsyncIterator[tuple[Database, Statements]]:
    statements = Statements()
    db = connect(uri, f"recorded_{uuid.uuid4().hex[:12]}", event_listeners=[statements])
    try:
        yield db, statements
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()

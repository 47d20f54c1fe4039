"""The live feed's change stream against the real server: writes to other collections do not cost
the database a getMore each.

SecantusDB answers a waiting getMore, empty, on every write to any collection; the feed waits out
`EMPTY_ANSWER_SECONDS` after such an answer before asking again, so the getMores it sends are
bounded by the time that passed, not by the writes made meanwhile. Events still arrive.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

from pymongo import monitoring

from feed.live_feed import EMPTY_ANSWER_SECONDS, LiveFeed
from storage.indexes import ensure_indexes
from storage.mongo import connect


class _Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


async def test_writes_elsewhere_cost_getmores_by_the_time_passed_not_one_each(
    mongodb_uri: str,
) -> None:
    commands = _Commands()
    name = f"test_feed_{uuid.uuid4().hex[:8]}"
    feed_db = connect(mongodb_uri, name, event_listeners=[commands])
    writer = connect(mongodb_uri, name)
    await ensure_indexes(writer)
    feed = LiveFeed(feed_db)
    feed.start()
    try:
        await asyncio.wait_for(feed.ready.wait(), 10)
        await asyncio.sleep(0.1)
        before, began = commands.counts["getMore"], time.monotonic()
        writes = 200
        for i in range(writes):
            await writer.db["elsewhere"].insert_one({"i": i})
        elapsed = time.monotonic() - began
        getmores = commands.counts["getMore"] - before
        # One empty answer a write before: about `writes` getMores in `elapsed`.
        assert getmores <= elapsed / EMPTY_ANSWER_SECONDS + 3, (getmores, writes, elapsed)
        assert feed.status.connected and feed.status.reconnects == 0
    finally:
        await feed.stop()
        await writer.client.drop_database(name)
        await writer.close()
        await feed_db.close()

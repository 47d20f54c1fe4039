"""The live feed of one process: one change stream on `events`, fanned out to subscribers here.

Each process runs one `LiveFeed`. Its watcher follows the change stream of the event log
(storage/events.py) and hands every new event to the subscribers of its shop, each through a
bounded queue; a subscriber whose queue is full is cut off (`SubscriberTooSlow`) instead of slowing
the others or growing without bound. A subscriber reads its shop's feed from a position: first
what the log holds after it (replay), then the live events, skipping what it already had. Since a
shop's events are numbered without gaps, a jump in the numbers means something was missed (a
watcher that could not resume): the subscriber reads the gap from the log, so nothing is lost.

A lost database connection: the watcher reopens the stream from its resume token, with backoff;
subscribers wait, and are not dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymongo.errors import OperationFailure, PyMongoError

from models.errors import CursorExpired, ValidationFailed
from process.stopping import cancel_until_done
from storage import events as event_log
from storage.events import StoredEvent
from storage.mongo import Database

log = logging.getLogger("aftersales.live_feed")

REPLAY_PAGE = 500
MAX_BACKOFF_SECONDS = 10.0
# The least time between two of the change stream's getMores that found nothing. SecantusDB
# answers a waiting getMore, empty, on every write to any collection, and one was sent again at
# once: a getMore for every write, about 1 ms of its CPU each (an empty getMore a webhook in
# `./dev run benchmarks.ingest --profile`). MongoDB waits for a matching change or its await
# time, so it is never paced. An event that comes meanwhile waits at most this long.
EMPTY_ANSWER_SECONDS = 0.025
# Server codes meaning the resume token cannot be used any more (history gone, token invalid).
_LOST_HISTORY_CODES = {260, 280, 286}


class SubscriberTooSlow(Exception):
    """The subscriber's queue filled up: it is disconnected and resumes from its cursor."""


@dataclass
class WatcherStatus:
    connected: bool = False
    events_seen: int = 0
    reconnects: int = 0
    last_error: str | None = None


class Subscriber:
    """One subscription's place in its shop's feed and its bounded queue of live events."""

    def __init__(
        self, shop_id: str, limit: int, on_too_slow: Callable[[str], None] | None = None
    ) -> None:
        self.shop_id = shop_id
        self.limit = limit
        self.on_too_slow = on_too_slow  # called once, at once: the sender may be stuck
        self.queue: deque[StoredEvent] = deque()
        self.wake = asyncio.Event()
        self.too_slow: str | None = None
        self.reread = True  # read the log before the queue (at start, after a gap)

    def offer(self, event: StoredEvent) -> bool:
        """Queue a live event; False when the queue is full (the subscriber is then cut off)."""
        if len(self.queue) >= self.limit:
            self.too_slow = (
                f"subscriber too slow: {self.limit} events waiting to be sent; "
                "reconnect and resume from the last cursor you received"
            )
            self.wake.set()
            if self.on_too_slow is not None:
                self.on_too_slow(self.too_slow)
            return False
        self.queue.append(event)
        self.wake.set()
        return True

    def resync(self) -> None:
        self.reread = True
        self.wake.set()


class SharedReads:
    """One read per key for all subscribers (the request as it now is, a shop's tab counts):
    10,000 subscribers of one shop cost one database read per event, not 10,000."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._tasks: OrderedDict[Any, asyncio.Task[Any]] = OrderedDict()

    def get(self, key: Any, load: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        task = self._tasks.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(load())
            self._tasks[key] = task
            while len(self._tasks) > self.size:
                self._tasks.popitem(last=False)
        return asyncio.shield(task)


class LiveFeed:
    def __init__(
        self,
        db: Database,
        *,
        queue_limit: int = 1000,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        if queue_limit <= 0:
            raise ValueError("queue limit must be positive")
        self.db = db
        self.queue_limit = queue_limit
        # Told how many events a subscriber cut off as too slow lost (the app counts them).
        self.on_dropped = on_dropped
        self.status = WatcherStatus()
        self.reads = SharedReads()
        self.ready = asyncio.Event()  # the stream is open: events from now on are seen
        self._by_shop: dict[str, set[Subscriber]] = {}
        self._token: Any = None
        self._task: asyncio.Task[None] | None = None

    # ---- the watcher ---------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="live-feed-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_until_done(self._task)
            self._task = None
        self.status.connected = False

    async def _watch(self) -> None:
        backoff = 0.1
        pipeline = [{"$match": {"operationType": "insert"}}]
        while True:
            try:
                async with await self.db.events.watch(pipeline, resume_after=self._token) as stream:
                    self.status.connected, self.status.last_error = True, None
                    self.ready.set()
                    backoff = 0.1
                    # A closed stream answers try_next with None at once, without a round trip:
                    # looping on it would never yield, and the process could not even stop.
                    loop = asyncio.get_running_loop()
                    while stream.alive:
                        asked = loop.time()
                        change = await stream.try_next()
                        self._token = stream.resume_token
                        if change is not None:
                            for e in event_log.events_from(change["fullDocument"]):
                                self.publish(e)
                        elif (rest := EMPTY_ANSWER_SECONDS - (loop.time() - asked)) > 0:
                            await asyncio.sleep(rest)
                    self._lost(ConnectionError("the change stream closed"))
            except asyncio.CancelledError:
                raise
            except OperationFailure as exc:
                self._lost(exc)
                if exc.code in _LOST_HISTORY_CODES:
                    # The stream cannot resume: start afresh; subscribers read the gap from the log.
                    self._token = None
                    self.resync_all()
            except PyMongoError as exc:
                self._lost(exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _lost(self, exc: Exception) -> None:
        self.status.connected = False
        self.status.reconnects += 1
        self.status.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("live feed: change stream lost (%s); resuming", self.status.last_error)

    # ---- fan-out -------------------------------------------------------------------------

    def publish(self, event: StoredEvent) -> None:
        self.status.events_seen += 1
        for sub in list(self._by_shop.get(event.shop_id, ())):
            if not sub.offer(event):
                self._remove(sub)
                if self.on_dropped is not None:
                    self.on_dropped(len(sub.queue) + 1)  # its queue and this event

    def resync_all(self) -> None:
        for subs in self._by_shop.values():
            for sub in subs:
                sub.resync()

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._by_shop.values())

    def _remove(self, sub: Subscriber) -> None:
        subs = self._by_shop.get(sub.shop_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_shop[sub.shop_id]

    async def read(
        self,
        shop_id: str,
        after: int | None,
        on_too_slow: Callable[[str], None] | None = None,
    ) -> AsyncIterator[StoredEvent]:
        """The shop's events after position `after` (None: from now on), in order, no repeats,
        replayed from the log and then live. Raises CursorExpired when the log no longer holds
        the events right after `after`, SubscriberTooSlow when the queue overflowed."""
        sub = Subscriber(shop_id, self.queue_limit, on_too_slow)
        self._by_shop.setdefault(shop_id, set()).add(sub)  # before reading: nothing slips by
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self.ready.wait()
            head = await event_log.head(self.db, shop_id)
            if after is None:
                last = head
            elif after > head:
                raise ValidationFailed("this cursor is not from this shop's feed", field="after")
            else:
                last = after
                first = await event_log.after(self.db, shop_id, last, 1)
                if (first and first[0].seq != last + 1) or (not first and head > last):
                    raise CursorExpired(
                        f"events after this cursor are no longer kept (kept for "
                        f"{event_log.RETENTION}); reload and subscribe without a cursor",
                        field="after",
                    )
            while True:
                if sub.too_slow:
                    raise SubscriberTooSlow(sub.too_slow)
                if sub.reread:
                    sub.reread = False
                    while True:
                        page = await event_log.after(self.db, shop_id, last, REPLAY_PAGE)
                        for stored in page:
                            last = stored.seq
                            yield stored
                        if len(page) < REPLAY_PAGE:
                            break
                while sub.queue and not sub.reread:
                    stored = sub.queue.popleft()
                    if stored.seq <= last:
                        continue  # already replayed from the log
                    if stored.seq > last + 1:
                        sub.reread = True  # a gap: read it (and this one) from the log
                        break
                    last = stored.seq
                    yield stored
                if not sub.queue and not sub.reread and not sub.too_slow:
                    sub.wake.clear()
                    await sub.wake.wait()
        finally:
            self._remove(sub)

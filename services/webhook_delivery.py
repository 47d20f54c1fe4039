"""Sends each active webhook its shop's events, in order, signed, retried, from every service
process, with exactly one process delivering a given webhook at a time.

Every process runs one WebhookDispatcher (the app's lifespan starts it, as the deadline worker).
A claim round, every third of the lease, takes or renews the lease of each active webhook's
consumer (storage/event_consumers.py: compare-and-set on the owner or an expired lease) and runs
one delivery task per webhook it holds; a webhook another process holds is left alone, and one
whose holder died is taken over once its lease expires (`lease_seconds`). A task reads the
events after the consumer's cursor, posts each one the webhook subscribes to (webhooks/ builds
the body, the signature and the retry schedule), retries a failure after its backoff, and moves
the cursor after what it has handled, as the lease holder: a process that lost the lease cannot
move it, and what it sent meanwhile is sent again by the next holder under the same delivery id
(at least once; the receiver dedupes). The round also prunes the event log
(storage/event_retention.py).

Every outbound call has a deadline (`timeout_seconds`, on connect, read and the whole call), and
at most `concurrency` calls are in flight per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from pymongo.errors import PyMongoError

from feed.live_feed import LiveFeed
from models.clock import Clock, SystemClock
from process.stopping import cancel_until_done
from storage import event_consumers, event_retention
from storage import events as event_log
from storage import webhooks as store
from storage.events import StoredEvent
from storage.webhooks import Attempt, DeliveryRecord, DeliveryStatus, Webhook, WebhookStatus
from webhooks import signing, targets
from webhooks.event_types import type_of
from webhooks.payloads import delivery_body, delivery_id_of
from webhooks.retry import Random, RetryPolicy, succeeded

log = logging.getLogger("aftersales.webhooks")

EXCERPT_CHARS = 200
Sleep = Callable[[float], Awaitable[None]]
# A webhook's subscription document run on an event (resolvers/webhooks/documents.py).
Shape = Callable[[Webhook, StoredEvent], Awaitable[dict[str, Any] | None]]


class InternalTarget(Exception):
    """Production: the target's name resolves to an address the service must not call."""


@dataclass
class DispatcherStatus:
    running: bool = False
    held: set[str] = field(default_factory=set)  # webhook ids this process delivers
    delivered: int = 0
    failed_attempts: int = 0
    last_error: str | None = None


@dataclass
class _Progress:
    """A delivery task's place: the last event it handled (ahead of the stored cursor while a
    write is in flight), the consumer's generation when it began, and that write."""

    cursor: int
    generation: int
    writing: asyncio.Task[bool] | None = None

    async def settle(self) -> bool:
        """Wait for the write in flight; False when it found the lease or generation gone."""
        if self.writing is None:
            return True
        task, self.writing = self.writing, None
        return await task


class WebhookDispatcher:
    def __init__(
        self,
        db: event_log.Database,
        *,
        policy: RetryPolicy | None = None,
        owner: str | None = None,
        lease_seconds: float = 5.0,
        poll_seconds: float = 0.05,
        batch_size: int = 100,
        concurrency: int = 32,
        timeout_seconds: float = 10.0,
        production: bool = False,
        prune_every_seconds: float = 60.0,
        clock: Clock | None = None,
        rng: Random | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        shape: Shape | None = None,
    ) -> None:
        if lease_seconds <= 0 or poll_seconds <= 0 or timeout_seconds <= 0:
            raise ValueError("lease, poll and timeout are positive")
        if batch_size < 1 or concurrency < 1:
            raise ValueError("batch size and concurrency are at least 1")
        self.db = db
        self.policy = policy or RetryPolicy()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.timeout_seconds = timeout_seconds
        self.production = production
        self.prune_every = prune_every_seconds
        self.clock: Clock = clock or SystemClock()
        self.rng: Random = rng or random.Random()
        self.sleep = sleep
        self.status = DispatcherStatus()
        self._slots = asyncio.Semaphore(concurrency)
        self._limits = httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency
        )
        self._transport = transport
        self.shape = shape
        self._client: httpx.AsyncClient | None = None
        self._webhooks: dict[str, Webhook] = {}
        self._claimed: dict[str, event_consumers.Consumer] = {}  # as the last claim saw them
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0
        self._feed: LiveFeed | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self, feed: LiveFeed | None = None) -> None:
        """`feed`: this process's live feed, whose events wake an idle webhook at once (without
        one, it looks every `poll_seconds`; with one, that is the fallback)."""
        self._feed = feed
        self._stop.clear()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_seconds),
            limits=self._limits,
            follow_redirects=False,
            transport=self._transport,
        )
        self._task = asyncio.create_task(self.run_forever(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop delivering and give the leases back, so another process takes over at once."""
        self._stop.set()
        if self._task is not None:
            task, self._task = self._task, None
            await cancel_until_done(task)
        for webhook_id in list(self._tasks):
            await self._drop(webhook_id)
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def run_forever(self) -> None:
        self.status.running = True
        try:
            while not self._stop.is_set():
                try:
                    await self.claim_round()
                    await self._maybe_prune()
                except PyMongoError as exc:
                    self.status.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("webhooks: database error in a claim round: %s", exc)
                except Exception as exc:  # a bug must not stop every webhook: log it loudly
                    self.status.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("webhooks: unexpected error in a claim round")
                with contextlib.suppress(TimeoutError):
                    wait = self.lease.total_seconds() / 3
                    async with asyncio.timeout(wait):
                        await self._stop.wait()
        finally:
            self.status.running = False

    async def claim_round(self) -> None:
        """Take or renew the lease of every active webhook; start or stop delivery tasks."""
        now = self.clock.now()
        active = {w.id: w for w in await store.active(self.db)}
        for webhook_id in [w for w in self._tasks if w not in active]:
            await self._drop(webhook_id)  # paused or deleted
        for webhook in active.values():
            held = await event_consumers.claim(
                self.db, webhook.shop_id, webhook.consumer, self.owner, now, now + self.lease
            )
            if held is None:
                if webhook.id in self._tasks:
                    await self._drop(webhook.id, release=False)  # another process took it
                continue
            self._webhooks[webhook.id] = webhook
            self._claimed[webhook.id] = held
            task = self._tasks.get(webhook.id)
            if task is None or task.done():
                self._tasks[webhook.id] = asyncio.create_task(
                    self._deliver(webhook.id), name=f"webhook-{webhook.id}"
                )
        self.status.held = set(self._tasks)

    async def _drop(self, webhook_id: str, *, release: bool = True) -> None:
        task = self._tasks.pop(webhook_id, None)
        webhook = self._webhooks.pop(webhook_id, None)
        self._claimed.pop(webhook_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if release and webhook is not None:
            with contextlib.suppress(PyMongoError):
                await event_consumers.release(
                    self.db, webhook.shop_id, webhook.consumer, self.owner
                )
        self.status.held.discard(webhook_id)

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._pruned_at >= self.prune_every:
            self._pruned_at = time.monotonic()
            removed = await event_retention.prune(self.db, self.clock.now())
            if removed:
                log.info("event log: pruned %d event(s) every consumer has passed", removed)
            await store.prune_deliveries(self.db, self.clock.now())

    # ---- one webhook -----------------------------------------------------------------------

    async def _deliver(self, webhook_id: str) -> None:
        """Deliver the webhook's events until it is dropped, paused or its lease is lost."""
        progress: _Progress | None = None
        wake = asyncio.Event()
        listener = None
        first = self._webhooks.get(webhook_id)
        if self._feed is not None and first is not None:
            listener = asyncio.create_task(self._listen(first.shop_id, wake))
        try:
            while not self._stop.is_set():
                wake.clear()  # before looking: an event committed from here on wakes the wait
                webhook = self._webhooks.get(webhook_id)
                if webhook is None:
                    return
                if progress is None:
                    consumer = await event_consumers.get(self.db, webhook.shop_id, webhook.consumer)
                    if consumer is None or consumer.lease_owner != self.owner:
                        return
                    progress = _Progress(consumer.cursor, consumer.generation)
                claimed = self._claimed.get(webhook_id)
                if claimed is not None and claimed.generation != progress.generation:
                    # Replayed: start again from the cursor it was set to.
                    await progress.settle()
                    progress = None
                    continue
                events: Sequence[StoredEvent] = []
                if await event_log.head(self.db, webhook.shop_id) > progress.cursor:
                    events = await event_consumers.read(
                        self.db, webhook.shop_id, progress.cursor, self.batch_size
                    )
                if not events:
                    if not await progress.settle():
                        return
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.poll_seconds):
                            await wake.wait()
                    continue
                if not await self._deliver_batch(webhook, progress, events):
                    return
            if progress is not None:
                await progress.settle()
        except PyMongoError as exc:
            # The next claim round starts a new task once the database answers.
            self.status.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("webhooks: database error delivering %s: %s", webhook_id, exc)
        finally:
            if listener is not None:
                listener.cancel()
            # Stopped or dropped: the write in flight still lands (else its events go again).
            if progress is not None and progress.writing is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.shield(progress.writing)

    async def _listen(self, shop_id: str, wake: asyncio.Event) -> None:
        """Set `wake` on each event of the shop the live feed sees (its change stream); a
        subscription cut off as too slow, or any other end, falls back to polling a while."""
        assert self._feed is not None
        while True:
            try:
                async for _ in self._feed.read(shop_id, None):
                    wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll still runs: nothing is missed, only later
                log.info("webhooks: wake-ups for %s stopped (%s); polling", shop_id, exc)
            await asyncio.sleep(self.poll_seconds * 10)

    async def _deliver_batch(
        self, webhook: Webhook, progress: _Progress, events: Sequence[StoredEvent]
    ) -> bool:
        """Deliver a batch in order; False when this task must stop (paused, lease lost).

        The batch's records and cursor are written while the next batch is being sent (one
        write in flight at a time, in order): the database's time overlaps the receiver's."""
        cursor = progress.cursor
        done: list[DeliveryRecord] = []
        failed_in_a_row = webhook.failed_in_a_row

        async def write(records: list[DeliveryRecord], upto: int) -> bool:
            await store.record(self.db, records, self.clock.now())
            return await event_consumers.advance(
                self.db,
                webhook.shop_id,
                webhook.consumer,
                owner=self.owner,
                generation=progress.generation,
                cursor=upto,
                now=self.clock.now(),
            )

        async def flush() -> bool:
            nonlocal done
            if not await progress.settle():
                return False
            records, done = done, []
            return await write(records, cursor)

        for stored in events:
            event_type = type_of(stored.event)
            if event_type not in webhook.event_types:
                cursor = stored.seq
                continue
            delivery_id = delivery_id_of(webhook.id, stored.seq)
            shaped = None
            if webhook.subscription is not None and self.shape is not None:
                shaped = await self.shape(webhook, stored)
            body = delivery_body(delivery_id, stored.id, stored.seq, stored.event, shaped)
            attempts = 0
            while True:
                attempt = await self._attempt(webhook, stored, delivery_id, body)
                attempts += 1
                if succeeded(attempt.status_code):
                    break
                self.status.failed_attempts += 1
                wait = self.policy.delay(attempts, self.rng)
                status = DeliveryStatus.RETRYING if wait is not None else DeliveryStatus.FAILED
                record = DeliveryRecord(
                    delivery_id,
                    webhook.id,
                    webhook.shop_id,
                    stored.seq,
                    event_type,
                    status,
                    [attempt],
                    body if status is DeliveryStatus.FAILED else None,
                )
                done.append(record)
                if not await flush():
                    return False
                await event_consumers.note_error(
                    self.db,
                    webhook.shop_id,
                    webhook.consumer,
                    f"delivery {delivery_id} attempt {attempts}: {attempt.error}",
                    self.clock.now(),
                )
                if wait is None:
                    break
                await self.sleep(wait)
                if self._stop.is_set() or webhook.id not in self._webhooks:
                    return False  # stopping, or the claim round dropped or refreshed it
            if succeeded(attempt.status_code):
                self.status.delivered += 1
                done.append(
                    DeliveryRecord(
                        delivery_id,
                        webhook.id,
                        webhook.shop_id,
                        stored.seq,
                        event_type,
                        DeliveryStatus.DELIVERED,
                        [attempt],
                        None,
                        first_try=attempts == 1,
                    )
                )
                cursor = stored.seq
                if failed_in_a_row:
                    failed_in_a_row = 0
                    await store.set_failed_in_a_row(self.db, webhook.id, 0)
                continue
            failed_in_a_row += 1
            if self.policy.pauses(failed_in_a_row):
                # The cursor stays before this event: resuming delivers it first.
                reason = f"{failed_in_a_row} deliveries in a row failed (last: {delivery_id})"
                await store.set_status(
                    self.db,
                    webhook.id,
                    WebhookStatus.PAUSED,
                    reason=reason,
                    failed_in_a_row=failed_in_a_row,
                )
                log.warning("webhooks: %s paused: %s", webhook.id, reason)
                return False
            await store.set_failed_in_a_row(self.db, webhook.id, failed_in_a_row)
            cursor = stored.seq  # FAILED and kept for replay; the next event goes on
        if not await progress.settle():
            return False
        progress.writing = asyncio.create_task(write(done, cursor))
        progress.cursor = cursor
        return True

    async def _attempt(
        self, webhook: Webhook, stored: StoredEvent, delivery_id: str, body: bytes
    ) -> Attempt:
        at = self.clock.now()
        sent = signing.headers(
            secret=webhook.secret,
            timestamp=int(at.timestamp()),
            body=body,
            delivery_id=delivery_id,
            shop_id=webhook.shop_id,
            sequence=stored.seq,
            event_type=type_of(stored.event).wire_name,
        )
        assert self._client is not None, "start() the dispatcher first"
        started = time.perf_counter()
        try:
            async with self._slots, asyncio.timeout(self.timeout_seconds):
                if self.production:
                    await _refuse_internal(webhook.url)
                response = await self._client.post(webhook.url, content=body, headers=sent)
        except (httpx.HTTPError, TimeoutError, OSError, InternalTarget) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return Attempt(at, None, None, error[:300], _ms(started))
        code = response.status_code
        error = None if succeeded(code) else f"answered HTTP {code}"
        return Attempt(at, code, response.text[:EXCERPT_CHARS], error, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def _refuse_internal(url: str) -> None:
    """DNS may have changed since registration (webhooks/targets.py): check every address the
    name resolves to now. (A name that changes between this check and httpx's own lookup is
    the gap a proxy that enforces the rule would close.)"""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, address in infos:
        if targets.internal_address(str(address[0])):
            raise InternalTarget(f"{host} resolves to an internal address")

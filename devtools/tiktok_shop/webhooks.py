"""Signed webhooks from the stand-in to the service, with the faults the chaos knobs ask for.

Each notification is `{type, tts_notification_id, shop_id, timestamp, data}` with the header
`Authorization: hex(HMAC-SHA256(app_secret, app_key + raw body))`. A delivery that gets no 2xx
is retried after each of `retry_delays` seconds, then given up (TikTok's own schedule spans hours
and is not reliably documented; the default here is short for tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from devtools.tiktok_shop.chaos import Chaos
from devtools.tiktok_shop.verify import webhook_authorization


@dataclass
class Notification:
    id: str
    shop_id: str
    type: int
    body: bytes
    faults: list[str] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    delivered: int = 0  # 2xx answers received (2 when duplicated and both arrived)
    made_at: float = 0.0  # epoch seconds: when the change made it, before any queue to send

    def view(self) -> dict[str, Any]:
        return {
            "tts_notification_id": self.id,
            "shop_id": self.shop_id,
            "type": self.type,
            "payload": json.loads(self.body),
            "faults": self.faults,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "made_at": self.made_at,
        }


class WebhookSender:
    def __init__(
        self,
        app_key: str,
        app_secret: str,
        url: str | None,
        chaos: Chaos,
        *,
        retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0),
        request_timeout: float = 5.0,
        first_id: int = 1,
        concurrency: int = 1,
    ) -> None:
        self.app_key = app_key
        self.concurrency = concurrency
        self.app_secret = app_secret
        self.url = url
        # Addresses registered through the Open API, per shop and notification type; they win
        # over `url` (the --webhook-url every shop gets until it registers its own).
        self.registered: dict[tuple[str, int], str] = {}
        self.chaos = chaos
        self.retry_delays = retry_delays
        self.request_timeout = request_timeout
        self.log: dict[str, Notification] = {}
        self._queue: asyncio.Queue[Notification] = asyncio.Queue()
        self._held: Notification | None = None
        self._held_sent = asyncio.Event()
        self._unsent = 0  # taken by notify, not yet through the worker
        self._busy: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(7_380_000_000_000_000_000 + first_id)
        self._client: httpx.AsyncClient | None = None
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.request_timeout)
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
        for task in list(self._busy):
            task.cancel()
        if self._client:
            await self._client.aclose()

    def idle(self) -> bool:
        return self._unsent == 0 and self._held is None and not self._busy

    def notify(self, shop_id: str, type_: int, data: dict[str, Any], now: int) -> None:
        ident = str(next(self._ids))
        body = json.dumps(
            {
                "type": type_,
                "tts_notification_id": ident,
                "shop_id": shop_id,
                "timestamp": now,
                "data": data,
            },
            separators=(",", ":"),
        ).encode()
        note = Notification(ident, shop_id, type_, body, made_at=time.time())
        self.log[ident] = note
        self._unsent += 1
        self._queue.put_nowait(note)

    def resend(self, ident: str) -> Notification:
        """Sends a past notification again, byte for byte (a replay)."""
        note = self.log[ident]
        note.faults.append("resent")
        self._spawn(self._deliver(note))
        return note

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._busy.add(task)
        task.add_done_callback(self._busy.discard)

    async def _run(self) -> None:
        """Takes the notifications in order; up to `concurrency` are under way at once."""
        slots = asyncio.Semaphore(self.concurrency)
        while True:
            note = await self._queue.get()
            await slots.acquire()
            if self.concurrency == 1:
                await self._dispatched(note, slots)
            else:
                self._spawn(self._dispatched(note, slots))

    async def _dispatched(self, note: Notification, slots: asyncio.Semaphore) -> None:
        try:
            await self._dispatch(note)
        finally:
            self._unsent -= 1
            slots.release()

    async def _dispatch(self, note: Notification) -> None:
        knobs, rng = self.chaos.webhooks, self.chaos.webhook_rng
        # One draw per knob, in a fixed order, so a seed gives the same faults.
        drop, dup, delay, reorder = (rng.random() for _ in range(4))
        if drop < knobs.drop:
            note.faults.append("dropped")
            return
        copies = 2 if dup < knobs.duplicate else 1
        if copies == 2:
            note.faults.append("duplicated")
        if delay < knobs.delay:
            note.faults.append("delayed")
            self._spawn(self._later(note, copies, knobs.delay_seconds))
            return
        if reorder < knobs.reorder and self._held is None:
            note.faults.append("reordered")
            self._held = note
            self._spawn(self._release_held(note, copies, knobs.hold_seconds))
            return
        for _ in range(copies):
            await self._deliver(note)
        held, self._held = self._held, None
        if held is not None:
            await self._deliver(held)
            self._held_sent.set()

    async def _later(self, note: Notification, copies: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        for _ in range(copies):
            await self._deliver(note)

    async def _release_held(self, note: Notification, copies: int, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._held_sent.wait(), seconds)
        if self._held is note:  # nothing came after it in time
            self._held = None
            await self._deliver(note)
        if copies == 2:
            await self._deliver(note)

    async def _deliver(self, note: Notification, attempt: int = 0) -> None:
        """One attempt; a failed one schedules the next, so one slow receiver answer does not
        hold back the notifications behind it for the whole retry schedule."""
        url = self.registered.get((note.shop_id, note.type), self.url)
        if url is None or self._client is None:
            note.attempts.append("no webhook url")
            return
        headers = {
            "Content-Type": "application/json",
            "Authorization": webhook_authorization(self.app_key, self.app_secret, note.body),
        }
        try:
            answer = await self._client.post(url, content=note.body, headers=headers)
        except httpx.HTTPError as exc:
            note.attempts.append(f"{attempt + 1}: {type(exc).__name__}")
        else:
            note.attempts.append(f"{attempt + 1}: HTTP {answer.status_code}")
            if 200 <= answer.status_code < 300:
                note.delivered += 1
                return
        if attempt < len(self.retry_delays):
            self._spawn(self._retry(note, attempt + 1))

    async def _retry(self, note: Notification, attempt: int) -> None:
        await asyncio.sleep(self.retry_delays[attempt - 1])
        await self._deliver(note, attempt)

"""The background worker that acts on deadlines as the platform (C6, C8, R3, R5, R8).

Every service process runs one. They need no coordination: each move is a transaction that
decides from the stored state, so when two workers (or a worker and a seller) reach the same
request, exactly one move lands and the others find nothing left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import PyMongoError

from models import request_kinds
from models.actors import EXPIRY_WORKER
from models.after_sale_requests import AfterSaleRequest
from models.after_sales_machine import AfterSaleStatus
from models.cancellations import Cancellation, CancellationStatus
from models.commands import ActOnAfterSaleDeadlines, AutoAcceptCancellations, CancelUnpaidOrders
from models.requests import DeadlineRule
from process.stopping import cancel_until_done
from services.bootstrap import Services
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage import idempotency
from storage import orders as order_store
from storage import tickets as ticket_store
from storage.deadlines import DatabaseUnavailable
from storage.deadlines import deadline as operation_deadline

log = logging.getLogger("aftersales.deadlines")

MAX_BACKOFF_SECONDS = 30.0
SCAN_BATCHES = 50  # batches found by one scan of the due index
# H2: rules run right after a request is created; a ticket still due this long after it was
# opened lost its run (the process stopped in between), and the worker runs its rules.
RULES_GRACE = timedelta(seconds=30)
# Idempotency keys past their day are deleted at most this often (storage/idempotency.py).
PRUNE_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Deadline:
    """One kind of deadline: how to find what is overdue, and how to act on a batch of it."""

    name: str
    due: Callable[[datetime, int], Awaitable[list[tuple[str, datetime]]]]
    act: Callable[[list[str]], Awaitable[Sequence[Cancellation | AfterSaleRequest | str]]]


@dataclass
class WorkerStatus:
    running: bool = False
    last_run_at: datetime | None = None
    last_run_moves: int = 0
    total_moves: int = 0
    # How far behind the worker was when its last pass began: now minus the oldest deadline
    # that had passed and was not yet acted on (zero when nothing was overdue).
    lag: timedelta = timedelta(0)
    last_error: str | None = None
    moves_by_deadline: dict[str, int] = field(default_factory=dict)


class DeadlineWorker:
    def __init__(
        self,
        services: Services,
        *,
        interval: float,
        batch_size: int,
        operation_timeout: float = 60.0,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if batch_size <= 0:
            raise ValueError("batch size must be positive")
        self.services = services
        self.interval = interval
        self.batch_size = batch_size
        self.operation_timeout = operation_timeout  # each scan and each batch, like a request's
        self.status = WorkerStatus()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._pruned_at: datetime | None = None
        db = services.db
        handle = services.handle

        def after_sale(status: AfterSaleStatus, rule: DeadlineRule[Any]) -> Deadline:
            """R3, R5, R8: the platform's move (act_on_deadline) on requests in `status`."""
            return Deadline(
                rule.window or status.value,
                lambda now, limit: after_sale_store.due(db, status, now, limit),
                lambda ids: handle(EXPIRY_WORKER, ActOnAfterSaleDeadlines(tuple(ids))),
            )

        # C6: the one cancellation status whose deadline the platform acts on.
        [(pending, response_window)] = request_kinds.CANCELLATION.platform_deadlines.items()
        if pending is not CancellationStatus.PENDING:
            raise ValueError(f"the worker finds due cancellations by PENDING, not {pending}")
        self.deadlines = [
            Deadline(
                response_window.window or pending.value,
                lambda now, limit: cancellation_store.due_for_auto_accept(db, now, limit),
                lambda ids: handle(EXPIRY_WORKER, AutoAcceptCancellations(tuple(ids))),
            ),
            Deadline(
                "payment_window",  # C8
                lambda now, limit: order_store.due_for_payment_cancel(db, now, limit),
                lambda ids: handle(EXPIRY_WORKER, CancelUnpaidOrders(tuple(ids))),
            ),
            Deadline(
                "helpdesk_rules",  # H2, see RULES_GRACE
                lambda now, limit: ticket_store.rules_due(db, now - RULES_GRACE, limit),
                services.helpdesk.run_rules_for_tickets,
            ),
            # R3, R5, R8: every after-sale status whose deadline the platform acts on.
            *(after_sale(s, rule) for s, rule in request_kinds.AFTER_SALE_DEADLINES.items()),
        ]

    async def run_once(self) -> int:
        """One pass: act on everything overdue now, and return the moves made.

        One index scan finds what is due (SecantusDB reads every match of a query before its
        limit, so asking for "the next batch" of a large backlog again and again would cost the
        whole backlog each time); then each batch of ids is one transaction.
        """
        now = self.services.clock.now()
        scan_limit = self.batch_size * SCAN_BATCHES
        oldest: list[datetime] = []
        moves = 0
        for deadline in self.deadlines:
            while True:
                with operation_deadline(self.operation_timeout):
                    due = await deadline.due(now, scan_limit)
                if due:
                    oldest.append(due[0][1])
                for start in range(0, len(due), self.batch_size):
                    if self._stop.is_set():
                        break  # shutting down: each batch is a transaction, stop between them
                    batch = [item_id for item_id, _ in due[start : start + self.batch_size]]
                    # A batch's one transaction may take what its deadline allows.
                    timeout = self.operation_timeout
                    with operation_deadline(timeout, attempt=timeout):
                        done = await deadline.act(batch)
                    moves += len(done)
                    by_name = self.status.moves_by_deadline
                    by_name[deadline.name] = by_name.get(deadline.name, 0) + len(done)
                if len(due) < scan_limit or self._stop.is_set():
                    break
        self.status.last_run_at = now
        self.status.last_run_moves = moves
        self.status.total_moves += moves
        self.status.lag = now - min(oldest) if oldest else timedelta(0)
        self.status.last_error = None
        return moves

    async def prune_keys(self) -> int:
        """The idempotency keys past their day deleted (how many), at most once every
        PRUNE_EVERY by the service's clock."""
        now = self.services.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return 0
        self._pruned_at = now
        with operation_deadline(self.operation_timeout):
            return await idempotency.prune(self.services.db, now)

    async def run_forever(self) -> None:
        """Pass after pass until stopped. A database outage is logged and retried with backoff;
        the worker catches up on what fell due meanwhile when the database answers again."""
        self.status.running = True
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    moved = await self.run_once()
                    await self.prune_keys()
                    failures = 0
                    if moved:
                        log.info("deadline worker moved %d request(s)", moved)
                    wait = self.interval
                except (PyMongoError, DatabaseUnavailable) as exc:
                    failures += 1
                    wait = min(self.interval * 2**failures, MAX_BACKOFF_SECONDS)
                    self.status.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("deadline worker: database error, retrying in %.1fs: %s", wait, exc)
                except Exception as exc:  # a bug must not stop every deadline: log it loudly
                    failures += 1
                    wait = min(self.interval * 2**failures, MAX_BACKOFF_SECONDS)
                    self.status.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("deadline worker: unexpected error, retrying in %.1fs", wait)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._stop.wait()
        finally:
            self.status.running = False

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self.run_forever(), name="deadline-worker")

    async def stop(self, timeout: float | None = None) -> None:
        """Finish the batch in hand and stop; past `timeout` seconds, cancel it (its transaction
        is then aborted whole: a batch lands entirely or not at all)."""
        self._stop.set()
        if self._task is not None:
            task, self._task = self._task, None
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(task)
            except TimeoutError:
                await cancel_until_done(task)

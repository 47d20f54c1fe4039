"""`/healthz` (the process answers) and `/readyz` (it can do its work), with a registry of checks.

A check is an async function returning None when all is well, or one line saying what is wrong.
The app registers the database, the live feed's change watcher and the deadline worker; other
parts add theirs with `app.state.readiness.register(name, check)`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from feed.live_feed import LiveFeed
from services.deadline_worker import DeadlineWorker
from storage.mongo import Database

Check = Callable[[], Awaitable[str | None]]

CHECK_TIMEOUT_SECONDS = 2.0


class Readiness:
    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}

    def register(self, name: str, check: Check) -> None:
        if name in self.checks:
            raise ValueError(f"a readiness check named {name!r} is registered already")
        self.checks[name] = check

    async def run(self) -> dict[str, str]:
        """Every check at once, each within CHECK_TIMEOUT_SECONDS: name -> "ok" or the problem."""
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(self.checks[n]) for n in names))
        return dict(zip(names, results, strict=True))

    @staticmethod
    async def _one(check: Check) -> str:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                problem = await check()
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT_SECONDS:g}s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return problem or "ok"


def database_check(db: Database) -> Check:
    async def check() -> str | None:
        await db.ping()
        return None

    return check


def feed_check(feed: LiveFeed) -> Check:
    """Ready while the live feed's change stream is open (it reopens on its own after a lost
    connection; until then subscribers get nothing new from this process)."""

    async def check() -> str | None:
        if feed.status.connected:
            return None
        why = f": {feed.status.last_error}" if feed.status.last_error else ""
        return f"the live feed's change stream is not open{why}"

    return check


def worker_check(worker: DeadlineWorker, max_lag_seconds: float) -> Check:
    """Ready while the worker runs, was at most `max_lag_seconds` behind at its last pass, and
    passes often enough (a pass failing again and again leaves the last success behind)."""

    async def check() -> str | None:
        status = worker.status
        if not status.running:
            return "the deadline worker is not running"
        lag = status.lag.total_seconds()
        if lag > max_lag_seconds:
            return f"the deadline worker is {lag:.0f}s behind (limit {max_lag_seconds:g}s)"
        if status.last_run_at is None:
            return f"no pass yet: {status.last_error}" if status.last_error else None
        since = (worker.services.clock.now() - status.last_run_at).total_seconds()
        if since > max_lag_seconds + worker.interval:
            why = f": {status.last_error}" if status.last_error else ""
            return f"the deadline worker's last pass began {since:.0f}s ago{why}"
        return None

    return check


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok", "pid": os.getpid()})


async def readyz(request: Request) -> Response:
    readiness: Readiness = request.app.state.readiness
    checks = await readiness.run()
    ready = all(result == "ok" for result in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )

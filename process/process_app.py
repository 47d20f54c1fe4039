"""What one service process runs: the app, connected to the database inside its own event loop.

`python -m api` serves this in-process (one process) or has uvicorn start `--workers N` copies of
it (`create_process_app` is the factory each one imports). Each copy opens its own connection
pool, runs its own deadline worker (they need no coordination, see services/deadline_worker.py)
and webhook dispatcher (one process per webhook at a time: services/webhook_delivery.py),
and answers /healthz, /readyz and /metrics for itself (metrics add up across processes, see
api/metrics.py). The parent process prepared the database (indexes, demo data) once before.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from api.logs import configure_logging
from api.metrics import DatabaseLatency, ObservedDeadlineWorker
from api.settings import Settings, load_settings
from models.clock import SystemClock
from process.gc_tuning import tune_for_serving
from resolvers.webhooks.documents import DocumentShaper
from services.bootstrap import build_services
from services.tiktok_connection import TikTokConnection
from services.webhook_delivery import WebhookDispatcher
from storage.mongo import Database, connect
from webhooks.retry import RetryPolicy


class ProcessApp:
    """An ASGI app that builds the service app in its lifespan startup, then hands over to it
    (the startup message included, so the app's own lifespan starts the worker)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.mongodb_uri:
            raise ValueError("the parent process sets MONGODB_URI for its service processes")
        self.settings = settings
        self.app: ASGIApp | None = None
        self.db: Database | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if self.app is None:
            raise RuntimeError("served before the lifespan started")
        await self.app(scope, receive, send)

    async def close_subscriptions(self) -> None:
        """At shutdown, before uvicorn drops the sockets (process/shutdown.py)."""
        state = getattr(self.app, "state", None)
        if state is not None:
            await state.close_subscriptions()

    async def _build(self) -> ASGIApp:
        s = self.settings
        assert s.mongodb_uri is not None
        self.db = connect(
            s.mongodb_uri,
            s.database,
            timeout_ms=s.db_timeout_ms,
            call_timeout_ms=s.db_call_timeout_ms,
            event_listeners=[DatabaseLatency()],
        )
        self.db.attempt_timeout = s.db_call_timeout_ms / 1000  # see ATTEMPT_TIMEOUT_SECONDS
        services = await build_services(self.db, SystemClock())
        worker = None
        if s.worker_enabled:
            worker = ObservedDeadlineWorker(
                services,
                interval=s.worker_interval_seconds,
                batch_size=s.worker_batch_size,
                operation_timeout=s.operation_timeout_seconds,
            )
        dispatcher = None
        if s.webhooks_enabled:
            dispatcher = WebhookDispatcher(
                self.db,
                policy=RetryPolicy(
                    base_seconds=s.webhook_retry_base_seconds,
                    cap_seconds=max(s.webhook_retry_cap_seconds, s.webhook_retry_base_seconds),
                    max_attempts=s.webhook_max_attempts,
                    pause_after=s.webhook_pause_after,
                ),
                lease_seconds=s.webhook_lease_seconds,
                poll_seconds=s.webhook_poll_seconds,
                timeout_seconds=s.webhook_timeout_seconds,
                concurrency=s.webhook_concurrency,
                production=s.production,
                shape=DocumentShaper(services, None),
            )
        tiktok = TikTokConnection(
            services,
            replay_window=timedelta(seconds=s.tiktok_replay_window_seconds),
            reconcile_seconds=s.tiktok_reconcile_seconds,
            settings_link=s.tiktok_link(),
            sealer=s.tiktok_sealer(),
        )
        return create_app(services, settings=s, worker=worker, dispatcher=dispatcher, tiktok=tiktok)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        startup = await receive()
        try:
            self.app = await self._build()
            tune_for_serving()
        except Exception as exc:
            await send(
                {"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"}
            )
            if self.db is not None:
                await self.db.close()
            return
        replayed = False

        async def receive_with_startup() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return startup
            return await receive()

        async def send_closing_first(message: Message) -> None:
            # Close the database before saying the shutdown is complete: uvicorn returns then,
            # and a Ctrl-C it re-raises cancels whatever this lifespan still had to do.
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self._close_db()
            await send(message)

        try:
            await self.app(scope, receive_with_startup, send_closing_first)
        finally:
            await self._close_db()

    async def _close_db(self) -> None:
        if self.db is not None:
            db, self.db = self.db, None
            await db.close()


_served: list[ProcessApp] = []  # the app create_process_app made in this process


def create_process_app() -> ProcessApp:
    """The factory uvicorn imports in each process of `--workers N` (settings from the
    environment the parent passed down)."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level, settings.access_log)
    app = ProcessApp(settings)
    _served[:] = [app]
    return app


async def close_served_subscriptions() -> None:
    """`--workers N`: what each process's GracefulServer runs before it shuts down (the
    supervisor pickles it into the process, so it must be a module-level function)."""
    for app in _served:
        await app.close_subscriptions()

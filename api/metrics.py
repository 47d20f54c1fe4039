"""Every Prometheus metric of the service, defined in one place, and the `/metrics` endpoint.

The operation log (graphql_runtime/operation_log.py) counts GraphQL operations and typed errors; the
deadline worker, the database driver's command monitoring and the WebSocket middleware feed the
rest. The live feed (feed/) increments SUBSCRIPTIONS and FEED_EVENTS_* defined here.

Several processes (`--workers N`): the parent sets PROMETHEUS_MULTIPROC_DIR before starting them,
each process writes its samples there, and `/metrics`, answered by any one of them, adds up all
of them (prometheus_client's multiprocess mode; gauges say how they combine).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from pymongo import monitoring
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.deadline_worker import DeadlineWorker

disable_created_metrics()  # no `*_created` series beside every counter and histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# ---- GraphQL -------------------------------------------------------------------------------
OPERATIONS = Counter(
    "aftersales_graphql_operations_total",
    "GraphQL operations by name, type and outcome (ok, error, internal_error).",
    ["operation", "type", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "aftersales_graphql_operation_seconds",
    "Time from receiving a GraphQL operation to its result, parsing and validation included.",
    ["operation", "type"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter(
    "aftersales_graphql_errors_total",
    "Errors returned to clients by code: typed errors of the result unions and GraphQL errors.",
    ["code"],
)

# ---- WebSocket and the live feed (feed/ increments the feed's) -------------------------------
WEBSOCKET_CONNECTIONS = Gauge(
    "aftersales_websocket_connections",
    "Open WebSocket connections.",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS = Gauge(
    "aftersales_subscriptions",
    "Active GraphQL subscriptions.",
    multiprocess_mode="livesum",
)
FEED_EVENTS_DELIVERED = Counter(
    "aftersales_feed_events_delivered_total",
    "Change events sent to subscribers.",
)
FEED_EVENTS_QUEUED = Counter(
    "aftersales_feed_events_queued_total",
    "Change events that waited in a subscriber's queue because its socket was busy "
    "(the rest went straight to the socket).",
)
FEED_EVENTS_DROPPED = Counter(
    "aftersales_feed_events_dropped_total",
    "Change events not sent to a subscriber, by reason (for example a slow consumer).",
    ["reason"],
)

# ---- The deadline worker ---------------------------------------------------------------------
WORKER_LAG = Gauge(
    "aftersales_deadline_worker_lag_seconds",
    "How far behind the deadline worker was at its last pass: now minus the oldest deadline "
    "that had passed and was not yet acted on.",
    multiprocess_mode="livemax",
)
WORKER_LAST_PASS = Gauge(
    "aftersales_deadline_worker_last_pass_timestamp_seconds",
    "Unix time of the deadline worker's last successful pass (alert when it grows old).",
    multiprocess_mode="livemax",
)
WORKER_MOVES = Counter(
    "aftersales_deadline_worker_moves_total",
    "Requests and orders the deadline worker moved, by deadline.",
    ["deadline"],
)

# ---- The database --------------------------------------------------------------------------
DB_COMMAND_SECONDS = Histogram(
    "aftersales_db_command_seconds",
    "Database round trips as the driver times them, by command and outcome.",
    ["command", "outcome"],
    buckets=LATENCY_BUCKETS,
)

# Operation names come from clients: past this many distinct names a process files the rest
# under "(other)", so a client cannot grow the metrics without bound.
MAX_OPERATION_NAMES = 200
_operation_names: set[str] = set()


def operation_label(name: str) -> str:
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES or len(name) > 100:
        return "(other)"
    _operation_names.add(name)
    return name


def record_operation(
    operation: str, op_type: str, outcome: str, seconds: float, codes: list[str]
) -> None:
    label = operation_label(operation)
    OPERATIONS.labels(label, op_type, outcome).inc()
    OPERATION_SECONDS.labels(label, op_type).observe(seconds)
    for code in codes:
        ERRORS.labels(code).inc()


class DatabaseLatency(monitoring.CommandListener):
    """Times every command the driver sends (pass to `connect(event_listeners=...)`)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        DB_COMMAND_SECONDS.labels(event.command_name, "ok").observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        DB_COMMAND_SECONDS.labels(event.command_name, "failed").observe(event.duration_micros / 1e6)


class ObservedDeadlineWorker(DeadlineWorker):
    """The deadline worker, reporting its lag and moves after every pass."""

    async def run_once(self) -> int:
        before = dict(self.status.moves_by_deadline)
        moves = await super().run_once()
        for name, total in self.status.moves_by_deadline.items():
            if total > before.get(name, 0):
                WORKER_MOVES.labels(name).inc(total - before.get(name, 0))
        WORKER_LAG.set(self.status.lag.total_seconds())
        if self.status.last_run_at is not None:
            WORKER_LAST_PASS.set(self.status.last_run_at.timestamp())
        return moves


class CountWebSockets:
    """ASGI middleware: the number of accepted WebSocket connections still open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        accepted = False

        async def counting_send(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                WEBSOCKET_CONNECTIONS.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                WEBSOCKET_CONNECTIONS.dec()


def multiprocess_mode() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


def mark_this_process_dead() -> None:
    """At a process's exit in multiprocess mode: drop its live gauges from the sums."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())


def guarded_metrics(
    token: str | None, *, production: bool
) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics` for whoever may read it (AFTERSALES_METRICS_TOKEN): with a token set, only a
    request bearing it (`Authorization: Bearer <token>`, else 401); without one, anyone in
    development and nobody in production (403), where the metrics name shops' operations."""
    expected = token.encode("utf-8", "surrogateescape") if token is not None else None

    async def endpoint(request: Request) -> Response:
        if expected is None:
            if production:
                return PlainTextResponse(
                    "metrics need AFTERSALES_METRICS_TOKEN in production", status_code=403
                )
            return await metrics_endpoint(request)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        sent = given.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent, expected):
            return PlainTextResponse(
                "send Authorization: Bearer <AFTERSALES_METRICS_TOKEN>",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await metrics_endpoint(request)

    return endpoint


async def metrics_endpoint(_: Request) -> Response:
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

"""/healthz, /readyz with its checks, and /metrics in the Prometheus text format."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client import REGISTRY

from api.app import create_app
from api.health import Readiness, database_check, worker_check
from api.metrics import (
    WEBSOCKET_CONNECTIONS,
    CountWebSockets,
    DatabaseLatency,
    ObservedDeadlineWorker,
)
from models.clock import SettableClock
from services.bootstrap import Services
from storage.mongo import Database, connect
from tests.support.api_client import authorization
from tests.support.factories import pending_requests, seller
from tests.support.processes import free_port


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _worker(services: Services) -> ObservedDeadlineWorker:
    return ObservedDeadlineWorker(services, interval=0.05, batch_size=50)


async def test_healthz_says_the_process_answers(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["pid"] > 0


async def test_readyz_is_ready_when_the_database_answers_and_the_feed_watches(
    services: Services,
) -> None:
    app = create_app(services)
    async with app.router.lifespan_context(app):  # starts the live feed's change watcher
        await asyncio.wait_for(app.state.live_feed.ready.wait(), 10)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "change_watcher": "ok"},
    }


async def test_readyz_fails_while_the_feed_does_not_watch(http: httpx.AsyncClient) -> None:
    # The conftest app runs no lifespan: its live feed never opened its change stream.
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["change_watcher"].startswith("the live feed's change stream")


async def test_readyz_fails_with_a_reason_when_a_registered_check_fails(
    services: Services,
) -> None:
    app = create_app(services)

    async def search_index() -> str | None:  # any part may register a check
        return "the search index is not open"

    app.state.readiness.register("search_index", search_index)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.live_feed.ready.wait(), 10)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {
            "database": "ok",
            "change_watcher": "ok",
            "search_index": "the search index is not open",
        },
    }


async def test_a_database_that_does_not_answer_is_not_ready() -> None:
    dead = connect(f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", "x", timeout_ms=200)
    readiness = Readiness()
    readiness.register("database", database_check(dead))
    try:
        checks = await readiness.run()
    finally:
        await dead.close()
    assert checks["database"].startswith("ServerSelectionTimeoutError")


async def test_a_check_that_hangs_is_cut_short_and_reported() -> None:
    readiness = Readiness()

    async def hangs() -> str | None:
        await asyncio.sleep(60)
        return None

    readiness.register("slow", hangs)
    assert await readiness.run() == {"slow": "no answer within 2s"}


async def test_the_worker_is_ready_only_while_it_runs_and_keeps_up(
    services: Services, clock: SettableClock
) -> None:
    worker = _worker(services)
    check = worker_check(worker, max_lag_seconds=60)
    assert await check() == "the deadline worker is not running"

    worker.status.running = True
    worker.status.last_run_at = clock.now()
    assert await check() is None

    worker.status.lag = timedelta(seconds=61)
    assert await check() == "the deadline worker is 61s behind (limit 60s)"

    worker.status.lag = timedelta(0)
    worker.status.last_error = "AutoReconnect: connection refused"
    clock.advance(timedelta(seconds=120))  # every pass since failed
    assert await check() == (
        "the deadline worker's last pass began 120s ago: AutoReconnect: connection refused"
    )


async def test_metrics_count_operations_by_name_and_outcome_and_typed_errors_by_code(
    http: httpx.AsyncClient, shop_id: str
) -> None:
    ok = {"operation": "Counts", "type": "query", "outcome": "ok"}
    failed = {"operation": "Reject", "type": "mutation", "outcome": "error"}
    ok_before = _sample("aftersales_graphql_operations_total", **ok)
    failed_before = _sample("aftersales_graphql_operations_total", **failed)
    not_found_before = _sample("aftersales_graphql_errors_total", code="NOT_FOUND")
    latency_before = _sample(
        "aftersales_graphql_operation_seconds_count", operation="Counts", type="query"
    )

    headers = authorization(seller(shop_id))
    await http.post(
        "/graphql",
        json={"query": "query Counts { cancellationTabCounts { tab count } }"},
        headers=headers,
    )
    reject = """mutation Reject { rejectCancellation(input: {
        cancellationId: "can_doesnotexist00000", reason: ALREADY_SHIPPED}) { __typename } }"""
    for _ in range(2):
        await http.post("/graphql", json={"query": reject}, headers=headers)

    assert _sample("aftersales_graphql_operations_total", **ok) == ok_before + 1
    assert _sample("aftersales_graphql_operations_total", **failed) == failed_before + 2
    assert _sample("aftersales_graphql_errors_total", code="NOT_FOUND") == not_found_before + 2
    assert (
        _sample("aftersales_graphql_operation_seconds_count", operation="Counts", type="query")
        == latency_before + 1
    )

    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert (
        'aftersales_graphql_operations_total{operation="Reject",outcome="error",type="mutation"}'
        in text
    )
    for family in (
        "aftersales_graphql_operations_total counter",
        "aftersales_graphql_operation_seconds histogram",
        "aftersales_graphql_errors_total counter",
        "aftersales_websocket_connections gauge",
        "aftersales_subscriptions gauge",
        "aftersales_feed_events_delivered_total counter",
        "aftersales_feed_events_dropped_total counter",
        "aftersales_deadline_worker_lag_seconds gauge",
        "aftersales_deadline_worker_last_pass_timestamp_seconds gauge",
        "aftersales_deadline_worker_moves_total counter",
        "aftersales_db_command_seconds histogram",
    ):
        assert f"# TYPE {family}\n" in text, family
    assert "_created" not in text  # creation-time series are switched off: noise on a dashboard


async def test_c6_worker_metrics_count_its_moves_and_show_its_lag(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    before = _sample("aftersales_deadline_worker_moves_total", deadline="seller_response_window")
    made_at = clock.now() - timedelta(hours=48, minutes=30)
    ids = await pending_requests(db, shop_id, [made_at] * 3)
    await _worker(services).run_once()
    moved = _sample("aftersales_deadline_worker_moves_total", deadline="seller_response_window")
    # The worker scans every shop: leftovers of other tests may move too, never fewer than ours.
    assert moved - before >= len(ids)
    assert _sample("aftersales_deadline_worker_lag_seconds") >= 30 * 60
    assert _sample("aftersales_deadline_worker_last_pass_timestamp_seconds") == (
        clock.now().timestamp()
    )


async def test_database_round_trips_are_timed_by_command(mongodb_uri: str) -> None:
    timed = connect(mongodb_uri, "aftersales_metrics", event_listeners=[DatabaseLatency()])
    before = _sample("aftersales_db_command_seconds_count", command="ping", outcome="ok")
    try:
        await timed.ping()
        await timed.ping()
    finally:
        await timed.close()
    after = _sample("aftersales_db_command_seconds_count", command="ping", outcome="ok")
    assert after == before + 2


async def test_open_websocket_connections_are_counted_until_they_close() -> None:
    seen: list[float] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        seen.append(WEBSOCKET_CONNECTIONS._value.get())
        await receive()

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    before = WEBSOCKET_CONNECTIONS._value.get()
    await CountWebSockets(app)({"type": "websocket", "headers": []}, receive, send)
    assert seen == [before + 1]
    assert WEBSOCKET_CONNECTIONS._value.get() == before

"""A database that stops answering: callers get a retryable SERVICE_UNAVAILABLE (HTTP 503 with
Retry-After) within their deadline, never a hang or an internal error, and the service (the
deadline worker included) carries on when the database is back.

The database here is a SecantusDB of this test's own, stopped with SIGSTOP (its sockets stay
open and silent, the worst case for a client), so the suite's shared one is not disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.app import create_app
from api.embedded_db import EmbeddedDatabase
from api.settings import default_settings
from models.clock import SystemClock
from models.orders import FulfilmentState
from services.bootstrap import build_services
from services.deadline_worker import DeadlineWorker
from storage.mongo import Database, connect
from tests.support.after_sale_api import ask
from tests.support.api_client import authorization
from tests.support.factories import buyer, place_order, seller
from tests.support.served import serving, ws_operation

DEADLINE = 4.0  # the operation deadline these apps run with
GUARD = DEADLINE + 20  # what a caller would wait without one: the test fails, not hangs

ASK = (
    "mutation($input: RequestAfterSaleInput!) { r: requestAfterSale(input: $input) "
    "{ __typename ... on UserError { code } } }"
)
TABS = "{ cancellationTabCounts { tab count } }"


@pytest.fixture
def own_database() -> Iterator[EmbeddedDatabase]:
    with EmbeddedDatabase(":memory:") as server:
        yield server
        assert server.pid is not None
        os.kill(server.pid, signal.SIGCONT)  # never leave it stopped (its stop would hang)


@pytest.fixture
async def outage_db(own_database: EmbeddedDatabase) -> AsyncIterator[Database]:
    db = connect(own_database.uri, "outage", timeout_ms=1000, call_timeout_ms=1500)
    db.attempt_timeout = 1.5
    yield db
    await db.close()


@contextlib.contextmanager
def stopped(server: EmbeddedDatabase) -> Iterator[None]:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


async def test_a_stopped_database_answers_503_service_unavailable_and_the_service_recovers(
    own_database: EmbeddedDatabase, outage_db: Database
) -> None:
    services = await build_services(outage_db, SystemClock())
    worker = DeadlineWorker(services, interval=0.2, batch_size=10, operation_timeout=DEADLINE)
    app = create_app(
        services, worker=worker, settings=default_settings(operation_timeout_seconds=DEADLINE)
    )
    order = await place_order(
        outage_db,
        "shop-outage",
        "buyer-outage",
        datetime.now(UTC) - timedelta(days=1),
        state=FulfilmentState.DELIVERED,
    )
    asked = {"input": ask(order, "REFUND_ONLY", "DAMAGED", {0: 1})}
    worker.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:

        async def post(query: str, variables: dict, actor: str) -> httpx.Response:
            request = http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers=authorization(actor),
            )
            return await asyncio.wait_for(request, GUARD)

        try:
            with stopped(own_database):
                answers = [
                    await post(TABS, {}, seller("shop-outage")),  # a query
                    await post(ASK, asked, buyer("buyer-outage")),  # a mutation
                ]
                ready = await asyncio.wait_for(http.get("/readyz"), GUARD)
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert int(answer.headers["Retry-After"]) >= 1
                [error] = answer.json()["errors"]
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
                assert error["extensions"]["retryAfterSeconds"] >= 1
                assert str(own_database.port) not in error["message"]  # no driver message
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] != "ok"

            # Back: the same mutation lands, the worker passes again, /readyz is ready.
            landed = await post(ASK, asked, buyer("buyer-outage"))
            assert landed.json()["data"]["r"]["__typename"] == "AfterSale", landed.text
            passed = worker.status.last_run_at
            for _ in range(100):
                if worker.status.last_run_at != passed:
                    break
                await asyncio.sleep(0.1)
            assert worker.status.running and worker.status.last_run_at != passed
            ready = await http.get("/readyz")
            assert ready.json()["checks"]["database"] == "ok"
        finally:
            await worker.stop(timeout=GUARD)


async def test_a_subscription_started_while_the_database_is_stopped_ends_with_service_unavailable(
    own_database: EmbeddedDatabase, outage_db: Database
) -> None:
    services = await build_services(outage_db, SystemClock())
    settings = default_settings(operation_timeout_seconds=DEADLINE)
    document = (
        'subscription { tabCounts(shopId: "shop-outage") { __typename '
        "... on TabCountsUpdate { shopId } } }"
    )
    async with serving(services, settings) as url:
        with stopped(own_database):
            messages = await asyncio.wait_for(
                ws_operation(url, authorization(seller("shop-outage")), document, {}, listen=GUARD),
                GUARD + 5,
            )
    errors = [e for m in messages if m["type"] in ("next", "error") for e in _errors(m)]
    assert [e["extensions"]["code"] for e in errors] == ["SERVICE_UNAVAILABLE"], messages
    assert str(own_database.port) not in errors[0]["message"]


def _errors(message: dict) -> list[dict]:
    payload = message.get("payload")
    if isinstance(payload, list):  # an `error` message carries the errors themselves
        return payload
    return (payload or {}).get("errors") or []

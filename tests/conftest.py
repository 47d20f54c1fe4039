"""Tests talk to a real database server over a real connection: SecantusDB started here as a
child process, or the MongoDB replica set named by MONGODB_URI. Each session gets its own
database; each test its own shop and buyers, so tests never see each other's data."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from api.app import create_app
from api.embedded_db import EmbeddedDatabase
from models.clock import SettableClock
from services.bootstrap import Services, build_services
from storage.indexes import ensure_indexes
from storage.mongo import Database, connect
from tests.support.api_client import GraphQLClient


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files with a test marked `long` first, each file's tests in their order: a parallel
    run (./dev test) hands out whole files in this order, and one started last would leave
    the other workers idle while it runs alone."""
    long_files = {item.path for item in items if item.get_closest_marker("long")}
    items.sort(key=lambda item: item.path not in long_files)


def _now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    with EmbeddedDatabase(":memory:") as server:
        yield server.uri


@pytest.fixture(scope="session")
async def db(mongodb_uri: str) -> AsyncIterator[Database]:
    database = connect(mongodb_uri, f"test_{uuid.uuid4().hex[:12]}")
    await ensure_indexes(database)
    yield database
    if os.environ.get("MONGODB_URI"):
        # The embedded server is in memory and goes with the session: its database is not
        # dropped first. (Once, dropping it after a whole suite span on one document in
        # SecantusDB for minutes, holding its storage lock.)
        await database.client.drop_database(database.db.name)
    await database.close()


@pytest.fixture(scope="session")
def clock() -> SettableClock:
    return SettableClock(_now_ms())


@pytest.fixture(autouse=True)
def _fresh_time(clock: SettableClock) -> None:
    # Every test starts at the real present; tests move it forward as their rule needs.
    clock.set(_now_ms())


@pytest.fixture(scope="session")
async def services(db: Database, clock: SettableClock) -> Services:
    return await build_services(db, clock)


@pytest.fixture(scope="session")
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def shop_id() -> str:
    return f"shop-{uuid.uuid4().hex[:8]}"

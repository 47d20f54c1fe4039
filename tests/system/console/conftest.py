"""The console's browser tests: one service process and one Chromium for them all, a fresh
browser context per test (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from storage.mongo import Database
from tests.support.browser import ensure_chromium
from tests.support.processes import free_port, start_service, wait_for_line

playwright_api = pytest.importorskip("playwright.async_api")
LAPTOP = {"width": 1366, "height": 860}


@pytest.fixture(scope="session")
def chromium() -> str:
    path, why = ensure_chromium()
    if path is None:
        pytest.skip(f"the console's browser tests need Chromium: {why}")
    return path


@pytest.fixture(scope="session")
def service_url(
    mongodb_uri: str, db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`python -m api` on the tests' database, as a user starts it (no demo data, no worker:
    a deadline that passes stays on the page as overdue)."""
    port = free_port()
    proc = start_service(
        {
            "MONGODB_URI": mongodb_uri,
            "AFTERSALES_DATABASE": db.db.name,
            "AFTERSALES_PORT": str(port),
            "AFTERSALES_DEMO_DATA": "false",
            "AFTERSALES_WORKER_ENABLED": "false",
        },
        tmp_path_factory.mktemp("service"),
    )
    try:
        wait_for_line(proc, "Uvicorn running")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[Any]:
    ctx = await browser.new_context(viewport=LAPTOP, locale="en-US", timezone_id="UTC")
    yield ctx
    await ctx.close()

"""The live dashboard in a real browser: Debian's headless Chromium driven by Playwright.

Two pages watch one shop; an agent accepts a request in the first, and the second shows it move
tab without reloading (H3), through the service's own subscriptions.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.mongo import Database
from tests.api_client import authorization
from tests.browser import ensure_chromium
from tests.factories import pending_requests
from tests.processes import ROOT, free_port, start_service, wait_for_line

playwright_api = pytest.importorskip("playwright.async_api")
SCREENSHOT = ROOT / "build" / "screenshots" / "dashboard.png"


@pytest.fixture(scope="session")
def chromium() -> str:
    path, why = ensure_chromium()
    if path is None:
        pytest.skip(f"the dashboard's browser test needs Chromium: {why}")
    return path


@pytest.fixture
def service_url(mongodb_uri: str, db: Database, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = start_service(
        {
            "MONGODB_URI": mongodb_uri,
            "AFTERSALES_DATABASE": db.db.name,
            "AFTERSALES_PORT": str(port),
            "AFTERSALES_DEMO_DATA": "false",
            "AFTERSALES_WORKER_ENABLED": "false",
        },
        tmp_path,
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


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def open_dashboard(browser: object, url: str, shop_id: str, identity: str) -> object:
    page = await browser.new_page(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    await page.goto(f"{url}/dashboard?shop={shop_id}")
    await page.fill("#identity", identity)
    await page.click("#connect button")
    expect = playwright_api.expect
    await expect(page.locator("#live")).to_have_text("live")
    return page


@pytest.mark.slow
async def test_h3_dashboard_shows_a_decision_taken_in_another_page_live(
    db: Database, shop_id: str, service_url: str, browser: object
) -> None:
    now = datetime.now(UTC)
    first, second = await pending_requests(
        db, shop_id, [now - timedelta(hours=2), now - timedelta(hours=1)]
    )
    agent = authorization(f"seller:agent-1@{shop_id}+adjustments")["Authorization"]
    expect = playwright_api.expect

    deciding = await open_dashboard(browser, service_url, shop_id, agent)
    watching = await open_dashboard(browser, service_url, shop_id, agent)
    for page in (deciding, watching):
        await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("2")
        await expect(page.locator("#rows tr")).to_have_count(2)
        # The deadline counts down (48 h from the request, C6).
        await expect(page.locator(f'tr[data-id="{first}"] .countdown')).to_contain_text("h ")

    await deciding.click(f'tr[data-id="{first}"]')
    await expect(deciding.locator("#detail h2")).to_contain_text("PENDING")
    await deciding.click('#detail button[data-action="accept"]')

    # The other page, never reloaded, sees the request leave To Proceed and the counts move.
    await expect(watching.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("1")
    await expect(watching.locator('[data-tab="COMPLETED"] .count')).to_have_text("1")
    await expect(watching.locator(f'tr[data-id="{first}"]')).to_have_count(0)
    await expect(watching.locator(f'tr[data-id="{second}"]')).to_have_count(1)
    # And the deciding page shows the record of its decision in the timeline.
    await expect(deciding.locator("#detail .timeline li")).to_have_count(2)

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await watching.screenshot(path=str(SCREENSHOT))

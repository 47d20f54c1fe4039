"""The steps an agent takes on the console's page, shared by its browser tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_client import authorization

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect
# Two cores shared with the database and the service: room for a slow first paint.
expect.set_options(timeout=15_000)


def token(actor: str) -> str:
    return authorization(actor)["Authorization"]


async def open_console(
    context: Any, url: str, shop_id: str, identity: str, section: str = "cancellations"
) -> Any:
    page = await context.new_page()
    await page.goto(f"{url}/dashboard?shop={shop_id}&section={section}")
    await page.fill("#identity", identity)
    await page.click("#connect button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")
    return page


async def open_request(page: Any, request_id: str) -> None:
    await page.click(f'#rows tr[data-id="{request_id}"]')
    await expect(page.locator("#detail h2")).to_contain_text(request_id)


async def decide(page: Any, request_id: str, action: str, fill: Any = None) -> None:
    """Open the request, take one decision through its dialog, and wait for the page to say so."""
    await open_request(page, request_id)
    await page.click(f'#detail button[data-action="{action}"]')
    await expect(page.locator("#decide")).to_be_visible()
    if fill is not None:
        await fill(page.locator("#decide"))
    await page.click("#decide-submit")
    await expect(page.locator("#message")).to_contain_text(f"{request_id} is now")
    await expect(page.locator("#decide")).to_be_hidden()

"""GraphiQL at /graphql in a real browser with no way out: every request to another host is
refused, as on a machine without internet access. The page must load from the service alone,
send the header typed into its Headers tab, and run a subscription that hears a mutation."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from resolvers.feed.reading import encode_cursor
from storage import events as event_log
from storage.mongo import Database
from tests.support.api_client import authorization
from tests.support.browser import ensure_chromium
from tests.support.factories import pending_requests
from tests.support.processes import free_port, start_service, wait_for_line

playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture(scope="module")
def chromium() -> str:
    path, why = ensure_chromium()
    if path is None:
        pytest.skip(f"GraphiQL's browser test needs Chromium: {why}")
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
async def offline_page(chromium: str, service_url: str) -> AsyncIterator[tuple[object, list[str]]]:
    """A page that reaches the service and nothing else; the second item lists what it tried."""
    service = urlsplit(service_url).netloc
    refused: list[str] = []

    async def only_the_service(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).netloc == service:
            await route.continue_()  # type: ignore[attr-defined]
        else:
            refused.append(url)
            await route.abort()  # type: ignore[attr-defined]

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.route("**/*", only_the_service)
        yield page, refused
        await browser.close()


async def _type_into(page: object, editor: str, text: str) -> None:
    """Replace an editor's text as a user would: click into it, select all, type."""
    await page.click(f"{editor} .CodeMirror-scroll")  # type: ignore[attr-defined]
    await page.keyboard.press("Control+A")  # type: ignore[attr-defined]
    await page.keyboard.press("Delete")  # type: ignore[attr-defined]
    # insert_text, not type: typed brackets would be closed a second time by the editor.
    await page.keyboard.insert_text(text)  # type: ignore[attr-defined]


async def _write_query(page: object, text: str) -> None:
    await _type_into(page, ".graphiql-query-editor", text)
    # GraphiQL parses the document a moment after the last keystroke, and picks HTTP or the
    # WebSocket by what it parsed; the page writes the query into its URL right after that.
    await page.wait_for_function(  # type: ignore[attr-defined]
        "text => new URLSearchParams(location.search).get('q') === text", arg=text
    )


async def _response(page: object) -> str:
    return await page.evaluate(  # type: ignore[attr-defined]
        "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    )


@pytest.mark.slow
async def test_graphiql_runs_a_query_and_a_subscription_with_no_outside_host(
    db: Database, shop_id: str, service_url: str, offline_page: tuple[object, list[str]]
) -> None:
    page, refused = offline_page
    expect = playwright_api.expect
    [request_id] = await pending_requests(db, shop_id, [datetime.now(UTC) - timedelta(hours=1)])
    agent = authorization(f"seller:agent-1@{shop_id}+adjustments")

    await page.goto(f"{service_url}/graphql")  # type: ignore[attr-defined]
    await expect(page.locator(".graphiql-execute-button")).to_be_visible()  # type: ignore[attr-defined]

    await page.get_by_role("button", name="Headers").click()  # type: ignore[attr-defined]
    await _type_into(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)", json.dumps(agent))
    await _write_query(page, "{ viewer { kind id shopId } }")
    await page.click(".graphiql-execute-button")  # type: ignore[attr-defined]
    await expect(page.locator(".graphiql-response")).to_contain_text(shop_id)  # type: ignore[attr-defined]
    viewer = json.loads(await _response(page))
    assert viewer == {
        "data": {"viewer": {"kind": "SELLER_AGENT", "id": "agent-1", "shopId": shop_id}}
    }

    # Resuming from the shop's last event: the feed registers a resumed subscriber before it
    # reads the log, so the mutation below is heard however soon it commits.
    last = encode_cursor(shop_id, await event_log.head(db, shop_id))
    await _write_query(
        page,
        f'subscription {{ requestEvents(after: "{last}") {{ __typename '
        "... on RequestEvent { requestId change { action toStatus } } } }",
    )
    await page.click(".graphiql-execute-button")  # type: ignore[attr-defined]
    # Subscribed (the button turns into a stop button while it runs); a mutation made
    # elsewhere must now reach this page.
    await expect(page.locator(".graphiql-execute-button[aria-label*='Stop']")).to_be_visible()  # type: ignore[attr-defined]
    accept = json.dumps(
        {
            "query": "mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) { __typename } }",
            "variables": {"id": request_id},
        }
    ).encode()
    call = urllib.request.Request(
        f"{service_url}/graphql",
        data=accept,
        headers={"content-type": "application/json", **agent},
    )
    with urllib.request.urlopen(call, timeout=10) as answer:
        assert json.load(answer)["data"]["acceptCancellation"]["__typename"] == "Cancellation"
    await expect(page.locator(".graphiql-response")).to_contain_text(request_id)  # type: ignore[attr-defined]
    event = json.loads(await _response(page))
    assert event["data"]["requestEvents"]["requestId"] == request_id
    assert event["data"]["requestEvents"]["change"] == {"action": "ACCEPT", "toStatus": "CANCELLED"}

    assert refused == [], "GraphiQL asked hosts other than the service"

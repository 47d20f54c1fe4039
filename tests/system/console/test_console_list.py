"""The console's list in a real browser: what a row shows, tabs whose counts follow the live feed,
keyset paging, filters, a narrow screen, and colours that pass WCAG AA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import pending_requests, seller
from tests.support.processes import ROOT
from tests.system.console.steps import decide, expect, open_console, open_request, token

SCREENSHOTS = ROOT / "build" / "screenshots"
pytestmark = pytest.mark.slow


def agent(shop_id: str) -> str:
    return token(f"seller:agent-1@{shop_id}+adjustments")


async def test_rows_show_buyer_items_amount_reason_and_the_deadline_in_the_agents_time_zone(
    api: GraphQLClient, db: Database, shop_id: str, service_url: str, browser: Any
) -> None:
    now = datetime.now(UTC)
    # C6: 48 h to answer. One past it (no worker here), one due in 30 minutes, one in 47 hours.
    overdue, soon, later = await pending_requests(
        db,
        shop_id,
        [now - timedelta(hours=49), now - timedelta(hours=47.5), now - timedelta(hours=1)],
    )
    context = await browser.new_context(locale="en-US", timezone_id="Asia/Tokyo")
    try:
        page = await open_console(context, service_url, shop_id, agent(shop_id))
        row = page.locator(f'#rows tr[data-id="{later}"]')
        asked = await api(
            "query($id: ID!) { cancellation(id: $id) { buyerId } }", {"id": later}, seller(shop_id)
        )
        await expect(row.locator(".buyer")).to_have_text(asked["cancellation"]["buyerId"])
        # build_order: 1 x Item 0 at 25.00 and 2 x Item 1 at 10.00.
        await expect(row.locator(".items li")).to_have_text(["Item 0 \u00d7 1", "Item 1 \u00d7 2"])
        await expect(row.locator(".amount")).to_have_text("$45.00")
        await expect(row.locator(".reason")).to_have_text("No longer needed / changed my mind")
        # Tokyo is UTC+9 all year: the due time is shown in the agent's zone.
        await expect(row.locator(".due .at")).to_contain_text("GMT+9")
        await expect(row.locator(".countdown")).to_contain_text("in 1 d 22 h")
        await expect(row.locator(".marker")).to_have_text("")
        await expect(page.locator(f'#rows tr[data-id="{soon}"] .marker')).to_have_text(
            "Due within the hour"
        )
        overdue_row = page.locator(f'#rows tr[data-id="{overdue}"]')
        await expect(overdue_row.locator(".marker")).to_have_text("Overdue")
        await expect(overdue_row.locator(".countdown")).to_contain_text("overdue by 1 h")
        # Deadline soonest first.
        await expect(page.locator("#rows tr")).to_have_count(3)
        ids = await page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
        assert ids == [overdue, soon, later]
    finally:
        await context.close()


async def test_h3_tab_counts_and_rows_follow_decisions_made_in_another_page_or_client_live(
    api: GraphQLClient, db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    now = datetime.now(UTC)
    first, second = await pending_requests(
        db, shop_id, [now - timedelta(hours=2), now - timedelta(hours=1)]
    )
    deciding = await open_console(context, service_url, shop_id, agent(shop_id))
    watching = await open_console(context, service_url, shop_id, agent(shop_id))
    for page in (deciding, watching):
        await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("2")
        await expect(page.locator('[data-tab="COMPLETED"] .count')).to_have_text("0")

    # H3: a decision in one page shows in the other, never reloaded.
    await decide(deciding, first, "accept")
    await expect(watching.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("1")
    await expect(watching.locator('[data-tab="COMPLETED"] .count')).to_have_text("1")
    await expect(watching.locator(f'tr[data-id="{first}"]')).to_have_count(0)
    await expect(deciding.locator("#detail .timeline li")).to_have_count(2)

    # A client that is not a page at all (the API, as another agent) moves the counts too.
    await api(
        "mutation($id: ID!) { rejectCancellation(input: {cancellationId: $id, reason: OTHER}) "
        "{ __typename } }",
        {"id": second},
        seller(shop_id),
    )
    for page in (deciding, watching):
        await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("0")
        await expect(page.locator('[data-tab="CLOSED"] .count')).to_have_text("1")
        await expect(page.locator("#empty")).to_be_visible()


async def test_paging_walks_the_apis_keyset_cursors_both_ways(
    db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    now = datetime.now(UTC)
    ids = await pending_requests(db, shop_id, [now - timedelta(minutes=m) for m in range(12)])
    page = await open_console(context, service_url, shop_id, agent(shop_id))
    await page.select_option("#f-first", "10")
    await page.click("#filters button[type=submit]")
    rows = page.locator("#rows tr")
    await expect(rows).to_have_count(10)
    first_page = await rows.evaluate_all("rows => rows.map(r => r.dataset.id)")
    await expect(page.locator("#prev")).to_be_disabled()

    await page.click("#next")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#page-no")).to_have_text("Page 2")
    await expect(page.locator("#next")).to_be_disabled()
    second_page = await rows.evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(first_page + second_page) == sorted(ids)

    await page.click("#prev")
    await expect(rows).to_have_count(10)
    assert await rows.evaluate_all("rows => rows.map(r => r.dataset.id)") == first_page


async def test_filters_and_sorts_are_the_apis_and_the_counts_follow_the_filter(
    db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    now = datetime.now(UTC)
    older, newer = await pending_requests(
        db, shop_id, [now - timedelta(hours=3), now - timedelta(hours=1)]
    )
    page = await open_console(context, service_url, shop_id, agent(shop_id))
    rows = page.locator("#rows tr")
    await expect(rows).to_have_count(2)

    await page.select_option("#f-sort", "NEWEST")
    await page.click("#filters button[type=submit]")
    await expect(rows.first).to_have_attribute("data-id", newer)
    await page.select_option("#f-sort", "OLDEST")
    await page.click("#filters button[type=submit]")
    await expect(rows.first).to_have_attribute("data-id", older)

    buyer_id = (await rows.first.locator(".buyer").inner_text()).strip()
    await page.fill("#f-buyer", buyer_id)
    await page.click("#filters button[type=submit]")
    await expect(rows).to_have_count(1)
    await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("1")
    await page.click("#f-clear")
    await expect(rows).to_have_count(2)
    await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("2")


async def test_a_narrow_screen_shows_rows_as_cards_and_the_detail_below_without_side_scrolling(
    db: Database, shop_id: str, service_url: str, browser: Any
) -> None:
    now = datetime.now(UTC)
    [request_id] = await pending_requests(db, shop_id, [now - timedelta(hours=1)])
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-US", timezone_id="UTC"
    )
    try:
        page = await open_console(context, service_url, shop_id, agent(shop_id))
        await expect(page.locator("table.requests thead")).to_be_hidden()
        row = page.locator(f'#rows tr[data-id="{request_id}"]')
        await expect(row.locator(".amount")).to_be_visible()
        label = await row.locator(".amount").evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        assert label == '"Amount"'
        await open_request(page, request_id)
        # The console scrolls the detail into view once it has loaded: wait for that, then read
        # both boxes at one moment (read apart, the scroll could fall between them).
        await expect(page.locator("#detail")).to_be_in_viewport()
        list_box, detail_box = await page.evaluate(
            """() => ["table.requests", "#detail"].map(s => {
                const r = document.querySelector(s).getBoundingClientRect();
                return {y: r.top, height: r.height, width: r.width};
            })"""
        )
        assert detail_box["y"] >= list_box["y"] + list_box["height"]
        assert detail_box["width"] <= 390
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "console-narrow.png"), full_page=True)
    finally:
        await context.close()


# The contrast ratio of WCAG 2.x, on the computed colours: the element's text against the first
# opaque background at or above it.
CONTRAST = """
els => els.map(el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const c = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * c(r) + 0.7152 * c(g) + 0.0722 * c(b);
  };
  let bg = null;
  for (let n = el; n; n = n.parentElement) {
    const v = rgb(getComputedStyle(n).backgroundColor);
    if (v.length < 4 || v[3] === 1) { bg = v; break; }
  }
  bg = bg || [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
  return [el.id || el.className || el.tagName, (a + 0.05) / (b + 0.05)];
})
"""

KEY_ELEMENTS = [
    "header.top h1",
    "#viewer",
    "#live",
    "#message",
    ".sections button",
    "[role=tab]",
    "[role=tab] .count",
    ".filters label",
    "table.requests th",
    "#rows .kind",
    "#rows .status",
    "#rows .due .at",
    "#rows .due .who",
    ".marker.overdue",
    ".marker.soon",
    "#bulk button",
    "#detail h2",
    "#detail .status-badge",
    "#detail dt",
    "#detail .actions button",
    "#detail ol.timeline time",
    "#detail table.lines th",
]


async def test_text_colours_meet_wcag_aa_contrast(
    db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    now = datetime.now(UTC)
    requests = await pending_requests(
        db, shop_id, [now - timedelta(hours=49), now - timedelta(hours=47.5)]
    )
    page = await open_console(context, service_url, shop_id, agent(shop_id))
    await page.click("#filters button[type=submit]")
    await open_request(page, requests[1])
    await page.locator(f'#rows tr[data-id="{requests[0]}"] .pick-row').check()
    checked: dict[str, float] = {}

    async def measure(selectors: list[str]) -> None:
        for selector in selectors:
            found = await page.locator(selector).evaluate_all(CONTRAST)
            assert found, f"nothing matches {selector}: the check would prove nothing"
            for name, ratio in found:
                checked[f"{selector} ({name})"] = ratio

    await measure(KEY_ELEMENTS)
    await page.click('#detail button[data-action="reject"]')
    await expect(page.locator("#decide select[name=reason]")).to_be_visible()
    await measure(["#decide h2", "#decide .label", "#decide option", "#decide-submit"])
    await page.click("#decide-cancel")
    await page.fill("#identity", "not-a-token")
    await page.click("#connect button[type=submit]")
    await expect(page.locator("#live")).to_have_text("offline: no identity")
    await measure(["#message.error", "#live.state-offline"])
    low = {name: round(ratio, 2) for name, ratio in checked.items() if ratio < 4.5}
    assert not low, f"below 4.5:1: {low}"

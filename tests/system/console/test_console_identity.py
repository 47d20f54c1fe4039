"""Who the console is opened as, in a real browser: an agent who may only read sees no decision,
a bad, expired or other shop's token gets one clear message, the live badge tells the truth after
a new identity, and in development an agent picks a demo identity from a list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.identity import DEVELOPMENT_SECRET, mint_token, parse_actor
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import pending_requests, seller
from tests.system.console.steps import expect, open_console, open_request, token

pytestmark = pytest.mark.slow

ACCEPT = """mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) {
  __typename } }"""


async def reopen(page: Any, identity: str, shop_id: str | None = None) -> None:
    await page.fill("#identity", identity)
    if shop_id is not None:
        await page.fill("#shop", shop_id)
    await page.click("#connect button[type=submit]")


async def test_an_agent_without_adjustments_sees_no_decision_buttons(
    db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    [request_id] = await pending_requests(db, shop_id, [datetime.now(UTC) - timedelta(hours=1)])
    page = await open_console(context, service_url, shop_id, token(f"seller:agent-2@{shop_id}"))
    await expect(page.locator("#viewer")).to_contain_text("read only")
    await expect(page.locator(f'#rows tr[data-id="{request_id}"]')).to_be_visible()
    await expect(page.locator("#rows .pick-row")).to_have_count(0)
    await expect(page.locator("#bulk")).to_be_hidden()
    await open_request(page, request_id)
    await expect(page.locator("#detail .note.read-only")).to_be_visible()
    await expect(page.locator("#detail button")).to_have_count(0)


async def test_a_bad_or_expired_token_or_another_shops_agent_gets_one_clear_message(
    shop_id: str, service_url: str, context: Any
) -> None:
    page = await open_console(context, service_url, shop_id, token(f"seller:a-1@{shop_id}"))
    message = page.locator("#message")

    await reopen(page, "not-a-token")
    await expect(message).to_have_text(
        "This identity is not accepted: the token is not valid (malformed or wrongly signed). "
        "Choose another identity or paste a fresh token."
    )
    await expect(page.locator("#console")).to_be_hidden()
    await expect(page.locator("#live")).to_have_text("offline: no identity")

    actor = parse_actor(f"seller:a-1@{shop_id}+adjustments")
    assert actor is not None
    expired = mint_token(
        actor,
        DEVELOPMENT_SECRET,
        now=datetime.now(UTC) - timedelta(hours=2),
        ttl=timedelta(hours=1),
    )
    await reopen(page, expired)
    await expect(message).to_have_text(
        "This identity is not accepted: the token has expired: mint a new one. "
        "Choose another identity or paste a fresh token."
    )

    await reopen(page, token("seller:a-1@shop-elsewhere+adjustments"))
    await expect(message).to_have_text(
        f"This identity is an agent of shop-elsewhere, not of {shop_id}: choose an identity of "
        f"{shop_id}, or open shop-elsewhere."
    )
    await expect(page.locator("#console")).to_be_hidden()
    await expect(page.locator("#live")).to_have_text("offline: no identity")


async def test_the_live_badge_and_feed_follow_a_new_identity(
    api: GraphQLClient, db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    other_shop = f"{shop_id}-b"
    now = datetime.now(UTC) - timedelta(hours=1)
    [mine] = await pending_requests(db, shop_id, [now])
    [theirs] = await pending_requests(db, other_shop, [now])
    page = await open_console(context, service_url, shop_id, token(f"seller:a-1@{shop_id}"))
    badge = page.locator("#live")

    await reopen(page, "expired-or-garbage")
    await expect(badge).to_have_text("offline: no identity")
    await expect(badge).to_have_class("live state-offline")

    # The other shop's agent: the feed reconnects with that token, for that shop.
    await reopen(page, token(f"seller:a-9@{other_shop}"), other_shop)
    await expect(badge).to_have_text("live")
    await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("1")
    await api(ACCEPT, {"id": theirs}, seller(other_shop))
    await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("0")
    await expect(page.locator('[data-tab="COMPLETED"] .count')).to_have_text("1")

    # And back: the replaced feed's close does not turn the badge off.
    await reopen(page, token(f"seller:a-1@{shop_id}"), shop_id)
    await expect(badge).to_have_text("live")
    await api(ACCEPT, {"id": mine}, seller(shop_id))
    await expect(page.locator('[data-tab="COMPLETED"] .count')).to_have_text("1")
    await expect(page.locator('[data-tab="TO_PROCEED"] .count')).to_have_text("0")
    await expect(badge).to_have_text("live")


async def test_in_development_an_agent_picks_a_demo_identity_from_a_list(
    service_url: str, context: Any
) -> None:
    page = await context.new_page()
    await page.goto(f"{service_url}/dashboard")
    picker = page.locator("#picker")
    await expect(picker).to_be_visible()
    labels = await picker.locator("option").all_inner_texts()
    assert "a seller agent who may act (seller:agent-1@shop-1+adjustments)" in labels
    assert "a seller agent who may only read (seller:agent-2@shop-1)" in labels

    await picker.select_option(
        label="a seller agent who may act (seller:agent-1@shop-1+adjustments)"
    )
    await expect(page.locator("#live")).to_have_text("live")
    await expect(page.locator("#viewer")).to_have_text("agent agent-1 · shop-1 · may decide")
    await expect(page.locator("#shop")).to_have_value("shop-1")

    # Picking shop-2's agent while shop-1 is open: the other-shop message, nothing half-open.
    await picker.select_option(
        label="a seller agent who may act (seller:agent-1@shop-2+adjustments)"
    )
    await expect(page.locator("#message")).to_contain_text(
        "This identity is an agent of shop-2, not of shop-1"
    )
    await expect(page.locator("#live")).to_have_text("offline: no identity")

"""Every decision the console offers, taken in a real browser and checked through the API: what
a request allows now (its next action) decides which buttons show, and each dialog sends the
inputs its mutation takes. Bulk decisions give each row its own result; one decision is taken with
the keyboard alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.clock import SettableClock
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, ok, view
from tests.support.api_client import GraphQLClient
from tests.support.factories import buyer, pending_requests, seller
from tests.system.console.steps import decide, expect, open_console, open_request, token

pytestmark = pytest.mark.slow

CANCELLATION = """query($id: ID!) { cancellation(id: $id) {
  status rejection { reason { code } comment } } }"""


def agent(shop_id: str) -> str:
    return token(f"seller:agent-1@{shop_id}+adjustments")


async def asked(
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    kind: str,
    reason: str,
    lines: dict[int, int],
) -> dict[str, Any]:
    """A buyer's request on an order delivered yesterday (line 0: 1 x 25.00, line 1: 2 x 10.00)."""
    order = await delivered_order(db, clock, shop_id)
    made = await ok(api, "requestAfterSale", ask(order, kind, reason, lines), buyer(order.buyer_id))
    return made | {"buyer": buyer(order.buyer_id)}


async def test_c5_a_cancellation_is_rejected_with_a_reason_from_the_catalogue_and_a_comment(
    api: GraphQLClient, db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    [request_id] = await pending_requests(db, shop_id, [datetime.now(UTC) - timedelta(hours=1)])
    page = await open_console(context, service_url, shop_id, agent(shop_id))

    catalogue = (await api("{ cancellationRejectReasons { code displayText } }"))[
        "cancellationRejectReasons"
    ]

    async def fill(dialog: Any) -> None:
        options = dialog.locator("select[name=reason] option")
        # The API's catalogue, after the "choose a reason" placeholder.
        assert await options.all_inner_texts() == ["choose a reason"] + [
            r["displayText"] for r in catalogue
        ]
        await dialog.locator("select[name=reason]").select_option("ALREADY_SHIPPED")
        await dialog.locator("textarea[name=comment]").fill("Packed this morning")

    await decide(page, request_id, "reject", fill)
    found = (await api(CANCELLATION, {"id": request_id}, seller(shop_id)))["cancellation"]
    assert found == {
        "status": "REJECTED",
        "rejection": {"reason": {"code": "ALREADY_SHIPPED"}, "comment": "Packed this morning"},
    }
    # The detail now offers nothing more to decide, and the timeline names the step and its actor.
    await expect(page.locator("#detail .actions")).to_have_count(0)
    last = page.locator("#detail .timeline li").last
    await expect(last.locator(".action")).to_have_text("reject")
    await expect(last.locator(".actor")).to_have_text("by agent agent-1")
    await expect(last.locator(".comment")).to_have_text("Packed this morning")


async def test_r7_r4_refunds_approve_some_lines_and_quantities_or_a_partial_amount_or_are_rejected(
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    service_url: str,
    context: Any,
) -> None:
    some = await asked(api, db, clock, shop_id, "REFUND_ONLY", "DAMAGED", {0: 1, 1: 2})
    partial = await asked(api, db, clock, shop_id, "REFUND_ONLY", "DAMAGED", {0: 1})
    rejected = await asked(api, db, clock, shop_id, "RETURN_AND_REFUND", "DEFECTIVE", {1: 1})
    page = await open_console(context, service_url, shop_id, agent(shop_id), "afterSales")

    await open_request(page, some["id"])
    # The detail: lines with their amounts, the refund the approval would pay (the API's quote),
    # the helpdesk ticket, and no evidence (the API has none to show).
    await expect(page.locator("#detail table.lines tbody tr td.num")).to_have_text(
        ["1", "$25.00", "$25.00", "2", "$10.00", "$20.00"]
    )
    quote = await api(
        "query($id: ID) { refundQuote(requestId: $id) { items { amount } shipping { amount } "
        "total { amount } } }",
        {"id": some["id"]},
        seller(shop_id),
    )
    amounts = [f"${quote['refundQuote'][k]['amount']}" for k in ("items", "shipping", "total")]
    await expect(page.locator("#detail .refund table tr:nth-last-child(-n+3) td")).to_have_text(
        amounts
    )
    ticket = page.locator("#detail .ticket")
    await expect(ticket.locator("h3")).to_contain_text("Ticket tkt_")
    await expect(ticket.locator("dd").first).to_have_text("New Refund Request")
    await expect(page.locator("#detail .evidence")).to_have_count(0)
    await expect(page.locator("#detail .actions button")).to_have_text(
        ["Approve refund", "Partial refund", "Reject"]
    )
    line0, line1 = (line["lineId"] for line in some["lines"])

    async def one_of_line_1(dialog: Any) -> None:
        await dialog.locator(f'input[name="line:{line0}"]').fill("0")
        await dialog.locator(f'input[name="line:{line1}"]').fill("1")

    await decide(page, some["id"], "approve", one_of_line_1)
    done = await view(api, some["id"], seller(shop_id))
    assert done["status"] == "REFUNDED"
    assert done["decision"]["lines"] == [{"lineId": line1, "quantity": 1}]
    assert done["refund"]["items"]["minorUnits"] == 1000

    async def five_fifty(dialog: Any) -> None:
        await dialog.locator("input[name=amount]").fill("5.50")
        await dialog.locator("textarea[name=comment]").fill("A scratch, not a break")

    await decide(page, partial["id"], "partial", five_fifty)
    done = await view(api, partial["id"], seller(shop_id))
    # R12: an offer the buyer answers; nothing is paid before.
    assert (done["status"], done["refund"]) == ("AWAITING_BUYER_RESPONSE", None)
    assert done["offer"]["amount"]["minorUnits"] == 550
    assert done["offer"]["comment"] == "A scratch, not a break"

    async def no_evidence(dialog: Any) -> None:
        await dialog.locator("select[name=reason]").select_option("NO_EVIDENCE")

    await decide(page, rejected["id"], "reject", no_evidence)
    done = await view(api, rejected["id"], seller(shop_id))
    assert (done["status"], done["rejection"]["reason"]["code"]) == ("REJECTED", "NO_EVIDENCE")


async def test_r7_r8_returns_are_approved_received_kept_by_the_buyer_or_rejected_on_receipt(
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    service_url: str,
    context: Any,
) -> None:
    returned = await asked(api, db, clock, shop_id, "RETURN_AND_REFUND", "DEFECTIVE", {0: 1})
    kept = await asked(api, db, clock, shop_id, "RETURN_AND_REFUND", "DAMAGED", {1: 2})
    refused = await asked(api, db, clock, shop_id, "RETURN_AND_REFUND", "WRONG_ITEM", {0: 1})
    page = await open_console(context, service_url, shop_id, agent(shop_id), "afterSales")

    for r in (returned, refused):
        await decide(page, r["id"], "approve")
        assert (await view(api, r["id"], seller(shop_id)))["status"] == "AWAITING_BUYER_RETURN"

    async def keeps(dialog: Any) -> None:
        await dialog.locator("input[name=buyerKeepsItem]").check()

    await decide(page, kept["id"], "approve", keeps)
    done = await view(api, kept["id"], seller(shop_id))
    assert (done["status"], done["decision"]["buyerKeepsItem"]) == ("REFUNDED", True)

    # The buyer ships both back (another client); the page then offers the receipt decisions.
    for r in (returned, refused):
        shipment = {"requestId": r["id"], "carrier": "UPS", "trackingNumber": "1Z"}
        await ok(api, "shipReturn", shipment, r["buyer"])
    await page.click('[data-tab="IN_PROCESS"]')
    await open_request(page, returned["id"])
    await expect(page.locator("#detail .actions button")).to_have_text(
        ["Confirm receipt", "Reject on receipt"]
    )
    await decide(page, returned["id"], "confirm-receipt")
    assert (await view(api, returned["id"], seller(shop_id)))["status"] == "REFUNDED"

    async def damaged(dialog: Any) -> None:
        await dialog.locator("select[name=reason]").select_option("DAMAGED_BY_BUYER")
        await dialog.locator("textarea[name=comment]").fill("Scuffed all over")

    await decide(page, refused["id"], "reject-receipt", damaged)
    done = await view(api, refused["id"], seller(shop_id))
    assert done["status"] == "REJECTED"
    assert done["rejection"] == {
        "reason": {"code": "DAMAGED_BY_BUYER", "displayText": "The item came back damaged by use"},
        "comment": "Scuffed all over",
        "onReceipt": True,
    }


async def test_p2_p3_replacements_need_a_comment_to_reject_a_reason_to_approve_then_ship(
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    service_url: str,
    context: Any,
) -> None:
    rejected = await asked(api, db, clock, shop_id, "REPLACEMENT", "DEFECTIVE", {0: 1})
    replaced = await asked(api, db, clock, shop_id, "REPLACEMENT", "WRONG_ITEM", {0: 1})
    page = await open_console(context, service_url, shop_id, agent(shop_id), "afterSales")

    await open_request(page, rejected["id"])
    await expect(page.locator("#detail .actions button")).to_have_text(
        ["Approve replacement", "Refund instead", "Reject"]
    )
    await page.click('#detail button[data-action="reject"]')
    dialog = page.locator("#decide")
    await dialog.locator("select[name=reason]").select_option("OUT_OF_STOCK")
    # P3: the comment is required; the form does not send without it.
    await page.click("#decide-submit")
    await expect(dialog).to_be_visible()
    assert (await view(api, rejected["id"], seller(shop_id)))["status"] == "PENDING_SELLER"
    await dialog.locator("textarea[name=comment]").fill("Back in stock next month")
    await page.click("#decide-submit")
    await expect(page.locator("#message")).to_contain_text(f"{rejected['id']} is now")
    done = await view(api, rejected["id"], seller(shop_id))
    assert (done["status"], done["rejection"]["comment"]) == (
        "REJECTED",
        "Back in stock next month",
    )

    async def confirmed(dialog: Any) -> None:
        await dialog.locator("select[name=reason]").select_option("WRONG_ITEM_SENT")
        await dialog.locator("input[name=buyerKeepsItem]").check()

    await decide(page, replaced["id"], "approve", confirmed)
    done = await view(api, replaced["id"], seller(shop_id))
    assert done["status"] == "AWAITING_REPLACEMENT_SHIPMENT"
    assert done["decision"]["reason"]["code"] == "WRONG_ITEM_SENT"

    async def shipped(dialog: Any) -> None:
        await dialog.locator("input[name=carrier]").fill("DHL")
        await dialog.locator("input[name=trackingNumber]").fill("JD0142")

    await page.click('[data-tab="IN_PROCESS"]')
    await decide(page, replaced["id"], "ship-replacement", shipped)
    done = await view(api, replaced["id"], seller(shop_id))
    assert done["status"] == "REPLACEMENT_SHIPPED"
    assert done["replacementShipment"]["trackingNumber"] == "JD0142"
    assert done["replacementOrderId"]  # P4: its order was handed to the carrier with it


async def test_bulk_decisions_give_every_row_its_own_result(
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    service_url: str,
    context: Any,
) -> None:
    refund = await asked(api, db, clock, shop_id, "REFUND_ONLY", "DAMAGED", {0: 1})
    ret = await asked(api, db, clock, shop_id, "RETURN_AND_REFUND", "DEFECTIVE", {0: 1})
    # Accepting a replacement as asked needs a reason type (P2): its row fails, alone.
    replacement = await asked(api, db, clock, shop_id, "REPLACEMENT", "DEFECTIVE", {0: 1})
    page = await open_console(context, service_url, shop_id, agent(shop_id), "afterSales")
    await expect(page.locator("#rows tr")).to_have_count(3)
    await page.check("#pick-all")
    await expect(page.locator("#bulk-count")).to_have_text("3 selected")
    await page.click("#bulk-accept")
    await page.click("#decide-submit")

    results = page.locator("#bulk-results li")
    await expect(results).to_have_count(3)
    await expect(page.locator(f'#bulk-results li[data-id="{refund["id"]}"]')).to_have_attribute(
        "data-result", "ok"
    )
    await expect(page.locator(f'#bulk-results li[data-id="{ret["id"]}"]')).to_have_attribute(
        "data-result", "ok"
    )
    failed = page.locator(f'#bulk-results li[data-id="{replacement["id"]}"]')
    await expect(failed).to_have_attribute("data-result", "failed")
    await expect(failed).to_contain_text("VALIDATION_FAILED")
    assert (await view(api, refund["id"], seller(shop_id)))["status"] == "REFUNDED"
    assert (await view(api, ret["id"], seller(shop_id)))["status"] == "AWAITING_BUYER_RETURN"
    assert (await view(api, replacement["id"], seller(shop_id)))["status"] == "PENDING_SELLER"

    # Bulk reject: one reason both catalogues know, and the replacement's required comment.
    await expect(page.locator("#rows tr")).to_have_count(1)
    await page.check("#pick-all")
    await page.click("#bulk-reject")
    dialog = page.locator("#decide")
    await dialog.locator("select[name=reason]").select_option("AGREED_WITH_BUYER")
    await dialog.locator("textarea[name=comment]").fill("Agreed on a voucher by phone")
    await page.click("#decide-submit")
    await expect(
        page.locator(f'#bulk-results li[data-id="{replacement["id"]}"]')
    ).to_have_attribute("data-result", "ok")
    assert (await view(api, replacement["id"], seller(shop_id)))["status"] == "REJECTED"


async def test_one_decision_taken_with_the_keyboard_alone(
    api: GraphQLClient, db: Database, shop_id: str, service_url: str, context: Any
) -> None:
    [request_id] = await pending_requests(db, shop_id, [datetime.now(UTC) - timedelta(hours=1)])
    page = await open_console(context, service_url, shop_id, agent(shop_id))
    await expect(page.locator(f'#rows tr[data-id="{request_id}"]')).to_be_visible()

    async def tab_to(test: str, limit: int = 60) -> None:
        for _ in range(limit):
            await page.keyboard.press("Tab")
            if await page.evaluate(test):
                return
        raise AssertionError(f"Tab never reached {test}")

    # Tabs move with the arrow keys (and come back).
    await tab_to("document.activeElement.getAttribute('role') === 'tab'")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator('[data-tab="COMPLETED"]')).to_have_attribute("aria-selected", "true")
    await expect(page.locator('[data-tab="COMPLETED"]')).to_be_focused()
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator('[data-tab="TO_PROCEED"]')).to_have_attribute("aria-selected", "true")

    await tab_to(f"document.activeElement.dataset.id === {request_id!r}")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    await page.keyboard.press("Enter")
    await expect(page.locator("#detail h2")).to_contain_text(request_id)
    await tab_to("document.activeElement.dataset.action === 'accept'")
    await page.keyboard.press("Enter")
    await expect(page.locator("#decide")).to_be_visible()
    await expect(page.locator("#decide-submit")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#message")).to_contain_text(f"{request_id} is now cancelled")
    found = (await api(CANCELLATION, {"id": request_id}, seller(shop_id)))["cancellation"]
    assert found["status"] == "CANCELLED"

"""R12 (partial-refund offers) and P4 (replacement orders, refund instead) through the GraphQL
API on a real server: the steps, the deadline worker, the order intake, tickets and the feed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from models.clock import SettableClock
from services.bootstrap import Services
from services.deadline_worker import DeadlineWorker
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, mutate, ok, view
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, seller
from tests.support.live import EVENTS, Client, serving

USD = "USD"

UPDATE = """
mutation($shop: ID!, $updates: [OrderUpdateInput!]!) {
  updateOrders(input: {shopId: $shop, updates: $updates}) {
    __typename
    ... on UpdateOrdersPayload { results { __typename ... on UserError { code }
      ... on OrderMoved { stage order { id fulfilmentState } } } }
  }
}"""

ORDER = """query($id: ID!) { order(id: $id) {
  id fulfilmentState replacementOf replacementRequestId replacementOrderIds
  total { minorUnits } amountPaid { minorUnits } lines { lineId quantity }
} }"""

TICKET = """query($id: ID!) { requestTicket(requestId: $id) {
  status requestFacts { status phase nextDeadline } timeline { action detail } } }"""


def integration(shop_id: str) -> str:
    return f"integration:orders-1@{shop_id}"


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": USD}


async def _offer(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str, amount: str = "7.50"
) -> tuple[dict[str, Any], str]:
    """A return-and-refund request for the 25.00 line, and the seller's offer on it."""
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "DAMAGED", {0: 1}), b)
    offered = await ok(
        api,
        "approveAfterSale",
        {
            "requestId": r["id"],
            "decision": "OFFER_PARTIAL_REFUND",
            "partialAmount": usd(amount),
            "comment": "Keep it, with 7.50 back",
        },
        seller(shop_id),
    )
    return offered, b


# ---- R12 ------------------------------------------------------------------------------------


async def test_r12_an_offer_waits_for_the_buyer(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    offered, b = await _offer(api, db, clock, shop_id)
    assert (offered["status"], offered["tab"]) == ("AWAITING_BUYER_RESPONSE", "IN_PROCESS")
    assert offered["offer"]["amount"]["minorUnits"] == 750 and offered["offer"]["answer"] is None
    assert offered["nextAction"] == {
        "actorKind": "BUYER",
        "action": "ACCEPT_OR_DECLINE_OFFER",
        "dueAt": offered["offer"]["respondBy"],
    }
    assert offered["refund"] is None and offered["order"]["refunded"]["minorUnits"] == 0
    quote = await api(
        "query($id: ID!) { refundQuote(requestId: $id) { total { minorUnits } } }",
        {"id": offered["id"]},
        b,
    )
    assert quote["refundQuote"]["total"]["minorUnits"] == 750  # what accepting pays
    # The seller waits: it is not the seller's move, nor anyone else's but the buyer's.
    seller_answer = await mutate(
        api, "answerOffer", {"requestId": offered["id"], "accept": True}, seller(shop_id)
    )
    assert seller_answer["__typename"] == "ForbiddenError"
    again = await mutate(
        api,
        "approveAfterSale",
        {"requestId": offered["id"], "decision": "APPROVE_REFUND"},
        seller(shop_id),
    )
    assert (again["__typename"], again["currentStatus"]) == (
        "NotPendingError",
        "AWAITING_BUYER_RESPONSE",
    )


async def test_r12_buyer_accepts_the_offer(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    offered, b = await _offer(api, db, clock, shop_id)
    done = await ok(api, "answerOffer", {"requestId": offered["id"], "accept": True}, b)
    assert (done["status"], done["tab"]) == ("REFUNDED", "COMPLETED")
    assert done["refund"]["total"]["minorUnits"] == 750
    assert done["order"]["refunded"]["minorUnits"] == 750  # the refund ledger paid it
    assert done["decision"]["type"] == "OFFER_PARTIAL_REFUND"
    assert done["decision"]["buyerKeepsItem"] is True
    assert done["offer"]["answer"] == "ACCEPTED" and done["nextAction"] is None
    assert [t["action"] for t in done["timeline"]] == [
        "REQUEST",
        "OFFER_PARTIAL_REFUND",
        "ACCEPT_OFFER",
    ]
    ticket = (await api(TICKET, {"id": done["id"]}, seller(shop_id)))["requestTicket"]
    assert (ticket["requestFacts"]["status"], ticket["requestFacts"]["phase"]) == (
        "REFUNDED",
        "FINAL",
    )


async def test_r12_buyer_declines_the_offer(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    offered, b = await _offer(api, db, clock, shop_id)
    s = seller(shop_id)
    # H1: the ticket waits while the buyer does, and is the team's again after the decline.
    waiting = (await api(TICKET, {"id": offered["id"]}, s))["requestTicket"]
    assert (waiting["status"], waiting["requestFacts"]["phase"]) == ("PENDING", "IN_PROCESS")
    back = await ok(api, "answerOffer", {"requestId": offered["id"], "accept": False}, b)
    assert (back["status"], back["tab"]) == ("PENDING_SELLER", "TO_PROCEED")
    reopened = (await api(TICKET, {"id": offered["id"]}, s))["requestTicket"]
    assert (reopened["status"], reopened["requestFacts"]["status"]) == ("OPEN", "PENDING_SELLER")
    assert back["nextAction"]["actorKind"] == "SELLER_AGENT" and back["deadline"]
    assert back["offer"]["answer"] == "DECLINED" and back["refund"] is None
    # The seller decides again: a second offer, then a full approval after another decline.
    second = await ok(
        api,
        "approveAfterSale",
        {"requestId": back["id"], "decision": "OFFER_PARTIAL_REFUND", "partialAmount": usd("12")},
        s,
    )
    assert second["offer"]["amount"]["minorUnits"] == 1200
    await ok(api, "answerOffer", {"requestId": back["id"], "accept": False}, b)
    third = await mutate(
        api,
        "approveAfterSale",
        {"requestId": back["id"], "decision": "OFFER_PARTIAL_REFUND", "partialAmount": usd("13")},
        s,
    )
    assert (third["__typename"], third["code"]) == ("ValidationError", "DECISION_NOT_ALLOWED")
    full = await ok(
        api,
        "approveAfterSale",
        {"requestId": back["id"], "decision": "APPROVE_RETURN", "buyerKeepsItem": True},
        s,
    )
    assert full["status"] == "REFUNDED" and full["refund"]["total"]["minorUnits"] == 2500


async def test_r12_an_offer_is_at_most_what_is_refundable_in_exact_money(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    r = await ok(
        api,
        "requestAfterSale",
        ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}),
        buyer(order.buyer_id),
    )
    s = seller(shop_id)

    async def offer(amount: dict[str, str] | None) -> dict[str, Any]:
        given = {"requestId": r["id"], "decision": "OFFER_PARTIAL_REFUND"}
        return await mutate(api, "approveAfterSale", given | {"partialAmount": amount}, s)

    above = await offer(usd("25.01"))
    assert above["__typename"] == "RefundExceedsRefundableError"
    assert above["refundableMinorUnits"] == 2500
    for bad in (usd("0"), usd("0.001"), {"amount": "5", "currency": "EUR"}, None):
        refused = await offer(bad)
        assert refused["__typename"] == "ValidationError", (bad, refused)
    assert (await view(api, r["id"], s))["status"] == "PENDING_SELLER"  # nothing written


async def test_r12_buyer_silence_declines_by_default_and_the_seller_decides_again(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    offered, b = await _offer(api, db, clock, shop_id)
    clock.advance(timedelta(hours=48))
    late = await mutate(api, "answerOffer", {"requestId": offered["id"], "accept": True}, b)
    assert (late["__typename"], late["code"]) == ("WindowClosedError", "OFFER_WINDOW_CLOSED")
    await DeadlineWorker(services, interval=1, batch_size=50).run_once()
    after = await view(api, offered["id"], b)
    assert after["status"] == "PENDING_SELLER" and after["offer"]["answer"] == "DECLINED_BY_SILENCE"
    last = after["timeline"][-1]
    assert (last["action"], last["actorKind"], last["reason"]["code"], last["deadline"]) == (
        "EXPIRE_OFFER",
        "PLATFORM",
        "BUYER_OFFER_WINDOW_PASSED",
        offered["deadline"],
    )
    assert after["refund"] is None


async def test_r12_buyer_silence_accepts_where_the_policy_says_so(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    category = f"quiet-{uuid.uuid4().hex[:6]}"
    set_policy = """mutation($c: String!) { setCategoryPolicy(input: {category: $c,
      offerSilenceAccepts: true, offerResponseWindowSeconds: 3600}) {
      ... on CategoryPolicy { offerSilenceAccepts offerResponseWindowSeconds } } }"""
    policy = (await api(set_policy, {"c": category}, PLATFORM))["setCategoryPolicy"]
    assert policy == {"offerSilenceAccepts": True, "offerResponseWindowSeconds": 3600}
    order = await delivered_order(db, clock, shop_id, category=category)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    offered = await ok(
        api,
        "approveAfterSale",
        {"requestId": r["id"], "decision": "OFFER_PARTIAL_REFUND", "partialAmount": usd("5")},
        seller(shop_id),
    )
    clock.advance(timedelta(hours=1))
    await DeadlineWorker(services, interval=1, batch_size=50).run_once()
    after = await view(api, offered["id"], b)
    assert (after["status"], after["offer"]["answer"]) == ("REFUNDED", "ACCEPTED_BY_SILENCE")
    assert after["refund"]["total"]["minorUnits"] == 500
    assert after["order"]["refunded"]["minorUnits"] == 500


# ---- P4 -------------------------------------------------------------------------------------


async def _approved_replacement(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> tuple[dict[str, Any], str]:
    category = f"swap-{uuid.uuid4().hex[:6]}"
    set_policy = """mutation($c: String!) { setCategoryPolicy(input: {category: $c,
      replacementNeedsItemBack: false}) { __typename } }"""
    await api(set_policy, {"c": category}, PLATFORM)
    order = await delivered_order(db, clock, shop_id, category=category)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "REPLACEMENT", "DEFECTIVE", {1: 1}), b)
    approved = await ok(
        api,
        "approveAfterSale",
        {"requestId": r["id"], "decision": "APPROVE_REPLACEMENT", "reason": "DEFECT_CONFIRMED"},
        seller(shop_id),
    )
    return approved, b


async def test_p4_an_approved_replacement_places_a_linked_replacement_order(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    approved, b = await _approved_replacement(api, db, clock, shop_id)
    assert approved["status"] == "AWAITING_REPLACEMENT_SHIPMENT"
    rid = approved["replacementOrderId"]
    assert rid == f"{approved['orderId']}-R1"
    placed = (await api(ORDER, {"id": rid}, b))["order"]
    assert placed["replacementOf"] == approved["orderId"]
    assert placed["replacementRequestId"] == approved["id"]
    assert placed["fulfilmentState"] == "AWAITING_SHIPMENT"
    assert placed["total"]["minorUnits"] == 0 and placed["amountPaid"]["minorUnits"] == 0
    assert [x["quantity"] for x in placed["lines"]] == [1]
    original = (await api(ORDER, {"id": approved["orderId"]}, b))["order"]
    assert original["replacementOrderIds"] == [rid]


async def test_p4_replacement_delivered_closes_the_request(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    approved, b = await _approved_replacement(api, db, clock, shop_id)
    rid = approved["replacementOrderId"]
    at = clock.now().isoformat()
    handed = await api(
        UPDATE,
        {
            "shop": shop_id,
            "updates": [
                {
                    "externalId": rid,
                    "step": "HANDED_TO_CARRIER",
                    "at": at,
                    "carrier": "DHL",
                    "trackingNumber": "JD-9",
                }
            ],
        },
        integration(shop_id),
    )
    [moved] = handed["updateOrders"]["results"]
    assert (moved["__typename"], moved["order"]["fulfilmentState"]) == ("OrderMoved", "IN_TRANSIT")
    shipped = await view(api, approved["id"], b)
    assert shipped["status"] == "REPLACEMENT_SHIPPED"
    assert shipped["replacementShipment"]["trackingNumber"] == "JD-9"
    assert shipped["nextAction"]["actorKind"] == "PLATFORM" and shipped["deadline"]
    assert shipped["timeline"][-1]["actorKind"] == "INTEGRATION"

    clock.advance(timedelta(days=2))
    delivered = {"externalId": rid, "step": "DELIVERED", "at": clock.now().isoformat()}
    await api(UPDATE, {"shop": shop_id, "updates": [delivered]}, integration(shop_id))
    done = await view(api, approved["id"], b)
    assert (done["status"], done["tab"], done["deadline"]) == ("REPLACED", "COMPLETED", None)
    assert [t["action"] for t in done["timeline"]][-2:] == [
        "SHIP_REPLACEMENT",
        "CONFIRM_REPLACEMENT_DELIVERED",
    ]
    assert done["refund"] is None
    ticket = (await api(TICKET, {"id": done["id"]}, seller(shop_id)))["requestTicket"]
    assert (ticket["requestFacts"]["status"], ticket["requestFacts"]["phase"]) == (
        "REPLACED",
        "FINAL",
    )


async def test_p4_a_shipped_replacement_not_delivered_in_time_is_refunded_instead(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    approved, b = await _approved_replacement(api, db, clock, shop_id)
    shipped = await ok(
        api,
        "shipReplacement",
        {"requestId": approved["id"], "carrier": "DHL", "trackingNumber": "JD-1"},
        seller(shop_id),
    )
    placed = (await api(ORDER, {"id": approved["replacementOrderId"]}, b))["order"]
    assert placed["fulfilmentState"] == "IN_TRANSIT"  # its order was handed over with it
    clock.advance(timedelta(days=14))
    await DeadlineWorker(services, interval=1, batch_size=50).run_once()
    after = await view(api, approved["id"], b)
    assert after["status"] == "REFUNDED" and after["refund"]["total"]["minorUnits"] == 1000
    last = after["timeline"][-1]
    assert (last["action"], last["actorKind"], last["reason"]["code"], last["deadline"]) == (
        "ISSUE_REPLACEMENT_REFUND",
        "PLATFORM",
        "REPLACEMENT_NOT_DELIVERED",
        shipped["deadline"],
    )


async def test_p4_refund_instead(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    approved, b = await _approved_replacement(api, db, clock, shop_id)
    instead = await ok(
        api,
        "approveAfterSale",
        {
            "requestId": approved["id"],
            "decision": "ISSUE_REPLACEMENT_REFUND",
            "comment": "Out of stock: your money back",
        },
        seller(shop_id),
    )
    assert (instead["status"], instead["tab"]) == ("REFUNDED", "COMPLETED")
    assert instead["refund"]["total"]["minorUnits"] == 1000
    assert instead["order"]["refunded"]["minorUnits"] == 1000  # through the refund ledger
    assert instead["decision"]["type"] == "ISSUE_REPLACEMENT_REFUND"
    placed = (await api(ORDER, {"id": approved["replacementOrderId"]}, b))["order"]
    assert placed["fulfilmentState"] == "CANCELLED"  # the unshipped replacement is called off
    # A late update about the cancelled replacement order moves nothing.
    shipped_late = {
        "externalId": approved["replacementOrderId"],
        "step": "DELIVERED",
        "at": clock.now().isoformat(),
    }
    late = await api(UPDATE, {"shop": shop_id, "updates": [shipped_late]}, integration(shop_id))
    assert late["updateOrders"]["results"][0]["__typename"] == "StaleUpdateError"
    assert (await view(api, approved["id"], b))["status"] == "REFUNDED"


async def test_p4_approve_refund_refused_for_a_replacement(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    r = await ok(
        api,
        "requestAfterSale",
        ask(order, "REPLACEMENT", "DEFECTIVE", {0: 1}),
        buyer(order.buyer_id),
    )
    for decision in ("APPROVE_REFUND", "APPROVE_RETURN", "OFFER_PARTIAL_REFUND"):
        given = {"requestId": r["id"], "decision": decision}
        if decision == "OFFER_PARTIAL_REFUND":
            given["partialAmount"] = usd("5")
        refused = await mutate(api, "approveAfterSale", given, seller(shop_id))
        assert refused["__typename"] in ("ValidationError", "InvalidStateError"), refused
        assert refused["code"] in ("DECISION_NOT_ALLOWED", "INVALID_STATE"), refused
    after = await view(api, r["id"], seller(shop_id))
    assert (after["status"], after["refund"]) == ("PENDING_SELLER", None)
    assert after["order"]["refunded"]["minorUnits"] == 0


# ---- the live feed (H3) ---------------------------------------------------------------------


async def test_r12_p4_the_live_feed_shows_the_offer_and_the_replacement_orders_moves(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    async with serving(services) as url, Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)
        offered, b = await _offer(api, db, clock, shop_id)
        await ok(api, "answerOffer", {"requestId": offered["id"], "accept": False}, b)
        approved, _ = await _approved_replacement(api, db, clock, shop_id)
        moved = {"externalId": approved["replacementOrderId"], "step": "DELIVERED"}
        moved |= {"at": clock.now().isoformat(), "carrier": "DHL", "trackingNumber": "JD-2"}
        await api(UPDATE, {"shop": shop_id, "updates": [moved]}, integration(shop_id))
        events = await ws.take(7)
        await ws.nothing_more()
    changes = [(e["requestId"], e["change"]["action"], e["change"]["toStatus"]) for e in events]
    assert changes == [
        (offered["id"], "REQUEST", "PENDING_SELLER"),
        (offered["id"], "OFFER_PARTIAL_REFUND", "AWAITING_BUYER_RESPONSE"),
        (offered["id"], "DECLINE_OFFER", "PENDING_SELLER"),
        (approved["id"], "REQUEST", "PENDING_SELLER"),
        (approved["id"], "APPROVE", "AWAITING_REPLACEMENT_SHIPMENT"),
        (approved["id"], "SHIP_REPLACEMENT", "REPLACEMENT_SHIPPED"),
        (approved["id"], "CONFIRM_REPLACEMENT_DELIVERED", "REPLACED"),
    ]
    assert (
        events[2]["change"]["fromTab"] == "IN_PROCESS"
        and events[2]["change"]["toTab"] == "TO_PROCEED"
    )

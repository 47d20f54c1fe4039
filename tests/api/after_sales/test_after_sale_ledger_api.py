"""The refund ledger of an order through the API: every refund, by request or cancellation."""

from __future__ import annotations

from datetime import timedelta

from models.clock import SettableClock
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, ok
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

LEDGER = """query($o: ID!) { refundLedger(orderId: $o) {
  paid { minorUnits } refunded { minorUnits } refundable { minorUnits }
  entries { source sourceId total { minorUnits } shipping { minorUnits } lines { lineId } } } }"""


async def test_the_refund_ledger_shows_every_refund_of_the_order_and_what_is_left(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    await ok(
        api,
        "approveAfterSale",
        {"requestId": r["id"], "decision": "APPROVE_REFUND"},
        seller(shop_id),
    )
    await ok(api, "platformRefund", {"orderId": order.id, "reason": "POLICY_VIOLATION"}, PLATFORM)
    ledger = (await api(LEDGER, {"o": order.id}, b))["refundLedger"]
    assert [e["source"] for e in ledger["entries"]] == ["AFTER_SALE", "AFTER_SALE"]
    assert ledger["entries"][0]["sourceId"] == r["id"]
    assert [e["total"]["minorUnits"] for e in ledger["entries"]] == [2500, 2499]
    assert (ledger["paid"], ledger["refunded"], ledger["refundable"]) == (
        {"minorUnits": 4999},
        {"minorUnits": 4999},
        {"minorUnits": 0},
    )
    stranger = await api.raw(LEDGER, {"o": order.id}, buyer("buyer-someone-else"))
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # as an unknown id


async def test_a_cancellation_refund_shows_in_the_ledger(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await place_order(db, shop_id, new_buyer_id(), clock.now() - timedelta(minutes=5))
    done = await api(
        """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
        ... on Cancellation { id status } } }""",
        {"o": order.id},
        buyer(order.buyer_id),
    )
    cid = done["requestCancellation"]["id"]
    ledger = (await api(LEDGER, {"o": order.id}, buyer(order.buyer_id)))["refundLedger"]
    assert [(e["source"], e["sourceId"]) for e in ledger["entries"]] == [("CANCELLATION", cid)]
    assert ledger["refundable"] == {"minorUnits": 0}

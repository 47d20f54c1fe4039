"""What a seller's or the platform's refund defaults to and how it is refused, the field an error
about a partial amount names, and who an instant refund's ticket says initiated it: through the
GraphQL API, against the real database server."""

from __future__ import annotations

import uuid

from models.clock import SettableClock
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, mutate, ok
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, seller

TICKET = """query($id: ID!) { requestTicket(requestId: $id) {
  subject type requestFacts { initiator } } }"""


async def test_r9_refund_order_without_lines_refunds_every_unit_not_refunded_or_requested(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)  # 1 x 25.00, 2 x 10.00
    b = buyer(order.buyer_id)
    await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 1}), b)

    done = await mutate(
        api, "refundOrder", {"orderId": order.id, "reason": "PRICING_ERROR"}, seller(shop_id)
    )

    assert done["__typename"] == "AfterSale", done
    one, two = (line.line_id for line in order.lines)
    # The unit the buyer asked about is left to the buyer's request.
    assert done["decision"]["lines"] == [
        {"lineId": one, "quantity": 1},
        {"lineId": two, "quantity": 1},
    ]
    assert done["refund"]["total"]["minorUnits"] == 2500 + 1000


async def test_r10_platform_refund_names_the_rejected_request_the_buyer_may_still_appeal(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    everything = ask(order, "REFUND_ONLY", "DAMAGED", {0: 1, 1: 2})
    r = await ok(api, "requestAfterSale", everything, buyer(order.buyer_id))
    rejected = await ok(
        api, "rejectAfterSale", {"requestId": r["id"], "reason": "NO_EVIDENCE"}, seller(shop_id)
    )
    assert rejected["status"] == "REJECTED"

    refused = await mutate(
        api, "platformRefund", {"orderId": order.id, "reason": "POLICY_VIOLATION"}, PLATFORM
    )

    assert (refused["__typename"], refused["code"], refused["existingRequestId"]) == (
        "AfterSaleRefusedError",
        "ALREADY_REQUESTED",
        r["id"],
    )
    assert r["id"] in refused["message"] and "appeal" in refused["message"]
    # Asked for by line, the refusal names the request holding the units too.
    one = await mutate(
        api,
        "platformRefund",
        {
            "orderId": order.id,
            "reason": "POLICY_VIOLATION",
            "lines": [{"lineId": order.lines[0].line_id, "quantity": 1}],
        },
        PLATFORM,
    )
    assert (one["code"], one["existingRequestId"]) == ("QUANTITY_USED_UP", r["id"])


async def test_r7_errors_about_the_partial_amount_name_the_partial_amount(
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
    offer = {"requestId": r["id"], "decision": "OFFER_PARTIAL_REFUND"}

    negative = await mutate(
        api, "approveAfterSale", {**offer, "partialAmount": {"amount": "-1", "currency": "USD"}}, s
    )
    too_much = await mutate(
        api, "approveAfterSale", {**offer, "partialAmount": {"amount": "99", "currency": "USD"}}, s
    )
    by_seller = await mutate(
        api,
        "refundOrder",
        {
            "orderId": order.id,
            "reason": "PRICING_ERROR",
            "lines": [{"lineId": order.lines[1].line_id, "quantity": 1}],
            "partialAmount": {"amount": "0", "currency": "USD"},
        },
        s,
    )

    assert [(e["code"], e["field"]) for e in (negative, too_much, by_seller)] == [
        ("REFUND_AMOUNT_INVALID", "partialAmount"),
        ("REFUND_EXCEEDS_REFUNDABLE", "partialAmount"),
        ("REFUND_AMOUNT_INVALID", "partialAmount"),
    ]


async def test_r10_an_instant_refunds_ticket_names_the_platform_as_initiator(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    category = f"instant-{uuid.uuid4().hex[:6]}"
    set_policy = """mutation($c: String!) { setCategoryPolicy(input: {category: $c,
      instantRefund: true}) { __typename } }"""
    await api(set_policy, {"c": category}, PLATFORM)
    order = await delivered_order(db, clock, shop_id, category=category)
    done = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )

    found = await api(TICKET, {"id": done["id"]}, seller(shop_id, adjust=False))

    assert found["requestTicket"]["type"] == "NOTIFICATION"
    assert found["requestTicket"]["requestFacts"] == {"initiator": "SYSTEM"}


async def test_r5_a_first_rejection_offers_a_second_request_and_a_second_only_an_appeal(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    first = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    once = await ok(api, "rejectAfterSale", {"requestId": first["id"], "reason": "OTHER"}, s)
    second = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    twice = await ok(api, "rejectAfterSale", {"requestId": second["id"], "reason": "OTHER"}, s)

    assert (once["nextAction"]["actorKind"], once["nextAction"]["action"]) == (
        "BUYER",
        "APPEAL_OR_REQUEST_AGAIN",
    )
    assert twice["nextAction"]["action"] == "APPEAL"

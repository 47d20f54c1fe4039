"""R1-R11, P1-P3 and Y1 through the GraphQL API on a real server, one test (or more) per rule."""

from __future__ import annotations

import uuid
from datetime import timedelta

from models.after_sales_reasons import SELLER_RESPONSE_WINDOW_PASSED
from models.clock import SettableClock
from models.orders import FulfilmentState
from services.bootstrap import Services
from services.deadline_worker import DeadlineWorker
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, mutate, ok, view
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

DAY = 24 * 3600


# ---- R1: kinds, and the return/refund window ----------------------------------------------


async def test_r1_refund_only_and_return_and_refund_are_asked_within_the_window(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id, days_ago=14)
    b = buyer(order.buyer_id)
    refund = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    ret = await ok(
        api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "NOT_AS_DESCRIBED", {1: 2}), b
    )
    assert (refund["kind"], refund["status"]) == ("REFUND_ONLY", "PENDING_SELLER")
    assert ret["reason"] == {
        "code": "NOT_AS_DESCRIBED",
        "displayText": "The item is not as described",
    }

    late = await delivered_order(db, clock, shop_id, days_ago=15)
    refused = await mutate(
        api, "requestAfterSale", ask(late, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(late.buyer_id)
    )
    assert refused["__typename"] == "AfterSaleRefusedError"
    assert refused["code"] == "WINDOW_PASSED" and refused["windowEndsAt"]


async def test_r1_never_received_is_a_refund_only_after_the_carrier_had_it_ten_days(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(
        db, shop_id, buyer_id, clock.now() - timedelta(days=3), state=FulfilmentState.IN_TRANSIT
    )
    early = await mutate(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "NOT_RECEIVED", {0: 1}), buyer(buyer_id)
    )
    assert (early["__typename"], early["code"]) == ("AfterSaleRefusedError", "NOT_DELIVERED")
    clock.advance(timedelta(days=7))
    r = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "NOT_RECEIVED", {0: 1}), buyer(buyer_id)
    )
    assert r["status"] == "PENDING_SELLER"
    wrong_kind = await mutate(
        api,
        "requestAfterSale",
        ask(order, "RETURN_AND_REFUND", "DAMAGED", {1: 1}),
        buyer(buyer_id),
    )
    assert wrong_kind["code"] == "NOT_DELIVERED"


async def test_r1_line_eligibility_says_what_each_line_may_ask_and_why_not(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    query = """query($o: ID!) { lineEligibility(orderId: $o) {
      lineId kind eligible code message availableQuantity windowEndsAt } }"""
    rows = (await api(query, {"o": order.id}, b))["lineEligibility"]
    assert len(rows) == 6  # two lines, three kinds
    first = {r["kind"]: r for r in rows if r["lineId"] == order.lines[0].line_id}
    second = {r["kind"]: r for r in rows if r["lineId"] == order.lines[1].line_id}
    assert {r["code"] for r in first.values()} == {"ALREADY_REQUESTED"}
    assert all(r["eligible"] and r["availableQuantity"] == 2 for r in second.values())


# ---- R2: tabs ------------------------------------------------------------------------------

LIST = """query($shop: ID, $tab: AfterSaleTab!, $filter: AfterSaleFilter, $sort: AfterSaleSort) {
  afterSales(shopId: $shop, tab: $tab, filter: $filter, sort: $sort, first: 50) {
    nodes { id status tab kind deadline }
    tabCounts { tab count }
    pageInfo { hasNextPage endCursor }
  } }"""


async def test_r2_every_status_is_in_its_tab_and_the_tabs_count_it(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    s = seller(shop_id)
    orders = [await delivered_order(db, clock, shop_id) for _ in range(4)]
    ids = []
    for n, o in enumerate(orders):
        kind = "RETURN_AND_REFUND" if n == 1 else "REFUND_ONLY"
        r = await ok(api, "requestAfterSale", ask(o, kind, "DAMAGED", {0: 1}), buyer(o.buyer_id))
        ids.append(r["id"])
        clock.advance(timedelta(minutes=1))
    await ok(api, "approveAfterSale", {"requestId": ids[1], "decision": "APPROVE_RETURN"}, s)
    await ok(api, "approveAfterSale", {"requestId": ids[2], "decision": "APPROVE_REFUND"}, s)
    await ok(api, "withdrawAfterSale", {"requestId": ids[3]}, buyer(orders[3].buyer_id))

    page = (await api(LIST, {"shop": shop_id, "tab": "ALL"}, s))["afterSales"]
    tabs = {n["id"]: n["tab"] for n in page["nodes"]}
    assert [tabs[i] for i in ids] == ["TO_PROCEED", "IN_PROCESS", "COMPLETED", "CLOSED"]
    counts = {c["tab"]: c["count"] for c in page["tabCounts"]}
    assert counts == {"ALL": 4, "TO_PROCEED": 1, "IN_PROCESS": 1, "COMPLETED": 1, "CLOSED": 1}

    returns = (await api(LIST, {"tab": "ALL", "filter": {"kind": "RETURN_AND_REFUND"}}, s))[
        "afterSales"
    ]
    assert [n["id"] for n in returns["nodes"]] == [ids[1]]
    assert {c["tab"]: c["count"] for c in returns["tabCounts"]}["IN_PROCESS"] == 1


async def test_r2_to_proceed_sorts_by_deadline_soonest_and_filters_by_deadline(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    s = seller(shop_id)
    slow = await delivered_order(db, clock, shop_id)
    fast = await delivered_order(db, clock, shop_id, category=f"fast-{shop_id}")
    policy = """mutation($c: String!) { setCategoryPolicy(input: {category: $c,
      sellerResponseWindowSeconds: 3600}) { __typename } }"""
    assert (await api(policy, {"c": f"fast-{shop_id}"}, PLATFORM))["setCategoryPolicy"][
        "__typename"
    ] == "CategoryPolicy"
    first = await ok(
        api, "requestAfterSale", ask(slow, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(slow.buyer_id)
    )
    second = await ok(
        api, "requestAfterSale", ask(fast, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(fast.buyer_id)
    )
    page = (await api(LIST, {"tab": "TO_PROCEED"}, s))["afterSales"]
    assert [n["id"] for n in page["nodes"]] == [second["id"], first["id"]]  # soonest first
    soon = (
        await api(
            LIST,
            {
                "tab": "TO_PROCEED",
                "filter": {"deadlineBefore": (clock.now() + timedelta(hours=2)).isoformat()},
            },
            s,
        )
    )["afterSales"]
    assert [n["id"] for n in soon["nodes"]] == [second["id"]]


# ---- R3: silence approves ------------------------------------------------------------------


async def test_r3_silence_for_the_response_window_approves_as_asked(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "DEFECTIVE", {1: 1}), b)
    assert r["nextAction"]["actorKind"] == "SELLER_AGENT"
    assert r["nextAction"]["dueAt"] == r["deadline"]
    clock.advance(timedelta(hours=48))
    late = await mutate(
        api,
        "approveAfterSale",
        {"requestId": r["id"], "decision": "APPROVE_RETURN"},
        seller(shop_id),
    )
    assert (late["__typename"], late["code"]) == (
        "ResponseWindowClosedError",
        "RESPONSE_WINDOW_CLOSED",
    )
    await DeadlineWorker(services, interval=1, batch_size=50).run_once()
    after = await view(api, r["id"], b)
    assert after["status"] == "AWAITING_BUYER_RETURN"
    last = after["timeline"][-1]
    assert (last["action"], last["actorKind"], last["reason"]["code"]) == (
        "AUTO_APPROVE",
        "PLATFORM",
        SELLER_RESPONSE_WINDOW_PASSED,
    )
    assert last["deadline"] == r["deadline"]
    assert after["nextAction"]["actorKind"] == "BUYER"


# ---- R4: a reason from the catalogue -------------------------------------------------------


async def test_r4_reject_needs_a_reason_from_the_kinds_catalogue_and_may_have_a_comment(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    r = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    s = seller(shop_id)
    bad = await mutate(api, "rejectAfterSale", {"requestId": r["id"], "reason": "NO_STOCK"}, s)
    assert (bad["__typename"], bad["field"]) == ("ValidationError", "reason")
    reasons = await api("{ afterSaleReasons(catalogue: REFUND_REJECT) { code displayText } }")
    assert "NO_EVIDENCE" in {x["code"] for x in reasons["afterSaleReasons"]}
    done = await ok(
        api,
        "rejectAfterSale",
        {"requestId": r["id"], "reason": "NO_EVIDENCE", "comment": "No photo"},
        s,
    )
    assert done["status"] == "REJECTED" and done["tab"] == "CLOSED"
    assert done["rejection"]["reason"]["code"] == "NO_EVIDENCE"
    assert done["rejection"]["comment"] == "No photo"
    # R5: a first rejection may be appealed or followed by a second request.
    assert done["nextAction"]["action"] == "APPEAL_OR_REQUEST_AGAIN"


# ---- R5: second request or appeal; after two rejections, only appeal -----------------------


async def test_r5_second_rejection_allows_only_appeal(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    first = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    await ok(api, "rejectAfterSale", {"requestId": first["id"], "reason": "NO_EVIDENCE"}, s)
    second = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, note="photo"), b
    )
    assert second["followsId"] == first["id"]
    assert (await view(api, first["id"], b))["status"] == "CLOSED_FINAL"  # asked again instead
    await ok(api, "rejectAfterSale", {"requestId": second["id"], "reason": "NO_EVIDENCE"}, s)

    third = await mutate(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 1}), b)
    assert (third["__typename"], third["code"]) == (
        "AfterSaleRefusedError",
        "SECOND_REJECTION_ONLY_APPEAL",
    )
    appealed = await ok(
        api, "appealAfterSale", {"requestId": second["id"], "reason": "HAVE_EVIDENCE"}, b
    )
    assert (appealed["status"], appealed["tab"]) == ("APPEALED", "TO_PROCEED")
    assert appealed["nextAction"]["actorKind"] == "PLATFORM"


async def test_r5_an_appeal_after_the_appeal_window_is_refused_naming_the_window(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    await ok(api, "rejectAfterSale", {"requestId": r["id"], "reason": "OTHER"}, seller(shop_id))
    clock.advance(timedelta(days=7))
    late = await mutate(api, "appealAfterSale", {"requestId": r["id"], "reason": "OTHER"}, b)
    assert (late["__typename"], late["code"]) == ("WindowClosedError", "APPEAL_WINDOW_CLOSED")


# ---- R6: the mediator decides ---------------------------------------------------------------


async def _appealed(api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str):
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    await ok(api, "rejectAfterSale", {"requestId": r["id"], "reason": "OTHER"}, seller(shop_id))
    await ok(api, "appealAfterSale", {"requestId": r["id"], "reason": "HAVE_EVIDENCE"}, b)
    return r["id"], b


async def test_r6_an_appeal_decided_for_the_buyer_pays_the_refund(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    rid, _ = await _appealed(api, db, clock, shop_id)
    seller_try = await mutate(
        api, "decideAppeal", {"requestId": rid, "forBuyer": True, "note": "x"}, seller(shop_id)
    )
    assert seller_try["__typename"] == "ForbiddenError"
    done = await ok(
        api,
        "decideAppeal",
        {"requestId": rid, "forBuyer": True, "note": "Photos show damage"},
        PLATFORM,
    )
    assert (done["status"], done["tab"]) == ("REFUNDED", "COMPLETED")
    assert done["refund"]["total"]["minorUnits"] == 2500
    assert done["appeal"]["forBuyer"] is True and done["appeal"]["note"] == "Photos show damage"


async def test_r6_an_appeal_decided_for_the_seller_closes_the_request(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    rid, _ = await _appealed(api, db, clock, shop_id)
    done = await ok(
        api, "decideAppeal", {"requestId": rid, "forBuyer": False, "note": "As described"}, PLATFORM
    )
    assert (done["status"], done["tab"], done["refund"]) == ("DECIDED_FOR_SELLER", "CLOSED", None)
    again = await mutate(
        api, "decideAppeal", {"requestId": rid, "forBuyer": True, "note": "x"}, PLATFORM
    )
    assert (again["__typename"], again["currentState"]) == (
        "InvalidStateError",
        "DECIDED_FOR_SELLER",
    )


# ---- R7: decisions ---------------------------------------------------------------------------


async def test_r7_approve_some_lines_for_less_and_let_the_buyer_keep_the_item(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    r = await ok(
        api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "DAMAGED", {0: 1, 1: 2}), b
    )
    line1 = order.lines[1].line_id
    too_much = await mutate(
        api,
        "approveAfterSale",
        {
            "requestId": r["id"],
            "decision": "APPROVE_RETURN",
            "lines": [{"lineId": line1, "quantity": 1}],
            "buyerKeepsItem": True,
            "partialAmount": {"amount": "10.01", "currency": "USD"},
        },
        s,
    )
    assert (too_much["__typename"], too_much["refundableMinorUnits"]) == (
        "RefundExceedsRefundableError",
        1000,
    )
    negative = await mutate(
        api,
        "approveAfterSale",
        {
            "requestId": r["id"],
            "decision": "OFFER_PARTIAL_REFUND",
            "partialAmount": {"amount": "-1", "currency": "USD"},
        },
        s,
    )
    assert (negative["__typename"], negative["code"]) == (
        "ValidationError",
        "REFUND_AMOUNT_INVALID",
    )
    done = await ok(
        api,
        "approveAfterSale",
        {
            "requestId": r["id"],
            "decision": "APPROVE_RETURN",
            "lines": [{"lineId": line1, "quantity": 1}],
            "buyerKeepsItem": True,
            "partialAmount": {"amount": "6.50", "currency": "USD"},
        },
        s,
    )
    assert (done["status"], done["returnShipment"]) == ("REFUNDED", None)  # kept: no return
    assert done["decision"]["lines"] == [{"lineId": line1, "quantity": 1}]
    assert done["refund"]["total"]["minorUnits"] == 650
    assert done["refund"]["total"]["amount"] == "6.50"
    assert done["order"]["refunded"]["minorUnits"] == 650


async def test_r7_refund_quote_is_what_the_approval_pays(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1, 1: 2}), b)
    quote_q = """query($id: ID!) { refundQuote(requestId: $id) {
      items { minorUnits } shipping { minorUnits } total { minorUnits } lines { lineId } } }"""
    quote = (await api(quote_q, {"id": r["id"]}, b))["refundQuote"]
    assert (quote["items"]["minorUnits"], quote["shipping"]["minorUnits"]) == (4500, 499)
    paid = await ok(
        api,
        "approveAfterSale",
        {"requestId": r["id"], "decision": "APPROVE_REFUND"},
        seller(shop_id),
    )
    assert paid["refund"]["total"]["minorUnits"] == quote["total"]["minorUnits"] == 4999
    assert paid["order"]["paymentState"] == "REFUNDED"


async def test_refund_quote_of_a_cancellation_is_what_cancelling_pays(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    req = await api(
        """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
        ... on Cancellation { id } } }""",
        {"o": order.id},
        buyer(buyer_id),
    )
    cid = req["requestCancellation"]["id"]
    q = "query($c: ID!) { refundQuote(cancellationId: $c) { items { minorUnits } total { minorUnits } } }"
    quote = (await api(q, {"c": cid}, buyer(buyer_id)))["refundQuote"]
    accepted = await api(
        """mutation($c: ID!) { acceptCancellation(input: {cancellationId: $c}) {
        ... on Cancellation { refund { total { minorUnits } } } } }""",
        {"c": cid},
        seller(shop_id),
    )
    assert accepted["acceptCancellation"]["refund"]["total"] == quote["total"]
    assert quote["total"]["minorUnits"] == order.grand_total.minor


# ---- R8: return shipping before the refund ----------------------------------------------------


async def test_r8_a_return_is_shipped_and_received_before_the_refund(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    r = await ok(api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "DEFECTIVE", {1: 2}), b)
    rid = r["id"]
    early = await mutate(api, "confirmReturnReceived", {"requestId": rid}, s)
    assert (early["__typename"], early["currentState"]) == ("InvalidStateError", "PENDING_SELLER")
    approved = await ok(
        api, "approveAfterSale", {"requestId": rid, "decision": "APPROVE_RETURN"}, s
    )
    assert (approved["status"], approved["refund"]) == ("AWAITING_BUYER_RETURN", None)
    shipped = await ok(
        api, "shipReturn", {"requestId": rid, "carrier": "UPS", "trackingNumber": "1Z42"}, b
    )
    assert (
        shipped["status"] == "RETURN_IN_TRANSIT"
        and shipped["nextAction"]["actorKind"] == "SELLER_AGENT"
    )
    done = await ok(api, "confirmReturnReceived", {"requestId": rid}, s)
    assert (done["status"], done["refund"]["total"]["minorUnits"]) == ("REFUNDED", 2000)
    assert done["returnShipment"]["receivedAt"] is not None


async def test_r8_a_parcel_rejected_on_receipt_can_be_appealed(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    r = await ok(api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "DEFECTIVE", {0: 1}), b)
    await ok(api, "approveAfterSale", {"requestId": r["id"], "decision": "APPROVE_RETURN"}, s)
    await ok(api, "shipReturn", {"requestId": r["id"], "carrier": "UPS", "trackingNumber": "1"}, b)
    rejected = await ok(
        api,
        "rejectReturnOnReceipt",
        {"requestId": r["id"], "reason": "DAMAGED_BY_BUYER", "comment": "Scratched"},
        s,
    )
    assert rejected["status"] == "REJECTED" and rejected["rejection"]["onReceipt"] is True
    await ok(api, "appealAfterSale", {"requestId": r["id"], "reason": "RETURNED_AS_ASKED"}, b)
    done = await ok(
        api, "decideAppeal", {"requestId": r["id"], "forBuyer": True, "note": "ok"}, PLATFORM
    )
    assert (done["status"], done["refund"]["total"]["minorUnits"]) == ("REFUNDED", 2500)


# ---- R9, R10: refunds with no request ---------------------------------------------------------


async def test_r9_the_seller_refunds_with_no_buyer_request(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    input_ = {
        "orderId": order.id,
        "reason": "PRICING_ERROR",
        "lines": [{"lineId": order.lines[0].line_id, "quantity": 1}],
        "partialAmount": {"amount": "5.00", "currency": "USD"},
    }
    readonly = await mutate(api, "refundOrder", input_, seller(shop_id, adjust=False))
    assert readonly["__typename"] == "ForbiddenError"
    done = await ok(api, "refundOrder", input_, seller(shop_id))
    assert (done["status"], done["tab"], done["timeline"][0]["action"]) == (
        "REFUNDED",
        "COMPLETED",
        "SELLER_REFUND",
    )
    assert done["refund"]["total"]["minorUnits"] == 500
    # A price adjustment settles no units: the buyer may still ask about the line.
    again = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    assert again["status"] == "PENDING_SELLER"


async def test_r10_the_platform_refunds_with_no_seller_step(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    input_ = {"orderId": order.id, "reason": "POLICY_VIOLATION", "comment": "Counterfeit"}
    as_seller = await mutate(api, "platformRefund", input_, seller(shop_id))
    assert (as_seller["__typename"], as_seller["code"]) == ("ForbiddenError", "FORBIDDEN")
    done = await ok(api, "platformRefund", input_, PLATFORM)
    assert done["status"] == "REFUNDED" and done["refund"]["total"]["minorUnits"] == 4999
    notes = await api(
        "{ notifications { edges { node { kind message } } } }", actor=seller(shop_id)
    )
    kinds = [e["node"]["kind"] for e in notes["notifications"]["edges"]]
    assert "AFTER_SALE_REFUNDED" in kinds  # the seller sees the final state


async def test_r10_an_instant_refund_category_refunds_at_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    category = f"instant-{uuid.uuid4().hex[:6]}"
    set_policy = """mutation($c: String!) { setCategoryPolicy(input: {category: $c,
      instantRefund: true}) { __typename ... on CategoryPolicy { instantRefund } } }"""
    assert (await api(set_policy, {"c": category}, PLATFORM))["setCategoryPolicy"]["instantRefund"]
    order = await delivered_order(db, clock, shop_id, category=category)
    done = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    assert done["status"] == "REFUNDED"
    assert [t["action"] for t in done["timeline"]] == ["REQUEST", "INSTANT_REFUND"]
    assert done["timeline"][1]["actorKind"] == "PLATFORM"


# ---- R11: records ---------------------------------------------------------------------------


async def test_r11_the_timeline_records_every_change_who_made_it_and_why(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    rid, b = await _appealed(api, db, clock, shop_id)
    seen = await view(api, rid, seller(shop_id))
    steps = [
        (
            t["action"],
            t["actorKind"],
            t["fromStatus"],
            t["toStatus"],
            (t["reason"] or {}).get("code"),
        )
        for t in seen["timeline"]
    ]
    assert steps == [
        ("REQUEST", "BUYER", None, "PENDING_SELLER", "DAMAGED"),
        ("REJECT", "SELLER_AGENT", "PENDING_SELLER", "REJECTED", "OTHER"),
        ("APPEAL", "BUYER", "REJECTED", "APPEALED", "HAVE_EVIDENCE"),
    ]
    assert all(t["reason"]["displayText"] for t in seen["timeline"])
    other = await mutate(api, "withdrawAfterSale", {"requestId": rid}, buyer(new_buyer_id()))
    assert other["__typename"] == "NotFoundError"  # as an unknown id; nothing was recorded
    assert len((await view(api, rid, b))["timeline"]) == 3


# ---- P1-P3: replacements ----------------------------------------------------------------------


async def test_p1_a_replacement_is_for_damaged_defective_or_wrong_items_within_the_window(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    changed_mind = await mutate(
        api, "requestAfterSale", ask(order, "REPLACEMENT", "CHANGED_MIND", {0: 1}), b
    )
    assert (changed_mind["__typename"], changed_mind["field"]) == ("ValidationError", "reason")
    r = await ok(api, "requestAfterSale", ask(order, "REPLACEMENT", "WRONG_ITEM", {0: 1}), b)
    assert (r["kind"], r["status"]) == ("REPLACEMENT", "PENDING_SELLER")
    late = await delivered_order(db, clock, shop_id, days_ago=16)
    refused = await mutate(
        api, "requestAfterSale", ask(late, "REPLACEMENT", "DEFECTIVE", {0: 1}), buyer(late.buyer_id)
    )
    assert refused["code"] == "WINDOW_PASSED"


async def test_p2_a_replacement_needs_the_faulty_item_back_when_policy_says_so(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    r = await ok(api, "requestAfterSale", ask(order, "REPLACEMENT", "DEFECTIVE", {0: 1}), b)
    rid = r["id"]
    no_reason = await mutate(
        api, "approveAfterSale", {"requestId": rid, "decision": "APPROVE_REPLACEMENT"}, s
    )
    assert (no_reason["__typename"], no_reason["field"]) == ("ValidationError", "reason")
    approved = await ok(
        api,
        "approveAfterSale",
        {"requestId": rid, "decision": "APPROVE_REPLACEMENT", "reason": "DEFECT_CONFIRMED"},
        s,
    )
    assert approved["status"] == "AWAITING_BUYER_RETURN"  # the default policy wants it back
    await ok(api, "shipReturn", {"requestId": rid, "carrier": "DHL", "trackingNumber": "9"}, b)
    received = await ok(api, "confirmReturnReceived", {"requestId": rid}, s)
    assert received["status"] == "AWAITING_REPLACEMENT_SHIPMENT"
    shipped = await ok(
        api, "shipReplacement", {"requestId": rid, "carrier": "DHL", "trackingNumber": "10"}, s
    )
    assert shipped["replacementShipment"]["trackingNumber"] == "10"
    done = await ok(api, "recordReplacementDelivered", {"requestId": rid}, PLATFORM)
    assert (done["status"], done["tab"], done["refund"]) == ("REPLACED", "COMPLETED", None)


async def test_p2_a_category_that_needs_no_item_back_ships_the_replacement_at_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    category = f"cheap-{uuid.uuid4().hex[:6]}"
    set_policy = """mutation($c: String!) { setCategoryPolicy(input: {category: $c,
      replacementNeedsItemBack: false}) { __typename } }"""
    await api(set_policy, {"c": category}, PLATFORM)
    order = await delivered_order(db, clock, shop_id, category=category)
    r = await ok(
        api, "requestAfterSale", ask(order, "REPLACEMENT", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    approved = await ok(
        api,
        "approveAfterSale",
        {"requestId": r["id"], "decision": "APPROVE_REPLACEMENT", "reason": "DAMAGED_IN_TRANSIT"},
        seller(shop_id),
    )
    assert approved["status"] == "AWAITING_REPLACEMENT_SHIPMENT"
    assert approved["decision"]["reason"]["code"] == "DAMAGED_IN_TRANSIT"


async def test_p3_rejecting_a_replacement_needs_a_reason_and_a_comment(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    r = await ok(
        api, "requestAfterSale", ask(order, "REPLACEMENT", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    s = seller(shop_id)
    bare = await mutate(api, "rejectAfterSale", {"requestId": r["id"], "reason": "OUT_OF_STOCK"}, s)
    assert (bare["__typename"], bare["field"]) == ("ValidationError", "comment")
    done = await ok(
        api,
        "rejectAfterSale",
        {"requestId": r["id"], "reason": "OUT_OF_STOCK", "comment": "None left"},
        s,
    )
    assert done["rejection"]["reason"]["code"] == "OUT_OF_STOCK"


# ---- Y1: category policy ----------------------------------------------------------------------

POLICY = """query($c: String!) { categoryPolicy(category: $c) {
  category returnRefundWindowSeconds sellerResponseWindowSeconds instantRefund
  replacementNeedsItemBack } }"""


async def test_y1_policy_is_stored_readable_editable_by_the_platform_and_kept_by_requests(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    category = f"shoes-{uuid.uuid4().hex[:6]}"
    default = (await api(POLICY, {"c": category}, seller(shop_id)))["categoryPolicy"]
    assert default["returnRefundWindowSeconds"] == 15 * DAY  # the default applies
    set_policy = """mutation($c: String!, $w: Int!) { setCategoryPolicy(input: {category: $c,
      returnRefundWindowSeconds: $w}) { __typename ... on UserError { code } } }"""
    denied = await api(set_policy, {"c": category, "w": 30 * DAY}, seller(shop_id))
    assert denied["setCategoryPolicy"]["code"] == "FORBIDDEN"
    bad = await api(set_policy, {"c": category, "w": 0}, PLATFORM)
    assert bad["setCategoryPolicy"]["code"] == "VALIDATION_FAILED"
    await api(set_policy, {"c": category, "w": 30 * DAY}, PLATFORM)
    stored = (await api(POLICY, {"c": category}, seller(shop_id)))["categoryPolicy"]
    assert stored["returnRefundWindowSeconds"] == 30 * DAY
    listed = await api("{ categoryPolicies { category } }", actor=PLATFORM)
    assert category in {p["category"] for p in listed["categoryPolicies"]}

    order = await delivered_order(db, clock, shop_id, days_ago=20, category=category)
    r = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    assert r["policy"]["returnRefundWindowSeconds"] == 30 * DAY  # 20 days after delivery: fine
    await api(set_policy, {"c": category, "w": 5 * DAY}, PLATFORM)
    kept = await view(api, r["id"], buyer(order.buyer_id))
    assert kept["policy"]["returnRefundWindowSeconds"] == 30 * DAY  # kept what it was opened under
    refused = await mutate(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 1}), buyer(order.buyer_id)
    )
    assert refused["code"] == "WINDOW_PASSED"  # a new request reads today's policy


async def test_r2_buyers_list_their_own_requests_and_agents_only_their_shop(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    mine = await delivered_order(db, clock, shop_id)
    theirs = await delivered_order(db, clock, shop_id)
    for o in (mine, theirs):
        await ok(
            api, "requestAfterSale", ask(o, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(o.buyer_id)
        )
    page = (await api(LIST, {"tab": "ALL"}, buyer(mine.buyer_id)))["afterSales"]
    assert len(page["nodes"]) == 1
    assert (await view(api, page["nodes"][0]["id"], buyer(mine.buyer_id)))["orderId"] == mine.id
    assert {c["tab"]: c["count"] for c in page["tabCounts"]}["ALL"] == 1
    other_shop = await api.raw(LIST, {"shop": shop_id, "tab": "ALL"}, seller("shop-elsewhere"))
    assert other_shop["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_order = await api(LIST, {"tab": "ALL", "filter": {"orderId": theirs.id}}, seller(shop_id))
    assert len(by_order["afterSales"]["nodes"]) == 1


async def test_r7_malformed_amounts_and_lines_are_typed_errors_that_write_nothing(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    r = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 2}), b)
    s = seller(shop_id)
    for amount, currency in [("Infinity", "USD"), ("NaN", "USD"), ("1.001", "USD"), ("1", "EUR")]:
        bad = await mutate(
            api,
            "approveAfterSale",
            {
                "requestId": r["id"],
                "decision": "OFFER_PARTIAL_REFUND",
                "partialAmount": {"amount": amount, "currency": currency},
            },
            s,
        )
        assert bad["__typename"] == "ValidationError", (amount, bad)
    for lines in (
        [],
        [{"lineId": order.lines[0].line_id, "quantity": 0}],
        [{"lineId": "x", "quantity": 1}],
    ):
        bad = await mutate(
            api,
            "requestAfterSale",
            {**ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), "lines": lines},
            b,
        )
        assert (bad["__typename"], bad["field"]) == ("ValidationError", "lines"), (lines, bad)
    too_many = await mutate(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 2}), b
    )
    assert (too_many["__typename"], too_many["code"]) == (
        "AfterSaleRefusedError",
        "QUANTITY_USED_UP",
    )
    assert (await view(api, r["id"], b))["status"] == "PENDING_SELLER"
    assert await db.after_sales.count_documents({"order_id": order.id, "tabs": "ALL"}) == 1

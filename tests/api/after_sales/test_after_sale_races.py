"""Racing refunds on one order: whatever lands at the same instant, the order's ledger never pays
more than was paid, per line and in total (the order document, which holds its ledger, is the
per-order compare-and-set).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from models.clock import SettableClock
from storage import orders as order_store
from storage.mongo import Database
from tests.support.after_sale_api import ask, assert_counters_match, delivered_order, mutate, ok
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, seller


async def _assert_within_paid(db: Database, order_id: str) -> int:
    order, ledger = (await order_store.with_ledgers(db, [order_id]))[order_id]
    for line in order.lines:
        assert ledger.refunded_line(line.line_id) <= line.subtotal
    assert ledger.refunded_shipping <= order.shipping_fee
    assert ledger.refunded_total <= order.amount_paid
    assert order.refunded == ledger.refunded_total  # the order shows what the ledger holds
    return ledger.refunded_total.minor


async def test_partial_refunds_racing_on_one_line_never_overdraw_it(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """Three refunds of 20.00 on a 25.00 line, at once, by the seller (R9) and the platform (R10):
    exactly one lands; the others rerun on the ledger that won and are refused with the amount
    still refundable."""
    names: Counter[str] = Counter()
    for _ in range(8):
        order = await delivered_order(db, clock, shop_id)
        refund = {
            "orderId": order.id,
            "lines": [{"lineId": order.lines[0].line_id, "quantity": 1}],
            "partialAmount": {"amount": "20.00", "currency": "USD"},
        }
        results = await asyncio.gather(
            mutate(api, "refundOrder", {**refund, "reason": "PRICING_ERROR"}, seller(shop_id)),
            mutate(api, "refundOrder", {**refund, "reason": "LOGISTICS_PROBLEM"}, seller(shop_id)),
            mutate(api, "platformRefund", {**refund, "reason": "POLICY_VIOLATION"}, PLATFORM),
        )
        kinds = sorted(r["__typename"] for r in results)
        assert kinds == [
            "AfterSale",
            "RefundExceedsRefundableError",
            "RefundExceedsRefundableError",
        ]
        assert all(
            r["refundableMinorUnits"] == 500
            for r in results
            if r["__typename"] == "RefundExceedsRefundableError"
        )
        assert await _assert_within_paid(db, order.id) == 2000
        names.update(kinds)
    await assert_counters_match(db, shop_id)


async def test_two_refunds_approved_at_the_same_instant_pay_the_order_exactly_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """Two refund requests on the two lines of one order, approved at the same instant: the one
    that lands second sees the first in the ledger and pays the rest with the shipping; together
    they pay what was paid, never more."""
    for _ in range(8):
        order = await delivered_order(db, clock, shop_id)
        b = buyer(order.buyer_id)
        first = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
        second = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 2}), b)
        approve = [
            mutate(api, "approveAfterSale", {"requestId": r["id"], "decision": "APPROVE_REFUND"}, s)
            for r, s in ((first, seller(shop_id)), (second, seller(shop_id)))
        ]
        results = await asyncio.gather(*approve)
        assert [r["__typename"] for r in results] == ["AfterSale", "AfterSale"]
        totals = sorted(r["refund"]["total"]["minorUnits"] for r in results)
        shipping = sorted(r["refund"]["shipping"]["minorUnits"] for r in results)
        assert shipping == [0, 499]  # the shipping is paid once, by the refund that lands last
        assert sum(totals) == order.amount_paid.minor == 4999
        assert await _assert_within_paid(db, order.id) == 4999
    await assert_counters_match(db, shop_id)


async def test_after_a_full_platform_refund_a_seller_refund_finds_nothing_left(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """Every unit refunded in full (R10) is settled: a seller's refund (R9) is refused."""
    order = await delivered_order(db, clock, shop_id)
    await ok(api, "platformRefund", {"orderId": order.id, "reason": "POLICY_VIOLATION"}, PLATFORM)
    again = await mutate(
        api, "refundOrder", {"orderId": order.id, "reason": "PRICING_ERROR"}, seller(shop_id)
    )
    assert again["__typename"] == "AfterSaleRefusedError"
    assert again["code"] in ("QUANTITY_USED_UP", "NOTHING_TO_REFUND")
    assert await _assert_within_paid(db, order.id) == 4999


async def test_two_requests_on_one_line_at_the_same_instant_open_one(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """One open request per line (R1): two asks racing on the same line, one lands and the other
    is refused ALREADY_REQUESTED naming it (the ledger document is written by both, so they
    conflict even though neither pays anything)."""
    for _ in range(8):
        order = await delivered_order(db, clock, shop_id)
        b = buyer(order.buyer_id)
        results = await asyncio.gather(
            mutate(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 1}), b),
            mutate(api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "DAMAGED", {1: 1}), b),
        )
        names = sorted(r["__typename"] for r in results)
        assert names == ["AfterSale", "AfterSaleRefusedError"], results
        won = next(r for r in results if r["__typename"] == "AfterSale")
        lost = next(r for r in results if r["__typename"] != "AfterSale")
        assert (lost["code"], lost["existingRequestId"]) == ("ALREADY_REQUESTED", won["id"])
        assert await db.after_sales.count_documents({"order_id": order.id, "tabs": "ALL"}) == 1
    await assert_counters_match(db, shop_id)


async def test_an_after_sale_step_repeated_with_its_idempotency_key_happens_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    asked = ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, idempotencyKey="ask-1")
    first = await ok(api, "requestAfterSale", asked, b)
    again = await ok(api, "requestAfterSale", asked, b)
    assert again["id"] == first["id"]
    other = await mutate(api, "requestAfterSale", {**asked, "reason": "EMPTY_PACKAGE"}, b)
    assert other["__typename"] == "IdempotencyKeyReusedError"
    approve = {"requestId": first["id"], "decision": "APPROVE_REFUND", "idempotencyKey": "ok-1"}
    paid = await ok(api, "approveAfterSale", approve, seller(shop_id))
    repeat = await ok(api, "approveAfterSale", approve, seller(shop_id))
    assert repeat["timeline"] == paid["timeline"] and len(paid["timeline"]) == 2
    assert await _assert_within_paid(db, order.id) == 2500

"""Y2 through the public GraphQL API, against the real database server: the payment window of
unpaid orders, a business-day calendar, and a longer seller response window above an order value,
each set per category as configuration and read through the injectable clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.clock import SettableClock
from models.orders import FulfilmentState
from storage.mongo import Database
from tests.api.intake.test_order_intake_api import PLACE, integration, order_input
from tests.support.after_sale_api import ask, mutate
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

SET_POLICY = """mutation($input: CategoryPolicyInput!) { setCategoryPolicy(input: $input) {
  __typename ... on CategoryPolicy { category paymentWindowSeconds businessDays highValueAbove
    highValueSellerResponseWindowSeconds sellerResponseWindowSeconds }
  ... on UserError { code message field } } }"""

SET_CALENDAR = """mutation($input: BusinessCalendarInput!) { setBusinessCalendar(input: $input) {
  __typename ... on BusinessCalendar { weekend holidays } ... on UserError { code field } } }"""

REQUEST = """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
  __typename ... on Cancellation { id status respondBy
    nextAction { dueAt } sellerResponseWindow { kind seconds businessDays } }
  ... on UserError { code message } } }"""

UNPAID_CANCEL = """mutation($o: ID!) { cancelUnpaidOrder(input: {orderId: $o}) {
  __typename ... on Cancellation { status } ... on PaymentWindowOpenError { paymentDueAt } } }"""

# Friday 4 December 2026, 10:00 UTC.
FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _category() -> str:
    return f"y2-{uuid.uuid4().hex[:8]}"


async def _policy(api: GraphQLClient, category: str, **fields: Any) -> dict[str, Any]:
    result = await api(SET_POLICY, {"input": {"category": category, **fields}}, PLATFORM)
    assert result["setCategoryPolicy"]["__typename"] == "CategoryPolicy", result
    return result["setCategoryPolicy"]


@pytest.fixture
async def calendar(api: GraphQLClient) -> AsyncIterator[None]:
    """The marketplace's calendar is one for every test: set back to weekends only after."""
    yield
    await api(SET_CALENDAR, {"input": {"weekend": [5, 6], "holidays": []}}, PLATFORM)


async def test_y2_the_payment_window_of_unpaid_orders_comes_from_the_category_policy(
    api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    category = _category()
    await _policy(api, category, paymentWindowSeconds=2 * 3600)
    placed_at = clock.now() - timedelta(minutes=30)
    given = order_input(placed_at=placed_at, paid=False)
    given["lines"][0]["category"] = category

    placed = await api(PLACE, {"shop": shop_id, "orders": [given]}, integration(shop_id))
    [result] = placed["placeOrders"]["results"]
    order_id = result["order"]["id"]

    early = (await api(UNPAID_CANCEL, {"o": order_id}, PLATFORM))["cancelUnpaidOrder"]
    assert early["__typename"] == "PaymentWindowOpenError"
    assert datetime.fromisoformat(early["paymentDueAt"]) == placed_at + timedelta(hours=2)
    clock.advance(timedelta(hours=1, minutes=30))
    late = (await api(UNPAID_CANCEL, {"o": order_id}, PLATFORM))["cancelUnpaidOrder"]
    assert late == {"__typename": "Cancellation", "status": "CANCELLED"}


async def test_y2_the_seller_window_counts_business_days_on_the_calendar(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str, calendar: None
) -> None:
    category = _category()
    await _policy(api, category, businessDays=True)
    clock.set(FRIDAY)
    placed = FRIDAY - timedelta(hours=3)

    order = await place_order(db, shop_id, new_buyer_id(), placed, category=category)
    asked = (await api(REQUEST, {"o": order.id}, buyer(order.buyer_id)))["requestCancellation"]
    # 48 hours as two business days: Saturday and Sunday skipped.
    assert datetime.fromisoformat(asked["respondBy"]) == datetime(2026, 12, 8, 10, tzinfo=UTC)
    assert asked["nextAction"]["dueAt"] == asked["respondBy"]
    assert asked["sellerResponseWindow"] == {
        "kind": "STANDARD",
        "seconds": 48 * 3600,
        "businessDays": True,
    }

    # A listed holiday is skipped too.
    holiday = {"weekend": [5, 6], "holidays": ["2026-12-07"]}
    set_calendar = (await api(SET_CALENDAR, {"input": holiday}, PLATFORM))["setBusinessCalendar"]
    assert set_calendar == {"__typename": "BusinessCalendar", **holiday}
    other = await place_order(db, shop_id, new_buyer_id(), placed, category=category)
    later = (await api(REQUEST, {"o": other.id}, buyer(other.buyer_id)))["requestCancellation"]
    assert datetime.fromisoformat(later["respondBy"]) == datetime(2026, 12, 9, 10, tzinfo=UTC)


async def test_y2_a_longer_seller_window_above_an_order_value(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str, calendar: None
) -> None:
    # The marketplace's example: 4 business days instead of 2 above 100.00.
    category = _category()
    await _policy(
        api,
        category,
        businessDays=True,
        highValueAbove=10000,
        highValueSellerResponseWindowSeconds=4 * 24 * 3600,
    )
    clock.set(FRIDAY)
    placed = FRIDAY - timedelta(hours=3)
    dear = await place_order(
        db, shop_id, new_buyer_id(), placed, category=category, prices=(9000, 1000)
    )  # 90.00 + 2 x 10.00 = 110.00 of items
    cheap = await place_order(
        db, shop_id, new_buyer_id(), placed, category=category, prices=(8000, 1000)
    )  # 100.00: not above

    high = (await api(REQUEST, {"o": dear.id}, buyer(dear.buyer_id)))["requestCancellation"]
    low = (await api(REQUEST, {"o": cheap.id}, buyer(cheap.buyer_id)))["requestCancellation"]

    assert high["sellerResponseWindow"] == {
        "kind": "HIGH_VALUE",
        "seconds": 4 * 24 * 3600,
        "businessDays": True,
    }
    assert datetime.fromisoformat(high["respondBy"]) == datetime(2026, 12, 10, 10, tzinfo=UTC)
    assert low["sellerResponseWindow"]["kind"] == "STANDARD"
    assert datetime.fromisoformat(low["respondBy"]) == datetime(2026, 12, 8, 10, tzinfo=UTC)


async def test_y2_an_after_sale_request_gets_the_high_value_window_too(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    category = _category()
    await _policy(
        api, category, highValueAbove=10000, highValueSellerResponseWindowSeconds=96 * 3600
    )
    order = await place_order(
        db,
        shop_id,
        new_buyer_id(),
        clock.now() - timedelta(days=3),
        state=FulfilmentState.DELIVERED,
        category=category,
        prices=(12000,),
    )

    r = await mutate(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )

    assert datetime.fromisoformat(r["deadline"]) == clock.now() + timedelta(hours=96)
    window = await api(
        "query($id: ID!) { afterSale(id: $id) { sellerResponseWindow { kind seconds } } }",
        {"id": r["id"]},
        seller(shop_id),
    )
    assert window["afterSale"]["sellerResponseWindow"] == {"kind": "HIGH_VALUE", "seconds": 345600}


async def test_y2_only_the_platform_sets_the_calendar_and_it_is_checked(
    api: GraphQLClient, shop_id: str, calendar: None
) -> None:
    by_seller = await api(
        SET_CALENDAR, {"input": {"weekend": [6], "holidays": []}}, seller(shop_id)
    )
    assert by_seller["setBusinessCalendar"]["code"] == "FORBIDDEN"
    every_day = await api(
        SET_CALENDAR, {"input": {"weekend": list(range(7)), "holidays": []}}, PLATFORM
    )
    assert every_day["setBusinessCalendar"] == {
        "__typename": "ValidationError",
        "code": "VALIDATION_FAILED",
        "field": "weekend",
    }
    read = await api("{ businessCalendar { weekend holidays } }", actor=seller(shop_id))
    assert read["businessCalendar"] == {"weekend": [5, 6], "holidays": []}

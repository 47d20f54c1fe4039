"""The order intake through the API: an integration places a shop's orders and moves them,
one at a time or 500 at once; every refusal has its code and field; a repeat is a no-op, a
changed repeat a conflict; a stale update never moves an order back; the existing rules (C3,
R1) work on orders the intake fed; only the shop's integration may feed it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from api.identity import actor_from_token, mint_token
from api.token import _parser, actor_from_args
from models.actors import ActorKind
from models.clock import SettableClock
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, seller

PLACE = """
mutation($shop: ID!, $orders: [PlaceOrderInput!]!) {
  placeOrders(input: {shopId: $shop, orders: $orders}) {
    __typename
    ... on UserError { code message field }
    ... on PlaceOrdersPayload { results {
      __typename
      ... on UserError { code field }
      ... on OrderConflictError { orderId fields }
      ... on OrderPlaced { externalId repeated order { id buyerId paymentState fulfilmentState
                           total { minorUnits currency } } }
    } }
  }
}"""

UPDATE = """
mutation($shop: ID!, $updates: [OrderUpdateInput!]!) {
  updateOrders(input: {shopId: $shop, updates: $updates}) {
    __typename
    ... on UserError { code message field }
    ... on UpdateOrdersPayload { results {
      __typename
      ... on UserError { code field }
      ... on StaleUpdateError { currentStage }
      ... on OrderConflictError { fields }
      ... on OrderNotCancellableError { fulfilmentState }
      ... on InvalidStateError { currentState }
      ... on OrderMoved { externalId repeated stage order { id fulfilmentState paymentState
                          refunded { minorUnits } } }
    } }
  }
}"""


def integration(shop_id: str) -> str:
    return f"integration:orders-1@{shop_id}"


def _iso(t: datetime) -> str:
    return t.isoformat()


def order_input(
    external_id: str | None = None,
    *,
    placed_at: datetime,
    buyer_id: str = "buyer-1",
    paid: bool = True,
    **changes: Any,
) -> dict[str, Any]:
    order = {
        "externalId": external_id or f"ext-{uuid.uuid4().hex[:10]}",
        "buyerId": buyer_id,
        "currency": "USD",
        "lines": [
            {
                "lineId": "l1",
                "sku": "SKU-1",
                "title": "Tent",
                "quantity": 2,
                "unitPriceMinor": 1250,
                "category": "outdoor",
            }
        ],
        "shippingFeeMinor": 499,
        "paymentMethod": "PREPAID",
        "placedAt": _iso(placed_at),
        "paid": paid,
    }
    return order | changes


async def place(
    api: GraphQLClient, shop_id: str, orders: list[dict[str, Any]], actor: str | None = None
) -> dict[str, Any]:
    data = await api(PLACE, {"shop": shop_id, "orders": orders}, actor or integration(shop_id))
    return data["placeOrders"]


async def update(
    api: GraphQLClient, shop_id: str, updates: list[dict[str, Any]], actor: str | None = None
) -> dict[str, Any]:
    data = await api(UPDATE, {"shop": shop_id, "updates": updates}, actor or integration(shop_id))
    return data["updateOrders"]


def step(ext: str, name: str, at: datetime, **more: Any) -> dict[str, Any]:
    return {"externalId": ext, "step": name, "at": _iso(at), **more}


async def test_a_placed_order_is_stored_and_its_repeat_returns_it_without_writing(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    sent = order_input("A-1", placed_at=clock.now() - timedelta(minutes=5))
    [first] = (await place(api, shop_id, [sent]))["results"]
    assert first["__typename"] == "OrderPlaced" and first["repeated"] is False
    assert first["order"]["total"] == {"minorUnits": 2 * 1250 + 499, "currency": "USD"}
    assert first["order"]["paymentState"] == "PAID"
    assert first["order"]["fulfilmentState"] == "AWAITING_SHIPMENT"
    [again] = (await place(api, shop_id, [sent]))["results"]
    assert again["__typename"] == "OrderPlaced" and again["repeated"] is True
    assert again["order"]["id"] == first["order"]["id"]
    assert await db.orders.count_documents({"shop_id": shop_id}) == 1
    placed = await db.events.count_documents({"shop_id": shop_id, "type": "ORDER"})
    assert placed == 1  # the repeat is not a change


async def test_a_changed_repeat_is_a_conflict_naming_what_differs(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    sent = order_input("A-2", placed_at=clock.now() - timedelta(minutes=5))
    [first] = (await place(api, shop_id, [sent]))["results"]
    changed = sent | {"buyerId": "buyer-2", "shippingFeeMinor": 0}
    [conflict] = (await place(api, shop_id, [changed]))["results"]
    assert conflict["__typename"] == "OrderConflictError"
    assert conflict["code"] == "ORDER_CONFLICT"
    assert conflict["fields"] == ["buyerId", "shippingFeeMinor"]
    assert conflict["field"] == "orders[0].buyerId"
    assert conflict["orderId"] == first["order"]["id"]
    stored = await db.orders.find_one({"shop_id": shop_id})
    assert stored is not None and stored["buyer_id"] == "buyer-1"


def _line(**changes: Any) -> dict[str, Any]:
    line = {
        "lineId": "l1",
        "sku": "SKU-1",
        "title": "Tent",
        "quantity": 1,
        "unitPriceMinor": 100,
        "category": "outdoor",
    }
    return line | changes


INVALID = {
    "currency not ISO 4217": ({"currency": "usd"}, "currency"),
    "quantity zero": ({"lines": [_line(quantity=0)]}, "lines[0].quantity"),
    "quantity above the bound": ({"lines": [_line(quantity=1000)]}, "lines[0].quantity"),
    "negative price": ({"lines": [_line(unitPriceMinor=-1)]}, "lines[0].unitPriceMinor"),
    "price above the bound": (
        {"lines": [_line(unitPriceMinor=1_000_000_001)]},
        "lines[0].unitPriceMinor",
    ),
    "shipping above the bound": ({"shippingFeeMinor": 1_000_000_001}, "shippingFeeMinor"),
    "category the policy does not know": (
        {"lines": [_line(category="no-such-category")]},
        "lines[0].category",
    ),
    "external id not well formed": ({"externalId": "A 1"}, "externalId"),
    "buyer id not well formed": ({"buyerId": "b/1"}, "buyerId"),
    "line id not well formed": ({"lines": [_line(lineId="l 1")]}, "lines[0].lineId"),
    "no lines": ({"lines": []}, "lines"),
    "too many lines": ({"lines": [_line(lineId=f"l{n}") for n in range(101)]}, "lines"),
    "line ids repeat": ({"lines": [_line(), _line()]}, "lines[1].lineId"),
    "empty title": ({"lines": [_line(title="  ")]}, "lines[0].title"),
    "cash on delivery already paid": ({"paymentMethod": "CASH_ON_DELIVERY"}, "paid"),
}


@pytest.mark.parametrize("case", list(INVALID))
async def test_each_invalid_placement_is_refused_with_its_code_and_field(
    case: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    changes, field = INVALID[case]
    sent = order_input(placed_at=clock.now() - timedelta(minutes=5), paid=True) | changes
    [result] = (await place(api, shop_id, [sent]))["results"]
    assert result == {"__typename": "ValidationError", "code": "VALIDATION_FAILED",
                      "field": f"orders[0].{field}"}  # fmt: skip
    assert await db.orders.count_documents({"shop_id": shop_id}) == 0


async def test_a_placement_in_the_future_is_refused(
    api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    sent = order_input(placed_at=clock.now() + timedelta(hours=1))
    [result] = (await place(api, shop_id, [sent]))["results"]
    assert (result["code"], result["field"]) == ("VALIDATION_FAILED", "orders[0].placedAt")


async def test_a_batch_over_500_is_refused_whole(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    placed_at = clock.now() - timedelta(minutes=5)
    result = await place(api, shop_id, [order_input(placed_at=placed_at) for _ in range(501)])
    assert (result["__typename"], result["field"]) == ("ValidationError", "orders")
    assert await db.orders.count_documents({"shop_id": shop_id}) == 0


async def test_a_batch_of_500_answers_each_order_in_order_and_writes_the_good_ones(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    placed_at = clock.now() - timedelta(minutes=5)
    known = order_input("KNOWN", placed_at=placed_at)
    await place(api, shop_id, [known])
    batch = []
    for n in range(500):
        if n % 100 == 7:
            batch.append(order_input(f"E{n}", placed_at=placed_at, lines=[_line(quantity=0)]))
        elif n % 100 == 42:
            batch.append(known)  # a repeat
        elif n == 499:
            batch.append(known | {"currency": "EUR"})  # a changed repeat
        else:
            batch.append(order_input(f"E{n}", placed_at=placed_at))
    results = (await place(api, shop_id, batch))["results"]
    assert len(results) == 500
    kinds = [r["__typename"] for r in results]
    for n, kind in enumerate(kinds):
        if n % 100 == 7:
            assert (
                kind == "ValidationError"
                and results[n]["field"] == f"orders[{n}].lines[0].quantity"
            )
        elif n % 100 == 42:
            assert kind == "OrderPlaced" and results[n]["repeated"] is True
        elif n == 499:
            assert kind == "OrderConflictError" and results[n]["fields"] == ["currency"]
        else:
            assert kind == "OrderPlaced" and results[n]["externalId"] == f"E{n}"
    new = sum(1 for r in results if r["__typename"] == "OrderPlaced" and not r["repeated"])
    assert new == 500 - 5 - 5 - 1
    assert await db.orders.count_documents({"shop_id": shop_id}) == new + 1


async def test_a_stale_fulfilment_update_never_moves_the_order_back_and_is_recorded(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(days=3)
    [placed] = (await place(api, shop_id, [order_input("S-1", placed_at=t0)]))["results"]
    steps = [
        step("S-1", "HANDED_TO_CARRIER", t0 + timedelta(hours=5), carrier="UPS", trackingNumber="1Z"),
        step("S-1", "DELIVERED", t0 + timedelta(days=2)),
        step("S-1", "IN_TRANSIT", t0 + timedelta(days=1)),  # arrives late
    ]  # fmt: skip
    handed, delivered, late = (await update(api, shop_id, steps))["results"]
    assert handed["stage"] == "HANDED_TO_CARRIER"
    assert delivered["stage"] == "DELIVERED"
    assert late["__typename"] == "StaleUpdateError"
    assert (late["code"], late["field"], late["currentStage"]) == (
        "STALE_UPDATE",
        "updates[2].step",
        "DELIVERED",
    )
    # One at a time, the same answer.
    [again] = (await update(api, shop_id, [steps[2]]))["results"]
    assert again["__typename"] == "StaleUpdateError"
    order = await db.orders.find_one({"_id": placed["order"]["id"]})
    assert order is not None and order["fulfilment_state"] == "DELIVERED"
    timeline = await api(
        "query($id: ID!) { order(id: $id) { intakeTimeline { action outcome actorKind } } }",
        {"id": order["_id"]},
        seller(shop_id),
    )
    entries = timeline["order"]["intakeTimeline"]
    assert {e["actorKind"] for e in entries} == {"INTEGRATION"}
    outcomes = [(e["action"], e["outcome"]) for e in entries]
    assert outcomes == [
        ("PLACED", "PLACED"),
        ("HANDED_TO_CARRIER", "APPLIED"),
        ("DELIVERED", "APPLIED"),
        ("IN_TRANSIT", "STALE_UPDATE"),
        ("IN_TRANSIT", "STALE_UPDATE"),
    ]


async def test_a_late_payment_after_an_upstream_cancellation_is_stale(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    await place(api, shop_id, [order_input("P-1", placed_at=t0, paid=False)])
    cancelled, paid = (
        await update(
            api,
            shop_id,
            [
                step("P-1", "CANCELLED_UPSTREAM", t0 + timedelta(hours=2)),
                step("P-1", "PAID", t0 + timedelta(hours=1)),
            ],
        )
    )["results"]
    assert cancelled["order"]["fulfilmentState"] == "CANCELLED"
    assert cancelled["order"]["paymentState"] == "VOIDED"
    assert (paid["code"], paid["currentStage"]) == ("STALE_UPDATE", "CANCELLED")


async def test_a_repeated_step_is_a_no_op_and_another_shipment_is_a_conflict(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    await place(api, shop_id, [order_input("R-1", placed_at=t0)])
    hand = step(
        "R-1", "HANDED_TO_CARRIER", t0 + timedelta(hours=1), carrier="UPS", trackingNumber="1Z1"
    )
    first, again, other = (
        await update(api, shop_id, [hand, hand, hand | {"trackingNumber": "1Z2"}])
    )["results"]
    assert (first["repeated"], again["repeated"]) == (False, True)
    assert (other["code"], other["fields"]) == ("ORDER_CONFLICT", ["trackingNumber"])
    assert await db.events.count_documents({"shop_id": shop_id, "type": "ORDER"}) == 2


async def test_an_update_for_an_unknown_order_is_not_found(
    api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    [result] = (await update(api, shop_id, [step("NOPE", "PAID", clock.now())]))["results"]
    assert (result["code"], result["field"]) == ("NOT_FOUND", "updates[0].externalId")


async def test_a_delivery_reported_before_the_hand_over_passes_through_it(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(days=2)
    await place(api, shop_id, [order_input("D-1", placed_at=t0, paid=False)])
    delivered_at = t0 + timedelta(days=1)
    deliver = step("D-1", "DELIVERED", delivered_at, carrier="DHL", trackingNumber="JD1")
    [moved] = (await update(api, shop_id, [deliver]))["results"]
    assert (moved["stage"], moved["order"]["paymentState"]) == ("DELIVERED", "PAID")
    order = await db.orders.find_one({"shop_id": shop_id})
    assert order is not None and order["carrier"] == "DHL"
    assert order["delivered_at"] == delivered_at.replace(
        microsecond=order["delivered_at"].microsecond
    )
    without = step("D-1", "HANDED_TO_CARRIER", delivered_at)
    [stale] = (await update(api, shop_id, [without]))["results"]
    assert stale["code"] == "STALE_UPDATE"


# ---- the existing rules on orders the intake fed ------------------------------------------


REQUEST_CANCEL = """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND})
  { __typename ... on UserError { code } } }"""
REQUEST_REFUND = """mutation($i: RequestAfterSaleInput!) { requestAfterSale(input: $i)
  { __typename ... on UserError { code } } }"""


async def test_c3_a_buyer_cannot_cancel_an_order_the_intake_handed_to_the_carrier(
    api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(hours=5)
    [placed] = (await place(api, shop_id, [order_input("C-1", placed_at=t0)]))["results"]
    hand = step(
        "C-1", "HANDED_TO_CARRIER", t0 + timedelta(hours=1), carrier="UPS", trackingNumber="1Z"
    )
    await update(api, shop_id, [hand])
    refused = await api(REQUEST_CANCEL, {"o": placed["order"]["id"]}, buyer("buyer-1"))
    assert refused["requestCancellation"]["code"] == "ORDER_IN_TRANSIT"


@pytest.mark.parametrize(("days_ago", "answer"), [(2, "AfterSale"), (20, "WINDOW_PASSED")])
async def test_r1_the_refund_window_runs_from_the_delivery_the_intake_reported(
    days_ago: int, answer: str, api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(days=days_ago + 3)
    ext = f"W-{days_ago}"
    [placed] = (await place(api, shop_id, [order_input(ext, placed_at=t0)]))["results"]
    delivered = clock.now() - timedelta(days=days_ago)
    deliver = step(ext, "DELIVERED", delivered, carrier="UPS", trackingNumber="1Z")
    await update(api, shop_id, [deliver])
    order = placed["order"]["id"]
    ask = {"orderId": order, "kind": "REFUND_ONLY", "reason": "DAMAGED",
           "lines": [{"lineId": "l1", "quantity": 1}]}  # fmt: skip
    result = (await api(REQUEST_REFUND, {"i": ask}, buyer("buyer-1")))["requestAfterSale"]
    assert result.get("code", result["__typename"]) == answer


async def test_an_upstream_cancellation_refunds_a_paid_order_and_waits_for_an_open_request(
    api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(hours=5)  # past the 1-hour window: a request waits (C2)
    [_, b] = (
        await place(
            api,
            shop_id,
            [order_input("U-1", placed_at=t0), order_input("U-2", placed_at=t0)],
        )
    )["results"]
    await api(REQUEST_CANCEL, {"o": b["order"]["id"]}, buyer("buyer-1"))
    at = clock.now() - timedelta(minutes=1)
    cancelled, waiting = (
        await update(
            api,
            shop_id,
            [step("U-1", "CANCELLED_UPSTREAM", at), step("U-2", "CANCELLED_UPSTREAM", at)],
        )
    )["results"]
    assert cancelled["order"]["fulfilmentState"] == "CANCELLED"
    assert cancelled["order"]["refunded"] == {"minorUnits": 2 * 1250 + 499}
    assert (waiting["code"], waiting["currentState"]) == ("INVALID_STATE", "CANCELLATION_PENDING")


async def test_an_upstream_cancellation_after_the_hand_over_is_refused_as_c3(
    api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(hours=5)
    await place(api, shop_id, [order_input("U-3", placed_at=t0)])
    hand = step(
        "U-3", "HANDED_TO_CARRIER", t0 + timedelta(hours=1), carrier="UPS", trackingNumber="1Z"
    )
    _, refused = (
        await update(api, shop_id, [hand, step("U-3", "CANCELLED_UPSTREAM", clock.now())])
    )["results"]
    assert (refused["code"], refused["fulfilmentState"]) == ("ORDER_IN_TRANSIT", "IN_TRANSIT")


async def test_the_platforms_record_delivery_goes_through_the_intake_handler(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    t0 = clock.now() - timedelta(hours=5)
    [placed] = (await place(api, shop_id, [order_input("M-1", placed_at=t0)]))["results"]
    order_id = placed["order"]["id"]
    shipped = await api(
        'mutation($o: ID!) { handToCarrier(input: {orderId: $o, carrier: "UPS", trackingNumber: "1Z"}) { __typename } }',
        {"o": order_id},
        seller(shop_id),
    )
    assert shipped["handToCarrier"]["__typename"] == "Order"
    await api(
        "mutation($o: ID!) { recordDelivery(input: {orderId: $o}) { __typename } }",
        {"o": order_id},
        PLATFORM,
    )
    record = await db.db["order_records"].find_one({"_id": order_id})
    assert record is not None and record["stage"] == "DELIVERED"
    actions = [
        e["action"] for e in await db.events.find({"shop_id": shop_id}).sort("seq").to_list(None)
    ]
    assert actions == ["PLACED", "HANDED_TO_CARRIER", "DELIVERED"]
    # The intake then knows the order is delivered: a late hand-over is stale.
    late = step("M-1", "IN_TRANSIT", t0 + timedelta(hours=1))
    [stale] = (await update(api, shop_id, [late]))["results"]
    assert stale["code"] == "STALE_UPDATE"


# ---- who may feed a shop ------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["another shop's integration", "the shop's buyer", "the shop's agent", "the platform"]
)
async def test_only_the_shops_integration_may_feed_it(
    who: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    caller = {
        "another shop's integration": integration("shop-elsewhere"),
        "the shop's buyer": buyer("buyer-1"),
        "the shop's agent": seller(shop_id),
        "the platform": PLATFORM,
    }[who]
    t0 = clock.now() - timedelta(hours=1)
    await place(api, shop_id, [order_input("F-1", placed_at=t0)])
    placed = await place(api, shop_id, [order_input("F-2", placed_at=t0)], caller)
    moved = await update(api, shop_id, [step("F-1", "HANDED_TO_CARRIER", t0, carrier="UPS",
                                             trackingNumber="1Z")], caller)  # fmt: skip
    assert (placed["__typename"], placed["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert (moved["__typename"], moved["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert await db.orders.count_documents({"shop_id": shop_id}) == 1
    order = await db.orders.find_one({"shop_id": shop_id})
    assert order is not None and order["fulfilment_state"] == "AWAITING_SHIPMENT"


async def test_an_integration_reads_nothing_of_its_shop(
    api: GraphQLClient, clock: SettableClock, shop_id: str
) -> None:
    [placed] = (await place(api, shop_id, [order_input(placed_at=clock.now())]))["results"]
    body = await api.raw(
        "query($id: ID!) { order(id: $id) { id } }",
        {"id": placed["order"]["id"]},
        integration(shop_id),
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_token_command_mints_an_integration_token_for_one_shop() -> None:
    args = _parser().parse_args(["--integration", "shop-9", "--system", "tts-orders"])
    actor = actor_from_args(args)
    token = mint_token(actor, "x" * 40)
    again = actor_from_token(token, "x" * 40)
    assert (again.kind, again.id, again.shop_id) == (ActorKind.INTEGRATION, "tts-orders", "shop-9")

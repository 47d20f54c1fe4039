"""C10 through the public GraphQL API, against the real database server: the seller cancels some
lines and quantities of an order; those units are refunded and the rest of the order goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from models.clock import SettableClock
from models.orders import FulfilmentState, Order, PaymentMethod
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.after_sale_api import ask, mutate
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller
from tests.support.live import EVENTS, Client, serving

CANCEL_LINES = """
mutation($input: CancelOrderLinesInput!) {
  cancelOrderLines(input: $input) {
    __typename
    ... on Cancellation {
      id status tab initiator reason { code displayText } note resolvedAt
      lines { lineId quantity }
      refund { items { minorUnits } shipping { minorUnits } total { minorUnits } }
      timeline { action actorKind actorId fromStatus toStatus reason { code } comment }
      order {
        fulfilmentState paymentState refunded { minorUnits } amountDue { minorUnits }
        cancelledLines {
          lineId quantity cancellationId reason { code } actorKind actorId at
          refunded { minorUnits }
        }
      }
    }
    ... on UnitsNotAvailableError { lineId available }
    ... on OrderNotCancellableError { fulfilmentState }
    ... on InvalidStateError { currentState }
    ... on UserError { code message field }
  }
}"""

LEDGER = """query($o: ID!) { refundLedger(orderId: $o) {
  refunded { minorUnits } refundable { minorUnits }
  entries { source sourceId total { minorUnits } lines { lineId amount { minorUnits } } } } }"""

NOTIFICATIONS = "{ notifications { edges { node { kind requestId message } } } }"


async def _three_lines(db: Database, clock: SettableClock, shop_id: str, **kw: Any) -> Order:
    """25.00 x 1, 10.00 x 2, 7.00 x 3, shipping 4.99: placed two hours ago, awaiting shipment."""
    return await place_order(
        db,
        shop_id,
        new_buyer_id(),
        clock.now() - timedelta(hours=2),
        prices=(2500, 1000, 700),
        **kw,
    )


async def _cancel(
    api: GraphQLClient, order: Order, lines: list[tuple[str, int]], actor: str, **extra: Any
) -> dict[str, Any]:
    given = [{"lineId": line_id, "quantity": q} for line_id, q in lines]
    payload = {"orderId": order.id, "lines": given, "reason": "OUT_OF_STOCK", **extra}
    return (await api(CANCEL_LINES, {"input": payload}, actor))["cancelOrderLines"]


async def test_c10_seller_cancels_two_of_three_units(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await _three_lines(db, clock, shop_id)
    third = order.lines[2].line_id

    result = await _cancel(
        api, order, [(third, 2)], seller(shop_id), comment="Two jars broke in the warehouse"
    )

    assert result["__typename"] == "Cancellation", result
    assert (result["status"], result["tab"], result["initiator"]) == (
        "CANCELLED",
        "COMPLETED",
        "SELLER",
    )
    assert result["lines"] == [{"lineId": third, "quantity": 2}]
    # Those two units, 7.00 each; the shipping stays paid while the rest of the order goes on.
    assert result["refund"] == {
        "items": {"minorUnits": 1400},
        "shipping": {"minorUnits": 0},
        "total": {"minorUnits": 1400},
    }
    [record] = result["timeline"]
    assert (record["action"], record["actorKind"], record["actorId"]) == (
        "SELLER_CANCEL_LINES",
        "SELLER_AGENT",
        "agent-7",
    )
    assert record["comment"] == "Two jars broke in the warehouse"
    o = result["order"]
    assert (o["fulfilmentState"], o["paymentState"]) == ("AWAITING_SHIPMENT", "PAID")
    assert o["refunded"] == {"minorUnits": 1400}
    [cancelled] = o["cancelledLines"]
    assert cancelled["lineId"] == third and cancelled["quantity"] == 2
    assert cancelled["cancellationId"] == result["id"]
    assert cancelled["reason"] == {"code": "OUT_OF_STOCK"}
    assert (cancelled["actorKind"], cancelled["actorId"]) == ("SELLER_AGENT", "agent-7")
    assert cancelled["at"] == result["resolvedAt"]
    assert cancelled["refunded"] == {"minorUnits": 1400}
    # The refund ledger, as always: one cancellation entry on that line.
    b = buyer(order.buyer_id)
    ledger = (await api(LEDGER, {"o": order.id}, b))["refundLedger"]
    [entry] = ledger["entries"]
    assert (entry["source"], entry["sourceId"], entry["total"]) == (
        "CANCELLATION",
        result["id"],
        {"minorUnits": 1400},
    )
    assert ledger["refundable"] == {"minorUnits": 2500 + 2000 + 700 + 499}
    [note] = [e["node"] for e in (await api(NOTIFICATIONS, actor=b))["notifications"]["edges"]]
    assert note["kind"] == "ORDER_CANCELLED" and note["requestId"] == result["id"]
    assert "14.00 USD" in note["message"] and "goes on" in note["message"]
    # As for the seller's whole cancel (C7), the agent who did it needs no ticket.
    ticket = "query($id: ID!) { requestTicket(requestId: $id) { id } }"
    assert (await api(ticket, {"id": result["id"]}, seller(shop_id)))["requestTicket"] is None


async def test_c10_the_rest_of_the_order_ships_and_can_be_cancelled_later(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await _three_lines(db, clock, shop_id)
    first = await _cancel(api, order, [(order.lines[1].line_id, 1)], seller(shop_id))
    assert first["__typename"] == "Cancellation"

    # A later whole-order cancel refunds only what was not refunded yet, shipping included.
    whole = (
        await api(
            """mutation($o: ID!) { cancelOrder(input: {orderId: $o, reason: PRICING_ERROR}) {
              __typename ... on Cancellation { refund { total { minorUnits } }
                order { refunded { minorUnits } paymentState } } } }""",
            {"o": order.id},
            seller(shop_id),
        )
    )["cancelOrder"]

    assert whole["refund"]["total"] == {"minorUnits": 2500 + 2000 + 2100 + 499 - 1000}
    assert whole["order"] == {"refunded": {"minorUnits": 7099}, "paymentState": "REFUNDED"}
    ledger = (await api(LEDGER, {"o": order.id}, seller(shop_id)))["refundLedger"]
    assert ledger["refundable"] == {"minorUnits": 0}
    assert [e["total"]["minorUnits"] for e in ledger["entries"]] == [1000, 6099]


async def test_c10_cancelling_every_unit_left_is_a_whole_order_cancel(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await place_order(
        db, shop_id, new_buyer_id(), clock.now() - timedelta(hours=2), prices=(2500, 1000)
    )
    one, two = (line.line_id for line in order.lines)
    await _cancel(api, order, [(two, 1)], seller(shop_id))

    result = await _cancel(api, order, [(one, 1), (two, 1)], seller(shop_id))

    assert [r["action"] for r in result["timeline"]] == ["SELLER_CANCEL"]
    assert result["lines"] == [{"lineId": one, "quantity": 1}, {"lineId": two, "quantity": 1}]
    # What was left of the items, and now the shipping too.
    assert result["refund"]["total"] == {"minorUnits": 2500 + 1000 + 499}
    assert result["order"]["fulfilmentState"] == "CANCELLED"
    assert result["order"]["refunded"] == {"minorUnits": 4999}


async def test_c10_units_cancelled_before_payment_are_never_paid_for(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await _three_lines(db, clock, shop_id, method=PaymentMethod.CASH_ON_DELIVERY)

    result = await _cancel(api, order, [(order.lines[0].line_id, 1)], seller(shop_id))

    assert result["refund"]["total"] == {"minorUnits": 0}
    assert result["order"]["cancelledLines"][0]["refunded"] == {"minorUnits": 0}
    # What the buyer pays on delivery leaves the cancelled unit out.
    assert result["order"]["amountDue"] == {"minorUnits": 2000 + 2100 + 499}


async def test_c10_refusals_are_typed_and_name_the_field(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await _three_lines(db, clock, shop_id)
    one, two, three = (line.line_id for line in order.lines)
    await _cancel(api, order, [(three, 2)], seller(shop_id))
    me = seller(shop_id)

    unknown = await _cancel(api, order, [(two, 1), ("no-such-line", 1)], me)
    assert (unknown["__typename"], unknown["code"], unknown["field"]) == (
        "ValidationError",
        "VALIDATION_FAILED",
        "lines[1].lineId",
    )
    over = await _cancel(api, order, [(three, 2)], me)  # one of three is left
    assert (over["__typename"], over["code"], over["field"]) == (
        "UnitsNotAvailableError",
        "QUANTITY_USED_UP",
        "lines[0].quantity",
    )
    assert (over["lineId"], over["available"]) == (three, 1)
    for quantity in (0, -1):
        bad = await _cancel(api, order, [(one, quantity)], me)
        assert (bad["code"], bad["field"]) == ("VALIDATION_FAILED", "lines[0].quantity")
    twice = await _cancel(api, order, [(one, 1), (one, 1)], me)
    assert (twice["code"], twice["field"]) == ("VALIDATION_FAILED", "lines[1].lineId")
    none = await _cancel(api, order, [], me)
    assert (none["code"], none["field"]) == ("VALIDATION_FAILED", "lines")
    reader = await _cancel(api, order, [(one, 1)], seller(shop_id, adjust=False))
    assert reader["code"] == "FORBIDDEN"
    # Nothing of the refusals was written: still the one cancel of two units.
    ledger = (await api(LEDGER, {"o": order.id}, me))["refundLedger"]
    assert [e["total"]["minorUnits"] for e in ledger["entries"]] == [1400]


async def test_c10_not_once_the_order_is_with_the_carrier(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    shipped = await _three_lines(db, clock, shop_id, state=FulfilmentState.IN_TRANSIT)

    result = await _cancel(api, shipped, [(shipped.lines[0].line_id, 1)], seller(shop_id))

    assert (result["__typename"], result["code"], result["fulfilmentState"]) == (
        "OrderNotCancellableError",
        "ORDER_IN_TRANSIT",
        "IN_TRANSIT",
    )
    assert result["field"] == "orderId"


async def test_c10_a_buyers_waiting_request_is_answered_first(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await _three_lines(db, clock, shop_id)
    asked = await api(
        """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
          __typename ... on Cancellation { status } } }""",
        {"o": order.id},
        buyer(order.buyer_id),
    )
    assert asked["requestCancellation"]["status"] == "PENDING"

    result = await _cancel(api, order, [(order.lines[0].line_id, 1)], seller(shop_id))

    assert (result["__typename"], result["currentState"]) == (
        "InvalidStateError",
        "CANCELLATION_PENDING",
    )


async def test_c10_later_after_sale_requests_leave_the_cancelled_units_out(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await _three_lines(db, clock, shop_id)
    await _cancel(api, order, [(order.lines[1].line_id, 1)], seller(shop_id))
    await api(
        """mutation($o: ID!) { handToCarrier(input: {orderId: $o, carrier: "UPS",
           trackingNumber: "1Z9"}) { __typename } }""",
        {"o": order.id},
        seller(shop_id),
    )
    await api(
        "mutation($o: ID!) { recordDelivery(input: {orderId: $o}) { __typename } }",
        {"o": order.id},
        PLATFORM,
    )

    b = buyer(order.buyer_id)
    too_many = await mutate(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 2}), b
    )
    assert (too_many["__typename"], too_many["code"]) == (
        "AfterSaleRefusedError",
        "QUANTITY_USED_UP",
    )
    one = await mutate(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {1: 1}), b)
    assert one["__typename"] == "AfterSale"


@pytest.fixture
async def url(services: Services) -> AsyncIterator[str]:
    async with serving(services) as ws_url:
        yield ws_url


async def test_c10_the_live_feed_and_the_tab_counts_see_a_line_cancel(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await _three_lines(db, clock, shop_id)
    counts = "{ cancellationTabCounts { tab count } }"
    before = {
        c["tab"]: c["count"]
        for c in (await api(counts, actor=seller(shop_id)))["cancellationTabCounts"]
    }
    async with Client.connect(url, seller(shop_id, adjust=False)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)  # let the subscription start before the change
        done = await _cancel(api, order, [(order.lines[0].line_id, 1)], seller(shop_id))
        [event] = await ws.take(1)

    assert event["requestId"] == done["id"]
    assert event["change"]["action"] == "SELLER_CANCEL_LINES"
    assert (event["change"]["toStatus"], event["change"]["toTab"]) == ("CANCELLED", "COMPLETED")
    assert event["cancellation"] == {"id": done["id"], "status": "CANCELLED", "tab": "COMPLETED"}
    after = {
        c["tab"]: c["count"]
        for c in (await api(counts, actor=seller(shop_id)))["cancellationTabCounts"]
    }
    assert after["COMPLETED"] == before["COMPLETED"] + 1
    assert after["ALL"] == before["ALL"] + 1

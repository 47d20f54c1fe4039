"""Refunds out, settlements in, through the API: a refund the domain decides is instructed to
the shop's payment integration and pending until it reports the money moved (or failed); a
report is idempotent on the refund id; another shop's refund is answered as an unknown one; a
shop with no payment integration has its refunds settled by the platform in the deciding write;
a deciding write that fails leaves no refund and no instruction behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from models.clock import SettableClock
from models.events import RefundEvent
from storage import events as event_log
from storage import refunds as refund_store
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, ok
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller
from tests.support.refund_api import ACCEPT, REFUND, REGISTER, REQUEST, SETTLE, payments

VIEW = f"""
query($id: ID!) {{
  cancellation(id: $id) {{ status tab refundSettlement {{ {REFUND} }} }}
  cancellationTabCounts {{ tab count }}
}}"""

PLAIN_VIEW = """
query($id: ID!) {
  cancellation(id: $id) { status tab order { fulfilmentState refunded { minorUnits } } }
  cancellationTabCounts { tab count }
}"""

PENDING_REFUNDS = "query($s: RefundState) { refunds(state: $s) { id state } }"


async def _integrated(api: GraphQLClient, shop_id: str) -> None:
    done = (await api(REGISTER, {"shop": shop_id}, payments(shop_id)))["registerPaymentIntegration"]
    assert done == {
        "__typename": "PaymentIntegration",
        "shopId": shop_id,
        "newlyRegistered": True,
    }


async def _accepted(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> dict[str, Any]:
    """A cancellation the seller accepted: its order paid 49.99, all of it refunded."""
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
    c = (await api(REQUEST, {"order": order.id}, buyer(buyer_id)))["requestCancellation"]
    accepted = (await api(ACCEPT, {"id": c["id"]}, seller(shop_id)))["acceptCancellation"]
    assert accepted["__typename"] == "Cancellation", accepted
    return accepted


def _settlement(refund_id: str, clock: SettableClock, **more: Any) -> dict[str, Any]:
    return {"refundId": refund_id, "outcome": "SETTLED", "at": clock.now().isoformat()} | more


async def _settle(
    api: GraphQLClient, shop_id: str, settlements: list[dict[str, Any]], actor: str | None = None
) -> dict[str, Any]:
    return (await api(SETTLE, {"shop": shop_id, "s": settlements}, actor or payments(shop_id)))[
        "settleRefunds"
    ]


async def _refund_events(db: Database, shop_id: str) -> list[tuple[str, str]]:
    stored = await event_log.after(db, shop_id, 0, 1000)
    return [(s.event.refund_id, s.event.action) for s in stored if isinstance(s.event, RefundEvent)]


async def test_a_decided_refund_is_pending_until_the_payment_system_settles_it(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _integrated(api, shop_id)
    accepted = await _accepted(api, db, clock, shop_id)
    pending = accepted["refundSettlement"]
    assert (accepted["status"], accepted["tab"]) == ("CANCELLED", "COMPLETED")
    assert (pending["state"], pending["settledBy"], pending["requestKind"]) == (
        "INSTRUCTED",
        None,
        "CANCELLATION",
    )
    assert pending["amount"] == {"minorUnits": 4999, "currency": "USD"}
    assert [(li["quantity"], li["amount"]["minorUnits"]) for li in pending["lines"]] == [
        (1, 2500),
        (2, 2000),
    ]
    assert pending["requestId"] == accepted["id"] and pending["nextStep"]
    before = await api(VIEW, {"id": accepted["id"]}, seller(shop_id))
    waiting = await api(PENDING_REFUNDS, {"s": "INSTRUCTED"}, seller(shop_id))
    assert waiting["refunds"] == [{"id": pending["id"], "state": "INSTRUCTED"}]

    clock.advance(timedelta(minutes=5))
    result = await _settle(api, shop_id, [_settlement(pending["id"], clock, reference="pay_1")])

    [settled] = result["results"]
    assert settled["__typename"] == "RefundSettled" and settled["repeated"] is False
    after = await api(VIEW, {"id": accepted["id"]}, seller(shop_id))
    assert after["cancellation"]["refundSettlement"]["state"] == "SETTLED"
    assert after["cancellation"]["refundSettlement"]["settledBy"] == "PAYMENT_SYSTEM"
    assert after["cancellation"]["refundSettlement"]["reference"] == "pay_1"
    assert after["cancellation"]["refundSettlement"]["nextStep"] is None
    # The request's tab is the seller's work, decided before the money moved: no tab moves.
    assert (after["cancellation"]["status"], after["cancellation"]["tab"]) == (
        "CANCELLED",
        "COMPLETED",
    )
    assert after["cancellationTabCounts"] == before["cancellationTabCounts"]
    assert (await api(PENDING_REFUNDS, {"s": "INSTRUCTED"}, seller(shop_id)))["refunds"] == []
    assert await _refund_events(db, shop_id) == [
        (pending["id"], "INSTRUCTED"),
        (pending["id"], "SETTLED"),
    ]


async def test_an_after_sale_refund_is_instructed_with_its_lines(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _integrated(api, shop_id)
    order = await delivered_order(db, clock, shop_id)
    asked = await ok(
        api,
        "requestAfterSale",
        ask(order, "REFUND_ONLY", "DAMAGED", {1: 1}),
        buyer(order.buyer_id),
    )
    done = await ok(
        api,
        "approveAfterSale",
        {"requestId": asked["id"], "decision": "APPROVE_REFUND"},
        seller(shop_id),
    )

    assert done["status"] == "REFUNDED"
    [refund] = await refund_store.in_shop(db, shop_id, None, 10)
    assert (refund.request_id, refund.state.value, refund.amount.minor) == (
        asked["id"],
        "INSTRUCTED",
        1000,
    )
    assert [(li.line_id, li.quantity, li.amount.minor) for li in refund.lines] == [
        (order.lines[1].line_id, 1, 1000)
    ]
    assert await _refund_events(db, shop_id) == [(refund.id, "INSTRUCTED")]


async def test_a_repeated_settlement_is_a_no_op_returning_the_stored_answer(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _integrated(api, shop_id)
    refund_id = (await _accepted(api, db, clock, shop_id))["refundSettlement"]["id"]
    report = _settlement(refund_id, clock, reference="pay_2")
    first = (await _settle(api, shop_id, [report]))["results"][0]
    clock.advance(timedelta(minutes=1))

    again = (await _settle(api, shop_id, [report]))["results"][0]

    assert again["repeated"] is True
    assert again["refund"] == first["refund"]
    assert await _refund_events(db, shop_id) == [(refund_id, "INSTRUCTED"), (refund_id, "SETTLED")]


@pytest.mark.parametrize(
    "changed",
    [
        {"reference": "pay_other"},
        {"outcome": "FAILED", "failureReason": "card closed"},
    ],
)
async def test_a_changed_repeat_is_a_refund_conflict_and_writes_nothing(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str, changed: dict[str, Any]
) -> None:
    await _integrated(api, shop_id)
    refund_id = (await _accepted(api, db, clock, shop_id))["refundSettlement"]["id"]
    await _settle(api, shop_id, [_settlement(refund_id, clock, reference="pay_3")])

    result = (await _settle(api, shop_id, [_settlement(refund_id, clock, **changed)]))["results"]

    assert result == [
        {
            "__typename": "RefundConflictError",
            "code": "REFUND_CONFLICT",
            "message": f"refund {refund_id} was reported SETTLED before, otherwise",
            "field": "settlements[0].outcome",
            "refundId": refund_id,
            "state": "SETTLED",
        }
    ]
    [stored] = (await refund_store.get_many(db, [refund_id])).values()
    assert (stored.state.value, stored.reference) == ("SETTLED", "pay_3")


async def test_an_unknown_refund_and_another_shops_refund_are_both_not_found(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    other_shop = f"{shop_id}-other"
    await _integrated(api, other_shop)
    theirs = (await _accepted(api, db, clock, other_shop))["refundSettlement"]["id"]

    result = await _settle(
        api,
        shop_id,
        [_settlement("rfd_can_nosuch", clock), _settlement(theirs, clock)],
    )

    assert [(r["__typename"], r["code"], r["field"]) for r in result["results"]] == [
        ("NotFoundError", "NOT_FOUND", "settlements[0].refundId"),
        ("NotFoundError", "NOT_FOUND", "settlements[1].refundId"),
    ]
    assert [r["message"] for r in result["results"]] == [
        "no refund rfd_can_nosuch",
        f"no refund {theirs}",
    ]
    [stored] = (await refund_store.get_many(db, [theirs])).values()
    assert stored.state.value == "INSTRUCTED"


async def test_a_failed_refund_says_why_and_what_next_then_settles_when_the_retry_pays(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _integrated(api, shop_id)
    accepted = await _accepted(api, db, clock, shop_id)
    refund_id = accepted["refundSettlement"]["id"]

    failed = await _settle(
        api,
        shop_id,
        [_settlement(refund_id, clock, outcome="FAILED", failureReason="card closed")],
    )
    shown = await api(VIEW, {"id": accepted["id"]}, seller(shop_id))
    clock.advance(timedelta(hours=1))
    retried = await _settle(api, shop_id, [_settlement(refund_id, clock, reference="pay_4")])

    refund = failed["results"][0]["refund"]
    assert (refund["state"], refund["failureReason"]) == ("FAILED", "card closed")
    assert "retries" in refund["nextStep"]
    assert shown["cancellation"]["refundSettlement"]["state"] == "FAILED"
    assert retried["results"][0]["refund"]["state"] == "SETTLED"
    assert await _refund_events(db, shop_id) == [
        (refund_id, "INSTRUCTED"),
        (refund_id, "FAILED"),
        (refund_id, "SETTLED"),
    ]


async def test_a_shop_without_a_payment_integration_is_settled_by_the_platform_at_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    accepted = await _accepted(api, db, clock, shop_id)

    refund = accepted["refundSettlement"]
    assert (refund["state"], refund["settledBy"]) == ("SETTLED", "PLATFORM")
    assert refund["amount"]["minorUnits"] == 4999
    assert await _refund_events(db, shop_id) == []


async def test_only_the_shops_integration_registers_once_and_reports_settlements(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _integrated(api, shop_id)
    refund_id = (await _accepted(api, db, clock, shop_id))["refundSettlement"]["id"]
    report = [_settlement(refund_id, clock)]

    again = await api(REGISTER, {"shop": shop_id}, payments(shop_id))
    assert again["registerPaymentIntegration"]["newlyRegistered"] is False
    for actor in (seller(shop_id), PLATFORM, payments("shop-elsewhere")):
        assert (await _settle(api, shop_id, report, actor))["code"] == "FORBIDDEN"
        registered = await api(REGISTER, {"shop": shop_id}, actor)
        assert registered["registerPaymentIntegration"]["code"] == "FORBIDDEN"
    [stored] = (await refund_store.get_many(db, [refund_id])).values()
    assert stored.state.value == "INSTRUCTED"


async def test_a_failed_settlement_needs_a_reason_and_a_settled_one_has_none(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _integrated(api, shop_id)
    refund_id = (await _accepted(api, db, clock, shop_id))["refundSettlement"]["id"]

    result = await _settle(
        api,
        shop_id,
        [
            _settlement(refund_id, clock, outcome="FAILED"),
            _settlement(refund_id, clock, failureReason="why"),
        ],
    )

    assert [(r["code"], r["field"]) for r in result["results"]] == [
        ("VALIDATION_FAILED", "settlements[0].failureReason"),
        ("VALIDATION_FAILED", "settlements[1].failureReason"),
    ]
    assert await _refund_events(db, shop_id) == [(refund_id, "INSTRUCTED")]


async def test_a_deciding_write_that_fails_leaves_no_refund_instruction_or_move(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _integrated(api, shop_id)
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
    c = (await api(REQUEST, {"order": order.id}, buyer(buyer_id)))["requestCancellation"]
    # A stray event already holds the shop's next number: the deciding write's event insert,
    # its last before the commit, is refused by the database after the request (its refund in
    # it) and its order were written in the transaction. (Removed after: the deadline worker's
    # tests share this database and would meet it when they accept the overdue request.)
    head = await event_log.head(db, shop_id)
    last = await db.events.find_one({"shop_id": shop_id}, sort=[("seq", -1)])
    stray = {**last, "_id": f"evt_stray_{c['id']}", "seq": head + 1}
    await db.events.insert_one(stray)
    try:
        before = await api(PLAIN_VIEW, {"id": c["id"]}, seller(shop_id))
        events_before = await event_log.head(db, shop_id)

        body = await api.raw(ACCEPT, {"id": c["id"]}, seller(shop_id))

        assert body.get("errors"), body
        after = await api(PLAIN_VIEW, {"id": c["id"]}, seller(shop_id))
        assert after == before
        assert after["cancellation"]["status"] == "PENDING"
        assert after["cancellation"]["order"]["fulfilmentState"] != "CANCELLED"
        assert await event_log.head(db, shop_id) == events_before
        assert await refund_store.get_many(db, [f"rfd_{c['id']}"]) == {}
    finally:
        await db.events.delete_one({"_id": stray["_id"]})

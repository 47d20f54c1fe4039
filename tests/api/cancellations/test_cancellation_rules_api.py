"""C1-C9 through the public GraphQL API, against the real database server."""

from __future__ import annotations

from datetime import timedelta

from models.actors import EXPIRY_WORKER
from models.clock import SettableClock
from models.orders import FulfilmentState, PaymentMethod
from services.bootstrap import Services
from storage import orders as order_store
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

CANCELLATION = """
  id status tab initiator orderId respondBy resolvedAt
  reason { code displayText }
  rejection { reason { code displayText } comment }
  refund { items { amount minorUnits currency } shipping { minorUnits } total { minorUnits } }
  timeline { actorKind actorId action fromStatus toStatus reason { code } comment deadline }
  nextAction { actorKind action dueAt }
  order { fulfilmentState paymentState refunded { minorUnits } }
"""

ERROR = "... on UserError { __typename code message field }"

REQUEST = f"""
mutation($order: ID!, $reason: BuyerCancelReason!, $note: String) {{
  requestCancellation(input: {{orderId: $order, reason: $reason, note: $note}}) {{
    __typename ... on Cancellation {{ {CANCELLATION} }}
    ... on OrderNotCancellableError {{ fulfilmentState }}
    ... on AlreadyRequestedError {{ existingCancellationId }}
    {ERROR}
  }}
}}"""

ACCEPT = f"""
mutation($id: ID!) {{
  acceptCancellation(input: {{cancellationId: $id}}) {{
    __typename ... on Cancellation {{ {CANCELLATION} }}
    ... on NotPendingError {{ currentStatus }}
    ... on ResponseWindowClosedError {{ closedAt }}
    {ERROR}
  }}
}}"""

REJECT = f"""
mutation($id: ID!, $reason: CancellationRejectReason!, $comment: String) {{
  rejectCancellation(input: {{cancellationId: $id, reason: $reason, comment: $comment}}) {{
    __typename ... on Cancellation {{ {CANCELLATION} }}
    ... on NotPendingError {{ currentStatus }}
    {ERROR}
  }}
}}"""

SELLER_CANCEL = f"""
mutation($order: ID!, $reason: SellerCancelReason!, $comment: String) {{
  cancelOrder(input: {{orderId: $order, reason: $reason, comment: $comment}}) {{
    __typename ... on Cancellation {{ {CANCELLATION} }}
    ... on OrderNotCancellableError {{ fulfilmentState }}
    {ERROR}
  }}
}}"""

SYSTEM_CANCEL = f"""
mutation($order: ID!) {{
  cancelUnpaidOrder(input: {{orderId: $order}}) {{
    __typename ... on Cancellation {{ {CANCELLATION} }}
    ... on PaymentWindowOpenError {{ paymentDueAt }}
    {ERROR}
  }}
}}"""

NOTIFICATIONS = "{ notifications { edges { node { kind orderId requestId message } } } }"
ORDER_VIEW = """
query($id: ID!) { order(id: $id) {
  fulfilmentState paymentState cancelledAt
  cancellations { id status }
  cancellationEligibility { allowed atOnce code }
} }"""


async def _request(api: GraphQLClient, order_id: str, buyer_id: str) -> dict:
    data = await api(REQUEST, {"order": order_id, "reason": "CHANGED_MIND"}, buyer(buyer_id))
    return data["requestCancellation"]


async def test_c1_buyer_cancels_at_once_inside_unconditional_window(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(minutes=59))

    result = await _request(api, order.id, buyer_id)

    assert result["__typename"] == "Cancellation"
    assert (result["status"], result["tab"], result["initiator"]) == (
        "CANCELLED",
        "COMPLETED",
        "BUYER",
    )
    assert result["nextAction"] is None
    # Full refund of a prepaid order: items (25.00 + 2 x 10.00) and shipping (4.99).
    assert result["refund"]["items"]["amount"] == "45.00"
    assert result["refund"]["total"]["minorUnits"] == 4500 + 499
    assert result["order"]["fulfilmentState"] == "CANCELLED"
    assert result["order"]["paymentState"] == "REFUNDED"
    assert [r["action"] for r in result["timeline"]] == ["CANCEL_AT_ONCE"]


async def test_c1_cash_on_delivery_cancels_at_once_with_nothing_to_refund(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(
        db, shop_id, buyer_id, clock.now(), method=PaymentMethod.CASH_ON_DELIVERY
    )

    result = await _request(api, order.id, buyer_id)

    assert result["status"] == "CANCELLED"
    assert result["refund"]["total"]["minorUnits"] == 0
    assert result["order"]["paymentState"] == "VOIDED"


async def test_c1_window_comes_from_the_category_policy(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    from models.policy import CategoryPolicy
    from storage import policies

    category = f"cat-{shop_id}"
    await policies.put(
        db, category, CategoryPolicy(unconditional_cancel_window=timedelta(minutes=10))
    )
    buyer_id = new_buyer_id()
    order = await place_order(
        db, shop_id, buyer_id, clock.now() - timedelta(minutes=11), category=category
    )

    result = await _request(api, order.id, buyer_id)

    assert result["status"] == "PENDING"


async def test_c2_after_window_becomes_request_waiting_for_seller(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=1))

    result = await _request(api, order.id, buyer_id)

    assert (result["status"], result["tab"]) == ("PENDING", "TO_PROCEED")
    due = clock.now() + timedelta(hours=48)
    assert result["respondBy"].startswith(due.isoformat()[:19])
    assert result["nextAction"]["actorKind"] == "SELLER_AGENT"
    assert result["refund"] is None
    assert result["order"]["fulfilmentState"] == "AWAITING_SHIPMENT"
    view = await api(NOTIFICATIONS, actor=seller(shop_id))
    kinds = [e["node"]["kind"] for e in view["notifications"]["edges"]]
    assert kinds == ["CANCELLATION_REQUESTED"]


async def test_c2_a_second_request_while_one_waits_is_refused(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=3))
    first = await _request(api, order.id, buyer_id)

    second = await _request(api, order.id, buyer_id)

    assert second["__typename"] == "AlreadyRequestedError"
    assert second["existingCancellationId"] == first["id"]
    assert second["field"] == "orderId"


async def test_c3_order_with_carrier_cannot_be_cancelled(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now(), state=FulfilmentState.IN_TRANSIT)

    result = await _request(api, order.id, buyer_id)

    assert result["__typename"] == "OrderNotCancellableError"
    assert result["code"] == "ORDER_IN_TRANSIT"
    assert result["fulfilmentState"] == "IN_TRANSIT"
    assert "refuse the delivery" in result["message"]
    stored = await order_store.get(db, order.id)
    assert stored is not None and stored.version == order.version  # nothing written


async def test_c3_delivered_order_cannot_be_cancelled(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now(), state=FulfilmentState.DELIVERED)

    result = await _request(api, order.id, buyer_id)

    assert (result["__typename"], result["code"]) == ("OrderNotCancellableError", "ORDER_DELIVERED")
    eligibility = await api(ORDER_VIEW, {"id": order.id}, buyer(buyer_id))
    assert eligibility["order"]["cancellationEligibility"] == {
        "allowed": False,
        "atOnce": False,
        "code": "ORDER_DELIVERED",
    }


async def test_c3_pending_request_blocks_handing_to_carrier(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    await _request(api, order.id, buyer_id)

    shipped = await api(
        """mutation($o: ID!) { handToCarrier(input: {orderId: $o, carrier: "UPS", trackingNumber: "1Z9"})
           { __typename ... on InvalidStateError { currentState code } } }""",
        {"o": order.id},
        seller(shop_id),
    )

    assert shipped["handToCarrier"] == {
        "__typename": "InvalidStateError",
        "currentState": "CANCELLATION_PENDING",
        "code": "INVALID_STATE",
    }


async def test_c4_seller_accepts_order_cancelled_and_refunded(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
    pending = await _request(api, order.id, buyer_id)
    clock.advance(timedelta(hours=3))

    result = (await api(ACCEPT, {"id": pending["id"]}, seller(shop_id)))["acceptCancellation"]

    assert (result["status"], result["tab"]) == ("CANCELLED", "COMPLETED")
    assert result["refund"]["total"]["minorUnits"] == 4999
    assert result["order"]["refunded"]["minorUnits"] == 4999
    assert [
        (r["action"], r["actorKind"], r["fromStatus"], r["toStatus"]) for r in result["timeline"]
    ] == [
        ("REQUEST", "BUYER", None, "PENDING"),
        ("ACCEPT", "SELLER_AGENT", "PENDING", "CANCELLED"),
    ]


async def test_c4_acting_needs_the_adjustments_permission(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
    pending = await _request(api, order.id, buyer_id)

    reader = await api(ACCEPT, {"id": pending["id"]}, seller(shop_id, adjust=False))
    other_shop = await api(ACCEPT, {"id": pending["id"]}, seller("shop-other"))
    the_buyer = await api(ACCEPT, {"id": pending["id"]}, buyer(buyer_id))

    for result in (reader, the_buyer):
        assert result["acceptCancellation"]["__typename"] == "ForbiddenError"
    # Another shop's agent is told what an unknown id tells: nothing.
    assert other_shop["acceptCancellation"]["__typename"] == "NotFoundError"
    view = await api(
        "query($id: ID!) { cancellation(id: $id) { status } }", {"id": pending["id"]}, PLATFORM
    )
    assert view["cancellation"]["status"] == "PENDING"


async def test_c5_seller_rejects_with_reason_and_comment_order_goes_on(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
    pending = await _request(api, order.id, buyer_id)

    result = (
        await api(
            REJECT,
            {"id": pending["id"], "reason": "ALREADY_SHIPPED", "comment": "Packed this morning"},
            seller(shop_id),
        )
    )["rejectCancellation"]

    assert (result["status"], result["tab"]) == ("REJECTED", "CLOSED")
    assert result["rejection"] == {
        "reason": {
            "code": "ALREADY_SHIPPED",
            "displayText": "The package has already been shipped",
        },
        "comment": "Packed this morning",
    }
    assert result["order"]["fulfilmentState"] == "AWAITING_SHIPMENT"
    assert result["timeline"][-1]["comment"] == "Packed this morning"
    again = await _request(api, order.id, buyer_id)
    assert again["__typename"] == "AlreadyRequestedError"  # one request per order


async def test_c5_reject_reasons_come_from_a_catalogue_and_comments_are_bounded(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    catalogue = await api("{ cancellationRejectReasons { code displayText } }")
    codes = [r["code"] for r in catalogue["cancellationRejectReasons"]]
    assert "ALREADY_SHIPPED" in codes and all(
        r["displayText"] for r in catalogue["cancellationRejectReasons"]
    )

    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
    pending = await _request(api, order.id, buyer_id)
    unknown = await api.raw(REJECT, {"id": pending["id"], "reason": "BECAUSE"}, seller(shop_id))
    assert unknown["errors"] and "BECAUSE" in unknown["errors"][0]["message"]

    too_long = await api(
        REJECT, {"id": pending["id"], "reason": "OTHER", "comment": "x" * 501}, seller(shop_id)
    )
    assert too_long["rejectCancellation"]["__typename"] == "ValidationError"
    assert too_long["rejectCancellation"]["field"] == "comment"


async def test_c6_seller_silence_auto_accepts_after_48h(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    pending = await _request(api, order.id, buyer_id)

    clock.advance(timedelta(hours=47, minutes=59))
    early = await services.cancellations.auto_accept_due(EXPIRY_WORKER)
    assert pending["id"] not in [c.id for c in early]

    clock.advance(timedelta(minutes=1))
    late_seller = (await api(ACCEPT, {"id": pending["id"]}, seller(shop_id)))["acceptCancellation"]
    assert late_seller["__typename"] == "ResponseWindowClosedError"
    moved = await services.cancellations.auto_accept_due(EXPIRY_WORKER, limit=1000)
    assert pending["id"] in [c.id for c in moved]

    view = await api(
        f"query($id: ID!) {{ cancellation(id: $id) {{ {CANCELLATION} }} }}",
        {"id": pending["id"]},
        buyer(buyer_id),
    )
    c = view["cancellation"]
    assert (c["status"], c["tab"]) == ("CANCELLED", "COMPLETED")
    last = c["timeline"][-1]
    assert (last["action"], last["actorKind"], last["actorId"]) == (
        "AUTO_ACCEPT",
        "PLATFORM",
        "expiry-worker",
    )
    assert last["reason"]["code"] == "SELLER_RESPONSE_WINDOW_PASSED"
    assert last["deadline"] == pending["respondBy"]
    assert c["order"]["paymentState"] == "REFUNDED"
    again = await services.cancellations.auto_accept_due(EXPIRY_WORKER, limit=1000)
    assert pending["id"] not in [x.id for x in again]  # moved once


async def test_c7_seller_cancels_with_reason_buyer_notified_and_refunded(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=30))

    result = (
        await api(
            SELLER_CANCEL,
            {"order": order.id, "reason": "OUT_OF_STOCK", "comment": "Supplier let us down"},
            seller(shop_id),
        )
    )["cancelOrder"]

    assert (result["status"], result["initiator"], result["tab"]) == (
        "CANCELLED",
        "SELLER",
        "COMPLETED",
    )
    assert result["reason"]["displayText"] == "Out of stock"
    assert result["refund"]["total"]["minorUnits"] == 4999
    inbox = await api(NOTIFICATIONS, actor=buyer(buyer_id))
    [note] = [e["node"] for e in inbox["notifications"]["edges"]]
    assert note["kind"] == "ORDER_CANCELLED" and note["requestId"] == result["id"]
    assert "Out of stock" in note["message"] and "49.99 USD" in note["message"]


async def test_c7_seller_cannot_cancel_a_shipped_order(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await place_order(
        db, shop_id, new_buyer_id(), clock.now(), state=FulfilmentState.IN_TRANSIT
    )

    result = await api(
        SELLER_CANCEL, {"order": order.id, "reason": "OUT_OF_STOCK"}, seller(shop_id)
    )

    assert result["cancelOrder"]["__typename"] == "OrderNotCancellableError"


async def test_c8_platform_cancels_unpaid_order_and_seller_is_notified(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now(), state=FulfilmentState.UNPAID)

    early = (await api(SYSTEM_CANCEL, {"order": order.id}, PLATFORM))["cancelUnpaidOrder"]
    assert early["__typename"] == "PaymentWindowOpenError"

    clock.advance(timedelta(hours=24))
    result = (await api(SYSTEM_CANCEL, {"order": order.id}, PLATFORM))["cancelUnpaidOrder"]

    assert (result["status"], result["initiator"]) == ("CANCELLED", "SYSTEM")
    assert result["reason"]["code"] == "NON_PAYMENT"
    assert result["refund"]["total"]["minorUnits"] == 0  # nothing was paid
    assert result["order"]["paymentState"] == "VOIDED"
    shop_inbox = await api(NOTIFICATIONS, actor=seller(shop_id, adjust=False))
    assert [e["node"]["kind"] for e in shop_inbox["notifications"]["edges"]] == ["ORDER_CANCELLED"]


async def test_c8_only_the_platform_cancels_for_non_payment(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await place_order(
        db, shop_id, new_buyer_id(), clock.now(), state=FulfilmentState.UNPAID
    )
    clock.advance(timedelta(days=2))

    result = await api(SYSTEM_CANCEL, {"order": order.id}, seller(shop_id))

    assert result["cancelUnpaidOrder"]["__typename"] == "ForbiddenError"


async def test_c9_buyer_sees_whether_the_cancellation_happened(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    accepted = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=3))
    rejected = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=3))
    a = await _request(api, accepted.id, buyer_id)
    r = await _request(api, rejected.id, buyer_id)
    await api(ACCEPT, {"id": a["id"]}, seller(shop_id))
    await api(REJECT, {"id": r["id"], "reason": "CUSTOM_MADE"}, seller(shop_id))

    accepted_view = (await api(ORDER_VIEW, {"id": accepted.id}, buyer(buyer_id)))["order"]
    rejected_view = (await api(ORDER_VIEW, {"id": rejected.id}, buyer(buyer_id)))["order"]
    inbox = await api(NOTIFICATIONS, actor=buyer(buyer_id))

    assert accepted_view["fulfilmentState"] == "CANCELLED" and accepted_view["cancelledAt"]
    assert accepted_view["cancellations"] == [{"id": a["id"], "status": "CANCELLED"}]
    assert rejected_view["fulfilmentState"] == "AWAITING_SHIPMENT"
    assert rejected_view["cancellations"] == [{"id": r["id"], "status": "REJECTED"}]
    kinds = {(e["node"]["orderId"], e["node"]["kind"]) for e in inbox["notifications"]["edges"]}
    assert kinds == {(accepted.id, "ORDER_CANCELLED"), (rejected.id, "CANCELLATION_REJECTED")}


async def test_c2_respond_by_stays_set_once_the_request_is_decided(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    outcomes = {}
    for decision in ("accept", "reject", "withdraw"):
        buyer_id = new_buyer_id()
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        asked = await _request(api, order.id, buyer_id)
        if decision == "accept":
            done = (await api(ACCEPT, {"id": asked["id"]}, seller(shop_id)))["acceptCancellation"]
        elif decision == "reject":
            variables = {"id": asked["id"], "reason": "OTHER"}
            done = (await api(REJECT, variables, seller(shop_id)))["rejectCancellation"]
        else:
            done = (
                await api(
                    """mutation($id: ID!) { withdrawCancellation(input: {cancellationId: $id}) {
                      ... on Cancellation { respondBy nextAction { dueAt } } } }""",
                    {"id": asked["id"]},
                    buyer(buyer_id),
                )
            )["withdrawCancellation"]
        outcomes[decision] = (done["respondBy"] == asked["respondBy"], done["nextAction"])

    assert outcomes == {d: (True, None) for d in ("accept", "reject", "withdraw")}

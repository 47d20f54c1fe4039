"""Decisions with an idempotency key: a repeat returns the first outcome and changes nothing."""

from __future__ import annotations

from datetime import timedelta

from models.clock import SettableClock
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import buyer, new_buyer_id, place_order, seller

ACCEPT = """
mutation($id: ID!, $key: String) {
  acceptCancellation(input: {cancellationId: $id, idempotencyKey: $key}) {
    __typename ... on Cancellation { id status timeline { action } }
    ... on UserError { code field }
  }
}"""
REJECT = """
mutation($id: ID!, $key: String) {
  rejectCancellation(input: {cancellationId: $id, reason: OTHER, idempotencyKey: $key}) {
    __typename ... on UserError { code field }
  }
}"""
SELLER_CANCEL = """
mutation($o: ID!, $key: String) {
  cancelOrder(input: {orderId: $o, reason: OUT_OF_STOCK, idempotencyKey: $key}) {
    __typename ... on Cancellation { id } ... on UserError { code }
  }
}"""


async def _pending(api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str) -> str:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    data = await api(
        "mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: OTHER}) { ... on Cancellation { id } } }",
        {"o": order.id},
        buyer(buyer_id),
    )
    return data["requestCancellation"]["id"]


async def test_repeated_accept_with_same_key_returns_first_outcome(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _pending(api, db, clock, shop_id)

    first = await api(ACCEPT, {"id": cid, "key": "k-1"}, seller(shop_id))
    second = await api(ACCEPT, {"id": cid, "key": "k-1"}, seller(shop_id))
    without_key = await api(ACCEPT, {"id": cid}, seller(shop_id))

    assert first == second
    assert first["acceptCancellation"]["status"] == "CANCELLED"
    assert len(first["acceptCancellation"]["timeline"]) == 2
    assert without_key["acceptCancellation"]["code"] == "NOT_PENDING"


async def test_seller_cancel_retried_with_same_key_cancels_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await place_order(db, shop_id, new_buyer_id(), clock.now())

    first = await api(SELLER_CANCEL, {"o": order.id, "key": "retry-me"}, seller(shop_id))
    second = await api(SELLER_CANCEL, {"o": order.id, "key": "retry-me"}, seller(shop_id))

    assert first["cancelOrder"]["__typename"] == "Cancellation"
    assert second == first
    assert await db.cancellations.count_documents({"order_id": order.id}) == 1


async def test_same_key_for_a_different_decision_is_refused(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _pending(api, db, clock, shop_id)
    await api(ACCEPT, {"id": cid, "key": "k-2"}, seller(shop_id))

    reused = await api(REJECT, {"id": cid, "key": "k-2"}, seller(shop_id))

    assert reused["rejectCancellation"] == {
        "__typename": "IdempotencyKeyReusedError",
        "code": "IDEMPOTENCY_KEY_REUSED",
        "field": "idempotencyKey",
    }


async def test_idempotency_keys_are_bounded(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _pending(api, db, clock, shop_id)

    result = await api(ACCEPT, {"id": cid, "key": "k" * 129}, seller(shop_id))

    assert result["acceptCancellation"]["__typename"] == "ValidationError"
    doc = await db.cancellations.find_one({"_id": cid})
    assert doc["status"] == "PENDING"  # refused before anything was written

"""One request model through the API: cancellations and after-sale requests answer as `Request`,
in one vocabulary (initiator, statuses, next action, tab counts), and a request and its helpdesk
ticket lead to each other."""

from __future__ import annotations

from datetime import timedelta

from graphql_runtime.execution_plans import plain_object_classes
from models.clock import SettableClock
from models.orders import FulfilmentState
from resolvers.schema import schema
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, ok
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

REQUEST_FIELDS = """
  __typename id kind orderId initiator status deadline
  nextAction { actorKind action dueAt }
  timeline { action fromStatus toStatus }
"""
ORDER_REQUESTS = f"""
query($o: ID!) {{ order(id: $o) {{ requests {{ {REQUEST_FIELDS} }} }} }}"""
CANCEL = """
mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
  __typename ... on Cancellation { id } } }"""
REJECT = """
mutation($id: ID!) { rejectCancellation(input: {cancellationId: $id, reason: OTHER}) {
  __typename } }"""
SHIP = """
mutation($o: ID!) { handToCarrier(input: {orderId: $o, carrier: "UPS", trackingNumber: "1Z9"}) {
  __typename } }"""
DELIVER = """
mutation($o: ID!) { recordDelivery(input: {orderId: $o}) { __typename } }"""


async def test_an_orders_cancellation_and_after_sale_request_list_as_requests(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    cancel = (await api(CANCEL, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]
    assert (await api(REJECT, {"id": cancel["id"]}, seller(shop_id)))["rejectCancellation"] == {
        "__typename": "Cancellation"
    }
    await api(SHIP, {"o": order.id}, seller(shop_id))
    await api(DELIVER, {"o": order.id}, PLATFORM)
    clock.advance(timedelta(minutes=1))
    refund = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(buyer_id)
    )

    found = (await api(ORDER_REQUESTS, {"o": order.id}, seller(shop_id)))["order"]["requests"]

    assert [(r["__typename"], r["id"], r["kind"], r["status"]) for r in found] == [
        ("AfterSale", refund["id"], "REFUND_ONLY", "PENDING_SELLER"),
        ("Cancellation", cancel["id"], "CANCELLATION", "REJECTED"),
    ]
    after_sale, cancellation = found
    assert after_sale["nextAction"]["action"] == "APPROVE_OR_REJECT"
    assert after_sale["nextAction"]["dueAt"] == after_sale["deadline"] is not None
    assert (cancellation["nextAction"], cancellation["deadline"]) == (None, None)
    assert [(t["action"], t["fromStatus"], t["toStatus"]) for t in cancellation["timeline"]] == [
        ("REQUEST", None, "PENDING"),
        ("REJECT", "PENDING", "REJECTED"),
    ]


async def test_the_marketplace_is_the_system_initiator_of_both_kinds(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    unpaid = await place_order(
        db, shop_id, new_buyer_id(), clock.now() - timedelta(days=3), state=FulfilmentState.UNPAID
    )
    cancelled = await api(
        """mutation($o: ID!) { cancelUnpaidOrder(input: {orderId: $o}) {
          __typename ... on Cancellation { initiator } } }""",
        {"o": unpaid.id},
        PLATFORM,
    )
    delivered = await delivered_order(db, clock, shop_id)
    refunded = await ok(
        api,
        "platformRefund",
        {"orderId": delivered.id, "reason": "POLICY_VIOLATION", "comment": "Counterfeit"},
        PLATFORM,
    )
    both = await api(
        "query($a: ID!, $b: ID!) { a: order(id: $a) { requests { initiator } }"
        " b: order(id: $b) { requests { initiator } } }",
        {"a": unpaid.id, "b": delivered.id},
        seller(shop_id),
    )

    assert cancelled["cancelUnpaidOrder"] == {"__typename": "Cancellation", "initiator": "SYSTEM"}
    assert refunded["status"] == "REFUNDED"
    assert both == {
        "a": {"requests": [{"initiator": "SYSTEM"}]},
        "b": {"requests": [{"initiator": "SYSTEM"}]},
    }


async def test_a_request_and_its_ticket_lead_to_each_other(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    cancel = (await api(CANCEL, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]

    found = await api(
        """query($id: ID!) { cancellation(id: $id) { ticket { id
             request { __typename id status ... on Cancellation { respondBy } ticket { id } } } } }""",
        {"id": cancel["id"]},
        seller(shop_id, adjust=False),
    )

    ticket = found["cancellation"]["ticket"]
    request = ticket["request"]
    assert (request["__typename"], request["id"], request["status"]) == (
        "Cancellation",
        cancel["id"],
        "PENDING",
    )
    assert request["ticket"] == {"id": ticket["id"]}
    assert request["respondBy"] is not None


async def test_each_request_of_a_list_leads_to_its_own_ticket_and_a_buyer_to_none(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyers = [new_buyer_id() for _ in range(3)]
    for buyer_id in buyers:
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        await api(CANCEL, {"o": order.id}, buyer(buyer_id))
    page = """{ cancellations(first: 10) { nodes { id ticket { requestFacts { id } } } } }"""

    nodes = (await api(page, actor=seller(shop_id)))["cancellations"]["nodes"]
    as_buyer = await api.raw(page, actor=buyer(buyers[0]))

    assert len(nodes) == 3
    assert all(n["ticket"]["requestFacts"]["id"] == n["id"] for n in nodes)
    [error] = as_buyer["errors"]
    # A buyer may not learn that a ticket exists: the answer to an unknown one.
    assert (error["extensions"]["code"], error["path"][-1]) == ("NOT_FOUND", "ticket")


async def test_a_cancellation_list_counts_its_tabs_as_the_after_sale_list_does(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    for _ in range(2):
        buyer_id = new_buyer_id()
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        await api(CANCEL, {"o": order.id}, buyer(buyer_id))

    data = await api(
        """{ cancellations(first: 1) { tabCounts { tab count } }
             afterSales(first: 1) { tabCounts { tab count } }
             cancellationTabCounts { tab count } }""",
        actor=seller(shop_id),
    )

    counts = data["cancellations"]["tabCounts"]
    assert counts == data["cancellationTabCounts"]  # the deprecated root field, same answer
    assert counts == [
        {"tab": "ALL", "count": 2},
        {"tab": "TO_PROCEED", "count": 2},
        {"tab": "COMPLETED", "count": 0},
        {"tab": "CLOSED", "count": 0},
    ]
    assert [c["tab"] for c in data["afterSales"]["tabCounts"]] == [
        "ALL",
        "TO_PROCEED",
        "IN_PROCESS",
        "COMPLETED",
        "CLOSED",
    ]


def test_the_request_types_compile_to_plans_though_they_implement_the_interface() -> None:
    # A tab page's cost rests on its rows being built by a compiled plan
    # (resolvers/execution_plans.py), which leaves a type with an `is_type_of` check to
    # graphql-core; implementing an interface gives a Strawberry type one.
    graphql_schema = schema._schema
    for name in ("Cancellation", "AfterSale"):
        assert plain_object_classes(graphql_schema.get_type(name)), name

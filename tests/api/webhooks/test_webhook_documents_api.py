"""Webhooks registered with a GraphQL subscription document (as Saleor's): validated at
registration (its one root field gives the event types), and run on each event to shape the
delivery's `data`, which a receiver on loopback gets."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from models.clock import SettableClock
from resolvers.webhooks.documents import DocumentShaper
from services.bootstrap import build_services
from services.webhook_delivery import WebhookDispatcher
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import buyer, new_buyer_id, place_order, seller
from tests.support.refund_api import ACCEPT, REQUEST
from tests.support.webhook_delivery import eventually, own_database
from tests.support.webhook_receiver import Receiver, running_receiver
from webhooks.retry import RetryPolicy

SECRET = "whsec_test_documents_0123456789abcdef"
CREATE = """
mutation($i: CreateWebhookInput!) {
  createWebhook(input: $i) {
    __typename
    ... on WebhookCreated { webhook { id eventTypes subscription } }
    ... on UserError { code field message }
  }
}"""
STATUS_DOCUMENT = """subscription { requestEvents { __typename
  ... on RequestEvent { requestId change { toStatus }
                        cancellation { status tab refundSettlement { state amount { minorUnits } } } } } }"""


async def _create(api: GraphQLClient, shop_id: str, **more: Any) -> dict[str, Any]:
    i = {"url": "https://hooks.example.com/shaped"} | more
    return (await api(CREATE, {"i": i}, seller(shop_id)))["createWebhook"]


async def test_a_subscription_document_gives_the_webhook_its_event_types(
    api: GraphQLClient, shop_id: str
) -> None:
    made = await _create(api, shop_id, subscription=STATUS_DOCUMENT)

    assert made["__typename"] == "WebhookCreated", made
    assert made["webhook"]["eventTypes"] == [
        "AFTER_SALE_STATUS_CHANGED",
        "CANCELLATION_STATUS_CHANGED",
    ]
    assert made["webhook"]["subscription"] == STATUS_DOCUMENT


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("subscription {", "Syntax Error"),
        ("query { refunds { id } }", "one subscription operation"),
        ("subscription { refundEvents { nope } }", "Cannot query field 'nope'"),
        ("subscription { tabCounts { __typename } }", "one root field"),
        ('subscription { refundEvents(shopId: "shop-x") { __typename } }', "without arguments"),
        ("subscription($s: ID) { refundEvents { __typename } }", "no variables"),
        ("", "1 to 10000 characters"),
    ],
)
async def test_a_document_that_is_not_one_valid_subscription_is_refused_at_registration(
    api: GraphQLClient, shop_id: str, document: str, says: str
) -> None:
    made = await _create(api, shop_id, subscription=document)

    assert (made["__typename"], made["code"], made["field"]) == (
        "ValidationError",
        "VALIDATION_FAILED",
        "subscription",
    )
    assert says in made["message"]
    listed = await api("{ webhooks { id } }", actor=seller(shop_id))
    assert listed["webhooks"] == []


async def test_event_types_and_a_document_together_are_refused(
    api: GraphQLClient, shop_id: str
) -> None:
    made = await _create(
        api, shop_id, subscription=STATUS_DOCUMENT, eventTypes=["CANCELLATION_STATUS_CHANGED"]
    )
    assert (made["code"], made["field"]) == ("VALIDATION_FAILED", "eventTypes")


@pytest.fixture(scope="module")
def receiver_process() -> Any:
    with running_receiver("--secret", SECRET) as receiver:
        yield receiver


@pytest.fixture
async def hooks_db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        yield database


async def test_each_delivery_carries_what_the_document_selects_of_the_event(
    receiver_process: Receiver, hooks_db: Database, clock: SettableClock
) -> None:
    receiver = receiver_process
    receiver.control("POST", "reset")
    services = await build_services(hooks_db, clock)
    transport = httpx.ASGITransport(app=create_app(services))
    shop_id = "shop-shaped"
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = GraphQLClient(client)
        i = {"url": f"{receiver.base}/hooks", "subscription": STATUS_DOCUMENT, "secret": SECRET}
        made = (await api(CREATE, {"i": i}, seller(shop_id)))["createWebhook"]
        assert made["__typename"] == "WebhookCreated", made
        buyer_id = new_buyer_id()
        order = await place_order(hooks_db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
        c = (await api(REQUEST, {"order": order.id}, buyer(buyer_id)))["requestCancellation"]
        await api(ACCEPT, {"id": c["id"]}, seller(shop_id))
    dispatcher = WebhookDispatcher(
        hooks_db,
        policy=RetryPolicy(base_seconds=0.05, cap_seconds=0.4, max_attempts=12),
        poll_seconds=0.02,
        rng=random.Random(5),
        shape=DocumentShaper(services, None),
    )
    dispatcher.start()
    try:
        held = await eventually(
            lambda: (d := receiver.summary()["deliveries"]) and len(d) == 2 and d,
            "both status changes delivered",
        )
    finally:
        await dispatcher.stop()

    bodies = [json.loads(d["body"]) for d in held]
    assert [b["type"] for b in bodies] == ["cancellation.status_changed"] * 2
    assert "errors" not in bodies[0] and "errors" not in bodies[1]
    # The request as it is now, the refund's money included, on both: the document's fields only.
    for body in bodies:
        event = body["data"]["requestEvents"]
        assert set(event) == {"__typename", "requestId", "change", "cancellation"}
        assert event["cancellation"] == {
            "status": "CANCELLED",
            "tab": "COMPLETED",
            "refundSettlement": {"state": "SETTLED", "amount": {"minorUnits": 4999}},
        }
    assert [b["data"]["requestEvents"]["change"]["toStatus"] for b in bodies] == [
        "PENDING",
        "CANCELLED",
    ]

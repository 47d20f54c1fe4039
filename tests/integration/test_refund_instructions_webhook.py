"""The refund instruction reaches the payment system's receiver (a real HTTP server on loopback,
its own process) once per refund, signed, with the refund's id, amount and lines, registered
and decided through the API; the payment system's settlement goes out as `refund.settled` to
the shop's other subscribers."""

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
from services.bootstrap import build_services
from services.webhook_delivery import WebhookDispatcher
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import buyer, new_buyer_id, place_order, seller
from tests.support.refund_api import ACCEPT, REGISTER, REQUEST, SETTLE, payments
from tests.support.webhook_delivery import eventually, own_database
from tests.support.webhook_receiver import Receiver, running_receiver
from webhooks.retry import RetryPolicy

SECRET = "whsec_test_refunds_0123456789abcdef"
POLICY = RetryPolicy(base_seconds=0.05, cap_seconds=0.4, max_attempts=12, pause_after=1000)
CREATE = """
mutation($i: CreateWebhookInput!) {
  createWebhook(input: $i) { __typename ... on WebhookCreated { webhook { id } } }
}"""


@pytest.fixture(scope="module")
def receiver_process() -> Any:
    with running_receiver("--secret", SECRET) as receiver:
        yield receiver


@pytest.fixture
async def hooks_db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        yield database


@pytest.fixture
async def own_api(hooks_db: Database, clock: SettableClock) -> AsyncIterator[GraphQLClient]:
    """The API on a database of its own: the dispatcher below sees only this test's webhooks."""
    app = create_app(await build_services(hooks_db, clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield GraphQLClient(client)


def _bodies(receiver: Receiver) -> list[dict[str, Any]]:
    try:
        held = receiver.summary()["deliveries"]
    except httpx.HTTPError:
        return []
    return [json.loads(d["body"]) for d in held]


async def test_each_refund_instruction_reaches_the_receiver_once_and_the_settlement_follows(
    receiver_process: Receiver, hooks_db: Database, own_api: GraphQLClient, clock: SettableClock
) -> None:
    receiver = receiver_process
    receiver.control("POST", "reset")
    receiver.control(
        "POST",
        "faults",
        {"rules": [{"action": "fail", "attempts": 2, "status": 503, "share": 0.5, "seed": 3}]},
    )
    api, shop_id = own_api, "shop-pay"
    await api(REGISTER, {"shop": shop_id}, payments(shop_id))
    url = f"{receiver.base}/hooks"
    for types in (["REFUND_INSTRUCTED"], ["REFUND_SETTLED", "REFUND_FAILED"]):
        made = await api(CREATE, {"i": {"url": url, "eventTypes": types, "secret": SECRET}},
                         seller(shop_id))  # fmt: skip
        assert made["createWebhook"]["__typename"] == "WebhookCreated", made
    refunds: dict[str, str] = {}  # refund id -> request id
    for _ in range(4):
        buyer_id = new_buyer_id()
        order = await place_order(hooks_db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
        c = (await api(REQUEST, {"order": order.id}, buyer(buyer_id)))["requestCancellation"]
        accepted = (await api(ACCEPT, {"id": c["id"]}, seller(shop_id)))["acceptCancellation"]
        refunds[accepted["refundSettlement"]["id"]] = c["id"]
    dispatcher = WebhookDispatcher(
        hooks_db, policy=POLICY, lease_seconds=2.0, poll_seconds=0.02, rng=random.Random(5)
    )
    dispatcher.start()
    try:
        await eventually(lambda: len(_bodies(receiver)) == 4, "four instructions delivered")
        first = sorted(refunds)[0]
        settled = await api(
            SETTLE,
            {"shop": shop_id, "s": [{"refundId": first, "outcome": "SETTLED",
                                     "at": clock.now().isoformat(), "reference": "pay_9"}]},
            payments(shop_id),
        )  # fmt: skip
        assert settled["settleRefunds"]["results"][0]["__typename"] == "RefundSettled"
        bodies = await eventually(
            lambda: (b := _bodies(receiver)) and len(b) == 5 and b, "the settlement delivered"
        )
    finally:
        await dispatcher.stop()

    instructions = [b for b in bodies if b["type"] == "refund.instructed"]
    assert sorted(b["data"]["refundId"] for b in instructions) == sorted(refunds)
    for b in instructions:
        data = b["data"]
        assert data["requestId"] == refunds[data["refundId"]]
        assert (data["requestKind"], data["state"]) == ("CANCELLATION", "INSTRUCTED")
        assert data["amount"] == {"minorUnits": 4999, "currency": "USD"}
        assert sum(li["amountMinorUnits"] for li in data["lines"]) == 4500
    [settlement] = [b for b in bodies if b["type"] == "refund.settled"]
    assert (settlement["data"]["refundId"], settlement["data"]["reference"]) == (first, "pay_9")
    summary = receiver.summary()
    assert not [a for a in summary["attempts"] if a["outcome"].startswith("refused")]
    assert summary["shops"][shop_id]["in_order"]

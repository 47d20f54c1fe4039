"""Registering outbound webhooks through the API: what a URL, event types and a secret must be,
who may register, read, pause, resume, replay and delete, and that the secret is shown once."""

from __future__ import annotations

from typing import Any

import pytest

from models.actors import Actor, ActorKind
from models.clock import SettableClock
from models.errors import ValidationFailed
from services.webhooks import WebhookService
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, pending_requests, seller
from webhooks.event_types import EventType

CREATE = """
mutation($i: CreateWebhookInput!) {
  createWebhook(input: $i) {
    __typename
    ... on WebhookCreated { secret webhook { id shopId url eventTypes status cursor head lag } }
    ... on UserError { code message field }
  }
}"""
LIST = "query($s: ID) { webhooks(shopId: $s) { id url status cursor lag } }"
TYPES = ["CANCELLATION_STATUS_CHANGED", "TICKET_CHANGED"]
URL = "https://hooks.example.com/aftersales"


def _input(shop_id: str | None = None, **more: Any) -> dict[str, Any]:
    return {
        "i": {"url": URL, "eventTypes": TYPES, **({"shopId": shop_id} if shop_id else {})} | more
    }


async def _create(api: GraphQLClient, actor: str, **more: Any) -> dict[str, Any]:
    return (await api(CREATE, _input(**more), actor))["createWebhook"]


async def test_an_agent_with_adjustments_registers_a_webhook_and_sees_the_secret_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await pending_requests(db, shop_id, [clock.now()] * 2)  # the shop's feed is at 2
    made = await _create(api, seller(shop_id))
    assert made["__typename"] == "WebhookCreated", made
    assert made["secret"].startswith("whsec_") and len(made["secret"]) >= 40
    hook = made["webhook"]
    assert (hook["shopId"], hook["url"], hook["status"]) == (shop_id, URL, "ACTIVE")
    assert sorted(hook["eventTypes"]) == TYPES
    assert (hook["cursor"], hook["head"], hook["lag"]) == (2, 2, 0)  # from now on

    listed = await api.raw(LIST, {}, seller(shop_id, adjust=False))
    assert [h["id"] for h in listed["data"]["webhooks"]] == [hook["id"]]
    assert made["secret"] not in str(listed)
    # The schema has no field that could show it again.
    bad = await api.raw("{ webhooks { secret } }", {}, seller(shop_id))
    assert bad["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_given_secret_is_kept_and_returned_once(api: GraphQLClient, shop_id: str) -> None:
    secret = "s3cret-of-the-receiver-0123456789"
    made = await _create(api, seller(shop_id), secret=secret)
    assert made["secret"] == secret


async def test_the_platform_registers_for_a_shop_it_names(api: GraphQLClient, shop_id: str) -> None:
    made = await _create(api, PLATFORM, shopId=shop_id)
    assert made["webhook"]["shopId"] == shop_id
    missing = await _create(api, PLATFORM)
    assert (missing["code"], missing["field"]) == ("VALIDATION_FAILED", "shopId")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/x", "scheme"),
        ("hooks.example.com/x", "no scheme"),
        ("https://", "no host"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com:99999/x", "bad port"),
        ("https://hooks.example.com/" + "a" * 2100, "too long"),
    ],
)
async def test_a_url_that_is_not_an_https_target_is_refused(
    api: GraphQLClient, db: Database, shop_id: str, url: str, why: str
) -> None:
    made = await _create(api, seller(shop_id), url=url)
    assert (made["__typename"], made["field"]) == ("ValidationError", "url"), why
    assert await db.db["webhooks"].count_documents({"shop_id": shop_id}) == 0


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("short-secret", "23 characters or fewer"),
        ("x" * 129, "too long"),
        ("has spaces in it, which are not allowed", "characters"),
    ],
)
async def test_a_secret_of_the_wrong_length_or_characters_is_refused(
    api: GraphQLClient, shop_id: str, secret: str, why: str
) -> None:
    made = await _create(api, seller(shop_id), secret=secret)
    assert (made["__typename"], made["field"]) == ("ValidationError", "secret"), why
    assert secret not in made["message"]


async def test_event_types_are_the_enum_at_least_one_and_each_once(
    api: GraphQLClient, shop_id: str
) -> None:
    unknown = await api.raw(CREATE, _input(eventTypes=["ORDER_EXPLODED"]), seller(shop_id))
    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    none = await _create(api, seller(shop_id), eventTypes=[])
    assert (none["code"], none["field"]) == ("VALIDATION_FAILED", "eventTypes")
    twice = await _create(api, seller(shop_id), eventTypes=[TYPES[0], TYPES[0]])
    assert (twice["code"], twice["field"]) == ("VALIDATION_FAILED", "eventTypes")


@pytest.mark.parametrize(
    "who",
    ["another shop's agent", "the shop's buyer", "an agent without adjustments"],
)
async def test_only_the_shops_agents_with_adjustments_or_the_platform_register(
    api: GraphQLClient, db: Database, shop_id: str, who: str
) -> None:
    actor = {
        "another shop's agent": seller("shop-elsewhere"),
        "the shop's buyer": buyer(new_buyer_id()),
        "an agent without adjustments": seller(shop_id, adjust=False),
    }[who]
    made = await _create(api, actor, shopId=shop_id)
    assert made["__typename"] == "ForbiddenError", (who, made)
    assert await db.db["webhooks"].count_documents({"shop_id": shop_id}) == 0


async def test_outsiders_neither_see_nor_change_a_shops_webhook(
    api: GraphQLClient, shop_id: str
) -> None:
    hook = (await _create(api, seller(shop_id)))["webhook"]
    for outsider in (seller("shop-elsewhere"), buyer(new_buyer_id())):
        seen = await api.raw(LIST, {"s": shop_id}, outsider)
        assert seen["errors"][0]["extensions"]["code"] == "FORBIDDEN", seen
        deliveries = await api.raw(
            "query($w: ID!) { webhookDeliveries(webhookId: $w) { id } }",
            {"w": hook["id"]},
            outsider,
        )
        assert deliveries["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # as unknown ids
    for name in ("pauseWebhook", "resumeWebhook", "deleteWebhook"):
        for actor, refusal in (
            (seller("shop-elsewhere"), "NotFoundError"),
            (seller(shop_id, adjust=False), "ForbiddenError"),
        ):
            answer = await api(
                f"mutation($w: ID!) {{ r: {name}(input: {{webhookId: $w}}) {{ __typename }} }}",
                {"w": hook["id"]},
                actor,
            )
            assert answer["r"]["__typename"] == refusal, (name, actor)
    listed = await api(LIST, {}, seller(shop_id))
    assert [(h["id"], h["status"]) for h in listed["webhooks"]] == [(hook["id"], "ACTIVE")]


async def test_pause_resume_replay_and_delete(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await pending_requests(db, shop_id, [clock.now()] * 3)
    hook = (await _create(api, seller(shop_id)))["webhook"]
    step = "mutation($w: ID!) {{ r: {}(input: {{webhookId: $w}}) {{ __typename ... on Webhook {{ status cursor }} }} }}"
    paused = await api(step.format("pauseWebhook"), {"w": hook["id"]}, seller(shop_id))
    assert paused["r"]["status"] == "PAUSED"
    replay = """mutation($w: ID!, $n: Int!) { r: replayWebhook(input: {webhookId: $w, fromSequence: $n}) {
        __typename ... on Webhook { status cursor } ... on UserError { code field } } }"""
    back = await api(replay, {"w": hook["id"], "n": 2}, seller(shop_id))
    assert back["r"] == {"__typename": "Webhook", "status": "ACTIVE", "cursor": 1}
    beyond = await api(replay, {"w": hook["id"], "n": 9}, seller(shop_id))
    assert (beyond["r"]["code"], beyond["r"]["field"]) == ("VALIDATION_FAILED", "fromSequence")
    gone = await api(
        step.format("deleteWebhook").replace("... on Webhook { status cursor }", ""),
        {"w": hook["id"]},
        seller(shop_id),
    )
    assert gone["r"]["__typename"] == "DeletedWebhook"
    assert (await api(LIST, {}, seller(shop_id)))["webhooks"] == []
    consumers = await api("{ eventConsumers { name } }", {}, seller(shop_id))
    assert consumers["eventConsumers"] == []


async def test_production_refuses_http_and_internal_targets_development_allows_them(
    db: Database, clock: SettableClock, shop_id: str
) -> None:
    agent = Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({"adjustments"}))
    production = WebhookService(db, clock, production=True)
    development = WebhookService(db, clock, production=False)
    types = [EventType.TICKET_CHANGED]
    for url in (
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://localhost:8443/x",
        "https://10.1.2.3/x",
        "https://192.168.0.7/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[::ffff:10.0.0.1]/x",
    ):
        with pytest.raises(ValidationFailed) as refused:
            await production.create(agent, None, url, types, None)
        assert refused.value.field == "url", url
    assert await db.db["webhooks"].count_documents({"shop_id": shop_id}) == 0
    await production.create(agent, None, "https://hooks.example.com/x", types, None)
    for url in ("http://127.0.0.1:8095/hooks", "https://localhost/x"):
        state, _ = await development.create(agent, None, url, types, None)
        assert state.webhook.url == url

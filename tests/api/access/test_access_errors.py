"""UNAUTHENTICATED and FORBIDDEN, the same way everywhere; unexpected errors masked in production
with a request id the client and the log share; typed errors never masked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.app import create_app
from api.logs import FIELDS
from api.settings import default_settings
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

PRODUCTION_SECRET = "prod-secret-0123456789abcdefghijklmnopqrstuvwxyz"

CANCEL = """mutation($id: ID!) { cancelOrder(input: {orderId: $id, reason: OUT_OF_STOCK}) {
  __typename ... on UserError { code message field } } }"""
ORDER = "query($id: ID!) { order(id: $id) { id } }"
ORDERS = "query($shop: ID) { orders(shopId: $shop, first: 1) { edges { node { id } } } }"


@pytest.fixture
async def production_api(services: Services) -> AsyncIterator[GraphQLClient]:
    settings = default_settings(production=True, jwt_secret=PRODUCTION_SECRET, rate_limit_cost=0)
    app = create_app(services, settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield GraphQLClient(c, secret=PRODUCTION_SECRET)


async def test_a_mutation_without_a_token_is_unauthenticated_as_a_graphql_error(
    api: GraphQLClient,
) -> None:
    body = await api.raw(CANCEL, {"id": "ord_1"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_forbidden_is_a_typed_member_for_mutations_and_an_error_code_for_queries(
    api: GraphQLClient, db: Database, shop_id: str
) -> None:
    order = await place_order(db, shop_id, new_buyer_id(), datetime.now(UTC) - timedelta(hours=3))

    # The shop's agent without adjustments sees the order but may not cancel it.
    typed = await api(CANCEL, {"id": order.id}, seller(shop_id, adjust=False))
    assert typed["cancelOrder"]["__typename"] == "ForbiddenError"
    assert typed["cancelOrder"]["code"] == "FORBIDDEN"

    read = await api.raw(ORDERS, {"shop": shop_id}, seller("shop-elsewhere"))
    assert read["data"] is None
    assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_id_the_caller_may_not_see_answers_as_an_unknown_id(
    api: GraphQLClient, db: Database, shop_id: str
) -> None:
    order = await place_order(db, shop_id, new_buyer_id(), datetime.now(UTC) - timedelta(hours=3))
    unknown = f"{order.id}x"

    for outsider in (seller("shop-elsewhere"), buyer("buyer-x")):
        theirs = (await api(CANCEL, {"id": order.id}, outsider))["cancelOrder"]
        none = (await api(CANCEL, {"id": unknown}, outsider))["cancelOrder"]
        read = (await api.raw(ORDER, {"id": order.id}, outsider))["errors"][0]
        read_none = (await api.raw(ORDER, {"id": unknown}, outsider))["errors"][0]
        if outsider.startswith("seller"):  # a buyer is refused before the id is read
            assert theirs == {**none, "message": none["message"].replace(unknown, order.id)}
            assert (theirs["__typename"], theirs["field"]) == ("NotFoundError", "orderId")
        assert read["extensions"]["code"] == read_none["extensions"]["code"] == "NOT_FOUND"
        assert read["message"] == read_none["message"].replace(unknown, order.id)


async def test_a_seller_agent_without_adjustments_may_read_but_not_decide(
    api: GraphQLClient, db: Database, shop_id: str
) -> None:
    order = await place_order(db, shop_id, new_buyer_id(), datetime.now(UTC) - timedelta(hours=3))
    reader = seller(shop_id, adjust=False)
    assert (await api(ORDER, {"id": order.id}, reader))["order"]["id"] == order.id
    refused = await api(CANCEL, {"id": order.id}, reader)
    assert refused["cancelOrder"]["code"] == "FORBIDDEN"
    assert "adjustments" in refused["cancelOrder"]["message"]


async def test_only_the_platform_reads_the_deadline_worker(api: GraphQLClient) -> None:
    for actor in (seller("shop-1"), buyer("buyer-1")):
        body = await api.raw("{ deadlineWorker { running } }", actor=actor)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api("{ deadlineWorker { running } }", actor=PLATFORM)) == {"deadlineWorker": None}


@pytest.fixture
def broken_orders(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault the service does not expect (a bug), with a detail no client should see."""

    async def boom(*_: object) -> None:
        raise RuntimeError("connection string mongodb://admin:hunter2@db")

    monkeypatch.setattr(services.orders, "get", boom)


async def test_production_masks_an_unexpected_error_and_logs_it_under_the_request_id(
    production_api: GraphQLClient, broken_orders: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="aftersales.graphql"):
        response = await production_api.http.post(
            "/graphql",
            json={"query": ORDER, "variables": {"id": "ord_1"}},
            headers={"Authorization": _bearer(production_api, PLATFORM)},
        )
    assert response.status_code == 200
    [error] = response.json()["errors"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "hunter2" not in response.text
    assert request_id in error["message"]
    # Logged once (graphql_runtime/operation_log.py), under the id the client got, with the detail.
    logged = [r for r in caplog.records if getattr(r, FIELDS, {}).get("request_id") == request_id]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "hunter2" in str(logged[0].exc_info[1])


async def test_development_shows_the_detail_with_the_request_id(
    api: GraphQLClient, broken_orders: None
) -> None:
    body = await api.raw(ORDER, {"id": "ord_1"}, PLATFORM)
    [error] = body["errors"]
    assert "hunter2" in error["message"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"]


async def test_production_never_masks_typed_or_coded_errors(
    production_api: GraphQLClient, db: Database, shop_id: str
) -> None:
    order = await place_order(db, shop_id, new_buyer_id(), datetime.now(UTC) - timedelta(hours=3))
    typed = await production_api(CANCEL, {"id": order.id}, seller(shop_id, adjust=False))
    assert typed["cancelOrder"]["message"] == "acting on requests needs the adjustments permission"
    read = await production_api.raw(ORDER, {"id": order.id}, buyer("buyer-x"))
    assert read["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert read["errors"][0]["message"] == f"no order {order.id}"
    invalid = await production_api.raw(ORDER, {"id": "../etc"}, PLATFORM)
    coded = invalid["errors"][0]["extensions"]
    assert coded.pop("requestId")  # every error carries it (graphql_runtime/operation_log.py)
    assert coded == {"code": "VALIDATION_FAILED", "field": "id"}
    anonymous = await production_api.raw(ORDER, {"id": order.id})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def _bearer(client: GraphQLClient, actor: str) -> str:
    from tests.support.api_client import authorization

    return authorization(actor, client.secret)["Authorization"]

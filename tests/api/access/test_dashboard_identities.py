"""The console's demo identities: listed with fresh tokens in development, so an agent picks one
instead of pasting a token; absent in production, where tokens come from the identity provider."""

from __future__ import annotations

import httpx

from api.app import create_app
from api.settings import default_settings
from api.start import demo_tokens
from services.bootstrap import Services

VIEWER = "{ viewer { kind id shopId permissions } }"


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_development_lists_the_demo_identities_with_tokens_the_service_accepts(
    services: Services, http: httpx.AsyncClient
) -> None:
    settings = default_settings()
    response = await _get(create_app(services, settings=settings), "/dashboard/identities")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    listed = {who["label"]: who for who in response.json()["identities"]}
    # The ones the start-up banner prints, first, then the other demo shop's agents.
    printed = [who for who, _ in demo_tokens(settings, "shop-1")]
    assert list(listed)[: len(printed)] == printed
    acting = listed["a seller agent who may act (seller:agent-1@shop-1+adjustments)"]
    assert (acting["kind"], acting["shopId"]) == ("SELLER_AGENT", "shop-1")
    other = listed["a seller agent who may act (seller:agent-1@shop-2+adjustments)"]
    assert other["shopId"] == "shop-2"
    assert listed["a buyer (buyer:buyer-1)"] == listed["a buyer (buyer:buyer-1)"] | {
        "kind": "BUYER",
        "shopId": None,
    }

    headers = {"Authorization": acting["authorization"]}
    answer = await http.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert answer.json()["data"]["viewer"] == {
        "kind": "SELLER_AGENT",
        "id": "agent-1",
        "shopId": "shop-1",
        "permissions": ["adjustments"],
    }


async def test_production_has_no_demo_identities_to_pick(services: Services) -> None:
    settings = default_settings(
        production=True, jwt_secret="s3cr3t-Production-Key-0123456789abcdef"
    )
    app = create_app(services, settings=settings)
    assert (await _get(app, "/dashboard/identities")).status_code == 404
    # The page itself is still served: agents paste the token their identity provider issued.
    page = await _get(app, "/dashboard")
    assert page.status_code == 200
    assert "/static/console/main.js" in page.text

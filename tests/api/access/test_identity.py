"""Identity: bearer tokens (HS256, expiry checked), the token command, the demo identity."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from api import token as token_command
from api.app import create_app
from api.identity import (
    DEVELOPMENT_SECRET,
    IdentityConfig,
    Unauthenticated,
    actor_from_connection_params,
    actor_from_token,
    mint_token,
    parse_actor,
)
from api.settings import default_settings
from models.actors import ADJUSTMENTS, Actor, ActorKind
from services.bootstrap import Services
from tests.support.api_client import GraphQLClient

VIEWER = "{ viewer { kind id shopId permissions } }"
SELLER = Actor(ActorKind.SELLER_AGENT, "agent-1", "shop-1", frozenset({ADJUSTMENTS}))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _viewer(http: httpx.AsyncClient, headers: dict[str, str]) -> dict:
    response = await http.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert response.status_code == 200
    return response.json()


async def test_a_seller_token_names_the_agent_the_shop_and_the_permission(
    http: httpx.AsyncClient,
) -> None:
    body = await _viewer(http, _bearer(mint_token(SELLER, DEVELOPMENT_SECRET)))
    assert body["data"]["viewer"] == {
        "kind": "SELLER_AGENT",
        "id": "agent-1",
        "shopId": "shop-1",
        "permissions": ["adjustments"],
    }


def _raw(claims: dict, secret: str = DEVELOPMENT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


_LATER = datetime.now(UTC) + timedelta(hours=1)
BAD_TOKENS = {
    "expired": mint_token(SELLER, DEVELOPMENT_SECRET, now=datetime.now(UTC) - timedelta(days=1)),
    "wrong secret": mint_token(SELLER, "another-secret-that-is-long-enough-for-hs256"),
    "no expiry": _raw({"kind": "buyer", "sub": "b-1"}),
    "no kind": _raw({"sub": "b-1", "exp": _LATER}),
    "unknown kind": _raw({"kind": "admin", "sub": "root", "exp": _LATER}),
    "seller without shop": _raw({"kind": "seller", "sub": "a-1", "exp": _LATER}),
    "buyer with a shop": _raw({"kind": "buyer", "sub": "b-1", "shop": "s-1", "exp": _LATER}),
    "unknown permission": _raw(
        {"kind": "seller", "sub": "a", "shop": "s", "perms": ["root"], "exp": _LATER}
    ),
    "buyer with permissions": _raw(
        {"kind": "buyer", "sub": "b", "perms": ["adjustments"], "exp": _LATER}
    ),
    "malformed subject": _raw({"kind": "buyer", "sub": "b 1 {$ne: 1}", "exp": _LATER}),
    "subject with a newline": _raw({"kind": "buyer", "sub": "b-1\n", "exp": _LATER}),
    "alg none": _raw({"kind": "platform", "sub": "ops", "exp": _LATER}, "", "none"),
    "garbage": "not.a.token",
}


@pytest.mark.parametrize("name", BAD_TOKENS)
async def test_a_bad_token_is_unauthenticated(http: httpx.AsyncClient, name: str) -> None:
    body = await _viewer(http, _bearer(BAD_TOKENS[name]))
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_expired_token_says_so(http: httpx.AsyncClient) -> None:
    body = await _viewer(http, _bearer(BAD_TOKENS["expired"]))
    assert "expired" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"X-Actor": "platform:ops-1"},  # the development header of old identifies nobody now
    ],
)
async def test_without_a_bearer_token_nobody_is_calling(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = await _viewer(http, headers)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_test_client_mints_tokens_from_the_actor_notation(api: GraphQLClient) -> None:
    data = await api(VIEWER, actor="seller:agent-9@shop-9")
    assert data["viewer"]["kind"] == "SELLER_AGENT"
    assert data["viewer"]["permissions"] == []  # read only without +adjustments


@pytest.fixture
async def demo_http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services, settings=default_settings(demo_actor="buyer:demo-buyer"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_the_demo_identity_answers_for_anonymous_callers_when_set(
    demo_http: httpx.AsyncClient,
) -> None:
    anonymous = await _viewer(demo_http, {})
    assert anonymous["data"]["viewer"]["id"] == "demo-buyer"
    signed = await _viewer(demo_http, _bearer(mint_token(SELLER, DEVELOPMENT_SECRET)))
    assert signed["data"]["viewer"]["id"] == "agent-1"  # a token still wins


async def test_production_ignores_the_demo_identity(services: Services) -> None:
    settings = default_settings(
        production=True, demo_actor="buyer:demo-buyer", jwt_secret="k" * 16 + "0123456789abcdef"
    )
    app = create_app(services, settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        body = await _viewer(c, {})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_websocket_payload_names_the_caller_like_the_header() -> None:
    config = IdentityConfig(secret=DEVELOPMENT_SECRET)
    token = mint_token(SELLER, DEVELOPMENT_SECRET)
    for key in ("Authorization", "authorization"):
        actor = actor_from_connection_params({key: f"Bearer {token}"}, config)
        assert actor == SELLER
    for bad in (None, {}, {"Authorization": "Bearer x.y.z"}, {"Authorization": 7}, ["x"]):
        with pytest.raises(Unauthenticated):
            actor_from_connection_params(bad, config)


def test_a_token_round_trips_every_kind_of_actor() -> None:
    for notation in ("buyer:b-1", "platform:ops-1", "seller:a-1@s-1", "seller:a@s+adjustments"):
        actor = parse_actor(notation)
        assert actor is not None
        assert actor_from_token(mint_token(actor, DEVELOPMENT_SECRET), DEVELOPMENT_SECRET) == actor


def test_a_remembered_token_is_still_refused_once_it_expires() -> None:
    # Verified tokens are remembered (api/identity.py); their expiry is checked every time.
    exp = int(time.time()) + 1
    token = _raw({"kind": "buyer", "sub": "b-exp", "exp": exp, "iat": exp - 3600})
    assert actor_from_token(token, DEVELOPMENT_SECRET) == Actor(ActorKind.BUYER, "b-exp")
    assert actor_from_token(token, DEVELOPMENT_SECRET) == Actor(ActorKind.BUYER, "b-exp")
    while time.time() < exp:  # at most a second
        time.sleep(0.05)
    with pytest.raises(Unauthenticated, match="expired"):
        actor_from_token(token, DEVELOPMENT_SECRET)


def test_a_remembered_token_is_checked_against_the_secret_it_is_given() -> None:
    token = mint_token(SELLER, DEVELOPMENT_SECRET)
    assert actor_from_token(token, DEVELOPMENT_SECRET) == SELLER
    with pytest.raises(Unauthenticated, match="not valid"):
        actor_from_token(token, "another-secret-that-is-long-enough-for-hs256")


def test_a_token_issued_in_the_future_is_refused_every_time() -> None:
    later = int(time.time()) + 3600
    token = _raw({"kind": "buyer", "sub": "b-1", "iat": later, "exp": later + 60})
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="not valid"):
            actor_from_token(token, DEVELOPMENT_SECRET)


def test_the_token_command_mints_what_it_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--seller", "shop-1", "--agent", "a-1", "--adjustments"]
    assert token_command.main(argv) == 0
    token = capsys.readouterr().out.strip()
    assert actor_from_token(token, DEVELOPMENT_SECRET) == Actor(
        ActorKind.SELLER_AGENT, "a-1", "shop-1", frozenset({ADJUSTMENTS})
    )
    assert token_command.main(["--buyer", "buyer-1", "--header", "--hours", "1"]) == 0
    header = json.loads(capsys.readouterr().out)
    claims = jwt.decode(
        header["Authorization"].removeprefix("Bearer "), DEVELOPMENT_SECRET, ["HS256"]
    )
    assert claims["kind"] == "buyer" and claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize(
    "argv",
    [["--buyer", "b-1", "--adjustments"], ["--seller", "shop 1"], ["--actor", "root"]],
)
def test_the_token_command_refuses_nonsense_in_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert token_command.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1

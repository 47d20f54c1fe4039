"""A small GraphQL client for tests: posts a document as an actor and returns `data`.

An actor is given in the development notation (`seller:agent-1@shop-1+adjustments`,
`buyer:b-1`, `platform:ops-1`); the client mints a bearer token for it with the app's secret, as
a real client would send. A string that is not an actor is sent as the token itself (a bad token).
"""

from __future__ import annotations

from typing import Any

import httpx

from api.identity import DEVELOPMENT_SECRET, Unauthenticated, mint_token, parse_actor


def authorization(actor: str | None, secret: str = DEVELOPMENT_SECRET) -> dict[str, str]:
    """The header a client sends for this actor (none for None)."""
    if not actor:
        return {}
    try:
        parsed = parse_actor(actor)
    except Unauthenticated:
        return {"Authorization": f"Bearer {actor}"}
    assert parsed is not None
    return {"Authorization": f"Bearer {mint_token(parsed, secret)}"}


class GraphQLError(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors

    @property
    def code(self) -> str | None:
        return self.errors[0].get("extensions", {}).get("code")


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, secret: str = DEVELOPMENT_SECRET) -> None:
        self.http = http
        self.secret = secret  # the app's signing secret (the development one by default)

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, actor: str | None = None
    ) -> dict[str, Any]:
        headers = authorization(actor, self.secret)
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, actor: str | None = None
    ) -> dict[str, Any]:
        body = await self.raw(query, variables, actor)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

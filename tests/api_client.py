"""A small GraphQL client for tests: posts a document as an actor and returns `data`."""

from __future__ import annotations

from typing import Any

import httpx


class GraphQLError(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors

    @property
    def code(self) -> str | None:
        return self.errors[0].get("extensions", {}).get("code")


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, actor: str | None = None
    ) -> dict[str, Any]:
        headers = {"X-Actor": actor} if actor else {}
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

"""Fuzz: 1,000 GraphQL operations built from the schema itself, with generated variables and
literals, sent as every kind of caller to the app (in-process ASGI, real database): never an
internal error, never a 5xx, never a hang.

The operations walk the schema: a root field of Query or Mutation, its arguments from their
types (mostly well typed, sometimes wrong, sometimes hostile: long, empty, control characters,
operator-looking strings, numbers out of range), a selection set down to a few levels with
fragments on unions and interfaces. Some requests are not GraphQL at all. Ids are drawn from real
orders and requests, so the rules run, not only the validation. Reproduce a failure with the
seed hypothesis prints.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    build_schema,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.settings import default_settings
from models.actors import Actor, ActorKind
from models.clock import SettableClock
from models.commands import RequestCancellation
from models.orders import FulfilmentState
from resolvers.schema import schema
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.api_client import authorization
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

EXAMPLES = 1000
SCHEMA = build_schema(schema.as_str())
HOSTILE = [
    "",
    " ",
    "\x00",
    "a\nb",
    "{$gt: ''}",
    "'; DROP TABLE orders; --",
    "../../etc/passwd",
    "ord_1\n",
    "x" * 65,
    "x" * 5000,
    "\U0001d518\u00e9\u200b\u202e",  # astral, accented, zero-width, right-to-left
    "null",
    "-1",
    "1e309",
    "2026-02-30T25:61:00Z",
]


@pytest.fixture
async def fuzz_http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services, settings=default_settings(rate_limit_cost=0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f") as c:
        yield c


@pytest.fixture
async def known(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> dict[str, list[str]]:
    """Real ids for the generator to use, and the callers who own them."""
    buyer_id = new_buyer_id()
    orders = [
        await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=h), state=state)
        for h, state in [
            (3, FulfilmentState.AWAITING_SHIPMENT),
            (3, FulfilmentState.AWAITING_SHIPMENT),
            (30, FulfilmentState.UNPAID),
            (5, FulfilmentState.IN_TRANSIT),
        ]
    ]
    request = await services.handle(
        Actor(ActorKind.BUYER, buyer_id), RequestCancellation(orders[1].id, "CHANGED_MIND")
    )
    return {
        "ids": [o.id for o in orders] + [request.id, shop_id, buyer_id],
        "actors": [
            seller(shop_id),
            seller(shop_id, adjust=False),
            seller("shop-other"),
            buyer(buyer_id),
            buyer("buyer-other"),
            PLATFORM,
        ],
    }


# ---- values from types -----------------------------------------------------------------------


def _scalar(data: st.DataObject, name: str, ids: list[str]) -> Any:
    if data.draw(st.integers(0, 9)) == 0:  # sometimes hostile, whatever the type
        return data.draw(
            st.one_of(st.sampled_from(HOSTILE), st.integers(-(2**40), 2**40), st.booleans())
        )
    match name:
        case "ID":
            return data.draw(st.one_of(st.sampled_from(ids), st.text(max_size=70)))
        case "String":
            return data.draw(st.one_of(st.text(max_size=80), st.sampled_from(HOSTILE)))
        case "Int":
            return data.draw(st.one_of(st.integers(-5, 120), st.integers(-(2**31), 2**31 - 1)))
        case "Float":
            return data.draw(st.floats(allow_nan=False, allow_infinity=False))
        case "Boolean":
            return data.draw(st.booleans())
        case "DateTime":
            return data.draw(
                st.one_of(
                    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
                    st.sampled_from(HOSTILE),
                )
            )
        case _:
            return data.draw(st.text(max_size=20))


def _value(data: st.DataObject, type_: GraphQLInputType, ids: list[str], depth: int = 0) -> Any:
    if isinstance(type_, GraphQLNonNull):
        return _value(data, type_.of_type, ids, depth)
    if isinstance(type_, GraphQLList):
        n = data.draw(st.integers(0, 3))
        return [_value(data, type_.of_type, ids, depth + 1) for _ in range(n)]
    if isinstance(type_, GraphQLEnumType):
        names = list(type_.values)
        return data.draw(st.one_of(st.sampled_from(names), st.sampled_from(["NOPE", ""])))
    if isinstance(type_, GraphQLInputObjectType):
        out = {}
        for name, f in type_.fields.items():
            required = isinstance(f.type, GraphQLNonNull)
            if required or (depth < 3 and data.draw(st.booleans())):
                out[name] = _value(data, f.type, ids, depth + 1)
        if data.draw(st.integers(0, 19)) == 0:
            out["unknownField"] = 1
        return out
    assert isinstance(type_, GraphQLScalarType)
    return _scalar(data, type_.name, ids)


def _literal(value: Any) -> str:
    """A value as a GraphQL literal (enum names travel as strings: mostly invalid, on purpose)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value)


# ---- selections from types -------------------------------------------------------------------


def _named(type_: Any) -> GraphQLNamedType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _selection(data: st.DataObject, type_: GraphQLNamedType, depth: int) -> str:
    if isinstance(type_, GraphQLUnionType | GraphQLInterfaceType):
        possible = SCHEMA.get_possible_types(type_)
        chosen = data.draw(
            st.lists(st.sampled_from(possible), max_size=3, unique_by=lambda t: t.name)
        )
        parts = ["__typename"] + [
            f"... on {t.name} {_selection(data, t, depth + 1)}" for t in chosen
        ]
        return "{ " + " ".join(parts) + " }"
    if not isinstance(type_, GraphQLObjectType):
        return ""
    fields = list(type_.fields.items())
    if depth >= 4:
        leaves = [(n, f) for n, f in fields if not _selectable(f)]
        fields = leaves or fields[:1]
    chosen = data.draw(
        st.lists(st.sampled_from(fields), min_size=1, max_size=5, unique_by=lambda p: p[0])
    )
    parts = []
    for name, f in chosen:
        if _selectable(f) and depth >= 4:
            parts.append("__typename")
            continue
        sub = _selection(data, _named(f.type), depth + 1) if _selectable(f) else ""
        parts.append(f"{name} {sub}".strip())
    return "{ " + " ".join(parts) + " }"


def _selectable(f: GraphQLField) -> bool:
    return isinstance(_named(f.type), GraphQLObjectType | GraphQLUnionType | GraphQLInterfaceType)


def _operation(data: st.DataObject, ids: list[str]) -> tuple[str, dict[str, Any]]:
    root = data.draw(st.sampled_from([SCHEMA.query_type, SCHEMA.mutation_type]))
    name, f = data.draw(st.sampled_from(list(root.fields.items())))
    declarations, arguments, variables = [], [], {}
    for arg_name, arg in f.args.items():
        required = isinstance(arg.type, GraphQLNonNull)
        if not required and data.draw(st.booleans()):
            continue
        value = _value(data, arg.type, ids)
        if data.draw(st.booleans()):
            variables[arg_name] = value
            declarations.append(f"${arg_name}: {arg.type}")
            arguments.append(f"{arg_name}: ${arg_name}")
        else:
            arguments.append(f"{arg_name}: {_literal(value)}")
    head = "query" if root is SCHEMA.query_type else "mutation"
    if declarations:
        head += "(" + ", ".join(declarations) + ")"
    args = "(" + ", ".join(arguments) + ")" if arguments else ""
    alias = data.draw(st.sampled_from(["", "a: "]))
    selection = _selection(data, _named(f.type), 1)
    return f"{head} {{ {alias}{name}{args} {selection} }}", variables


# ---- the test --------------------------------------------------------------------------------


def _body(data: st.DataObject, ids: list[str]) -> dict[str, Any] | bytes:
    kind = data.draw(st.integers(0, 39))
    if kind == 0:
        return data.draw(st.binary(max_size=200))  # not JSON at all
    if kind == 1:
        return {"query": data.draw(st.text(max_size=200))}  # not GraphQL
    if kind == 2:
        return {"query": "{ viewer { id } }", "variables": data.draw(st.sampled_from([[], "x", 7]))}
    query, variables = _operation(data, ids)
    return {"query": query, "variables": variables}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
async def test_generated_operations_never_crash_the_service(
    fuzz_http: httpx.AsyncClient, known: dict[str, list[str]], data: st.DataObject
) -> None:
    body = _body(data, known["ids"])
    who = data.draw(st.sampled_from([*known["actors"], None, "not-a-token"]))
    headers = authorization(who)
    if isinstance(body, bytes):
        request = fuzz_http.post(
            "/graphql", content=body, headers={**headers, "content-type": "application/json"}
        )
    else:
        request = fuzz_http.post("/graphql", json=body, headers=headers)
    response = await asyncio.wait_for(request, timeout=10)  # no hang
    assert response.status_code < 500, (body, response.text)
    if response.headers.get("content-type", "").startswith("application/json"):
        answer = response.json()
        codes = {e.get("extensions", {}).get("code") for e in answer.get("errors") or []}
        assert "INTERNAL_SERVER_ERROR" not in codes, (body, answer)

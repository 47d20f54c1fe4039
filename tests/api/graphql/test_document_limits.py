"""Hostile documents are refused with a typed code, at a cost proportional to their size.

Every check that walks a document (depth, aliases, cost) measures a fragment once, however
often it is spread; graphql-core's field-merging rule runs on a bounded budget. Each document
here is under the token limit and the body limit, and sent by an anonymous caller: no token is
needed to send one. (Before these checks, `BOMB` held a process for good.)
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from api.logs import FIELDS
from api.settings import default_settings
from graphql_runtime.document_limits import SATURATED, fragments_of, operation_shapes
from graphql_runtime.limits import MAX_OPERATION_COST, query_cost
from services.bootstrap import Services
from tests.api.graphql.test_hardening import PRODUCTION_SECRET, client_for
from tests.support.api_client import GraphQLClient, authorization
from tests.support.factories import PLATFORM, seller
from tests.support.served import serving, ws_operation


def chain(levels: int, fan: int, leaf: str, on: str = "Query", prefix: str = "f") -> str:
    """`levels` fragments, each spreading the next `fan` times; the last selects `leaf`."""
    fragments = []
    for i in range(levels):
        body = leaf if i == levels - 1 else " ".join(f"...{prefix}{i + 1}" for _ in range(fan))
        fragments.append(f"fragment {prefix}{i} on {on} {{ {body} }}")
    return " ".join(fragments)


# Ten fragments, each spreading the next ten times: 10^9 paths in about 600 bytes.
BOMB = "query { ...f0 } " + chain(10, 10, "__typename")


def cost_of(document: str, variables: dict[str, Any] | None = None) -> int:
    doc = parse(document)
    [operation] = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    return query_cost(operation, fragments_of(doc), variables)


async def refusal(api: GraphQLClient, document: str) -> dict[str, Any]:
    """The one answer to an anonymous caller's document, which must be refused."""
    body = await api.raw(document)
    assert body.get("data") is None, body
    return body["errors"][0]


def test_the_bomb_is_under_the_token_and_body_limits() -> None:
    assert len(BOMB.encode()) < 1000
    assert cost_of(BOMB) == 10**9  # what its expansion would cost, computed without it


def test_a_fragment_costs_what_its_expansion_would() -> None:
    page = "fragment p on Query { orders(first: 50) { edges { node { id } } } }"
    assert cost_of("{ ...p } " + page) == cost_of("{ orders(first: 50) { edges { node { id } } } }")
    twice = "{ ...q ...q } fragment q on Query { ...p ...p } " + page
    assert cost_of(twice) == 4 * (1 + 50 * 3)
    nested = "{ ... on Query { ... on Query { ...p } } } " + page
    assert cost_of(nested) == 1 + 50 * 3
    via_variable = (
        "query($n: Int) { ...v } fragment v on Query { orders(first: $n) { edges { cursor } } }"
    )
    assert cost_of(via_variable, {"n": 10}) == 21


def test_an_astronomical_cost_saturates_instead_of_growing_without_bound() -> None:
    # 200 fragments of fan 10 fit in the token limit: 10^199 as it would expand.
    document = "{ ...f0 } " + chain(200, 10, "__typename")
    assert cost_of(document) == SATURATED


def test_depth_counts_through_fragments_and_aliases_multiply_as_expanded() -> None:
    deep = "{ ...a } fragment a on Query { order(id: 1) { ...b } } fragment b on Order { cancellations { order { id } } }"
    aliased = "{ ...x ...x } fragment x on Query { ...y ...y ...y } fragment y on Query { a: __typename b: viewer { id } }"
    [(_, (depth, _))] = operation_shapes(parse(deep))
    [(_, (_, aliases))] = operation_shapes(parse(aliased))
    assert depth == 3
    assert aliases == 2 * 3 * 2


def test_a_fragment_cycle_ends_the_walk() -> None:
    cyclic = "{ ...a } fragment a on Query { viewer { id } ...b } fragment b on Query { ...a ...a }"
    [(_, (depth, aliases))] = operation_shapes(parse(cyclic))
    assert (depth, aliases) == (1, 0)
    assert cost_of(cyclic) == 2


async def test_the_fragment_bomb_is_refused_as_too_costly(api: GraphQLClient) -> None:
    error = await refusal(api, BOMB)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["cost"] == 10**9
    assert error["extensions"]["maxCost"] == 50_000  # the default budget: it could never run


async def test_the_fragment_bomb_is_refused_with_the_rate_limit_off(services: Services) -> None:
    async with client_for(services, rate_limit_cost=0) as api:
        error = await refusal(api, BOMB)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["maxCost"] == MAX_OPERATION_COST


@pytest.mark.parametrize(
    ("document", "words"),
    [
        # many aliases through fragments: 2 x 10^9 as expanded
        ("query { ...f0 } " + chain(10, 10, "a: __typename b: __typename"), "aliases found"),
        # depth through nested fragments that double at each level
        (
            'query { order(id: "o") { ...o0 } } '
            + " ".join(
                f"fragment o{i} on Order {{ cancellations {{ order {{ ...o{i + 1} ...o{i + 1} }} }} }}"
                for i in range(12)
            )
            + " fragment o12 on Order { id }",
            "exceeds maximum operation depth of 12",
        ),
        # wide: fragments of fields, spread side by side through the bomb
        (
            "query { ...g0 } "
            + " ".join(
                f"fragment g{i} on Query {{ viewer {{ id }} {' '.join(f'...g{i + 1}' for _ in range(10))} }}"
                for i in range(9)
            )
            + " fragment g9 on Query { viewer { id } }",
            "more than one operation may",
        ),
        # inline fragments inside the spread fragments
        (
            "query { ...f0 } " + chain(10, 10, "... on Query { ... on Query { __typename } }"),
            "more than one operation may",
        ),
        # one fragment spread 1,000 times in one selection set, itself spread by a bomb
        (
            "query { ...w } fragment w on Query { "
            + "...f0 " * 1000
            + "} "
            + chain(6, 10, "viewer { id }"),
            "more than one operation may",
        ),
    ],
    ids=["aliases", "depth", "wide-fields", "inline", "repeated-spread"],
)
async def test_fragment_bomb_variants_are_refused_with_a_code(
    api: GraphQLClient, document: str, words: str
) -> None:
    error = await refusal(api, document)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert words in error["message"]


async def test_a_chain_of_fragments_nested_past_the_recursion_guard_is_refused(
    api: GraphQLClient,
) -> None:
    # 300 fragments, each spreading the next once: a walk that recurses per fragment overflows.
    document = "{ ...f0 } " + chain(300, 1, "__typename")
    error = await refusal(api, document)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "too complex to validate" in error["message"]


async def test_a_fragment_cycle_is_refused(api: GraphQLClient) -> None:
    cyclic = "{ ...a } fragment a on Query { viewer { id } ...b } fragment b on Query { ...a ...a }"
    error = await refusal(api, cyclic)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Cannot spread fragment" in error["message"]


@pytest.mark.parametrize(
    "document",
    [
        # one field repeated: graphql-core compares every pair of fields of one response name
        "{ " + " ".join("viewer { id }" for _ in range(950)) + " }",
        # 300 fragments spread side by side: every pair of fragments is compared
        "{ "
        + " ".join(f"...f{i}" for i in range(300))
        + " } "
        + " ".join(f"fragment f{i} on Query {{ viewer {{ id }} }}" for i in range(300)),
    ],
    ids=["same-field", "side-by-side-fragments"],
)
async def test_documents_too_costly_to_compare_are_refused_as_too_complex(
    api: GraphQLClient, document: str
) -> None:
    # Each was seconds of graphql-core's field-merging rule (one within its own default budget).
    error = await refusal(api, document)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "too complex to validate" in error["message"]


async def test_an_ordinary_document_with_fragments_still_runs(
    api: GraphQLClient, shop_id: str
) -> None:
    document = (
        "{ ...tabs cancellations(first: 5) { edges { node { ...row } } pageInfo { hasNextPage } } }"
        " fragment tabs on Query { cancellationTabCounts { tab count } }"
        " fragment row on Cancellation { id status lines { ...line } timeline { at action } }"
        " fragment line on LineItem { title quantity unitPrice { amount currency } }"
    )
    data = await api(document, actor=seller(shop_id))
    assert data["cancellations"]["edges"] == []
    assert {row["tab"] for row in data["cancellationTabCounts"]} >= {"ALL", "TO_PROCEED"}


# ---- subscriptions are for WebSockets -----------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_over_http_is_refused_with_a_code(
    api: GraphQLClient, method: str
) -> None:
    document = "subscription { tabCounts { __typename } }"
    if method == "POST":
        response = await api.http.post("/graphql", json={"query": document})
    else:
        response = await api.http.get("/graphql", params={"query": document})
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SUBSCRIPTION_OVER_HTTP"
    assert "WebSocket" in error["message"]


# ---- production mode names nothing of the schema --------------------------------------------------


async def test_production_leaves_schema_suggestions_out_of_errors(services: Services) -> None:
    misspelt_field = "{ viewer { idd } }"
    misspelt_enum = "{ cancellations(tab: TO_PROCES) { edges { cursor } } }"
    misspelt_variable = (
        "query($t: CancellationTab!) { cancellations(tab: $t) { edges { cursor } } }",
        {"t": "TO_PROCES"},
    )
    async with client_for(services) as development:
        shown = [
            await development.raw(misspelt_field, actor=PLATFORM),
            await development.raw(misspelt_enum, actor=PLATFORM),
            await development.raw(*misspelt_variable, actor=PLATFORM),
        ]
    async with client_for(services, production=True, jwt_secret=PRODUCTION_SECRET) as production:
        hidden = [
            await production.raw(misspelt_field, actor=PLATFORM),
            await production.raw(misspelt_enum, actor=PLATFORM),
            await production.raw(*misspelt_variable, actor=PLATFORM),
        ]
    # Development helps (the suggestions are what production must leave out) ...
    assert all("Did you mean" in body["errors"][0]["message"] for body in shown), shown
    # ... production still says what is wrong, and names nothing it was not sent.
    for body in hidden:
        [error] = body["errors"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "Did you mean" not in error["message"]
        assert "'id'" not in error["message"] and "TO_PROCEED" not in error["message"]
    assert "idd" in hidden[0]["errors"][0]["message"]


# ---- the operation log sees the refusals ---------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (BOMB, "GRAPHQL_VALIDATION_FAILED"),
        ("subscription { tabCounts { __typename } }", "SUBSCRIPTION_OVER_HTTP"),
    ],
    ids=["too-costly", "subscription-over-http"],
)
async def test_a_refusal_before_execution_is_logged_with_its_code(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture, document: str, code: str
) -> None:
    caplog.set_level(logging.INFO, "aftersales.graphql")
    await api.http.post("/graphql", json={"query": document})
    [line] = [getattr(r, FIELDS) for r in caplog.records if r.name == "aftersales.graphql"]
    assert line["outcome"] == "error"
    assert line["error_codes"] == [code]


async def test_a_rate_limited_operation_is_logged_with_its_code(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aftersales.graphql")
    async with client_for(services, rate_limit_cost=10, rate_limit_window_seconds=600) as api:
        for _ in range(6):  # 2 each: the sixth is over the budget
            headers = authorization(PLATFORM)
            await api.http.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)
    lines = [getattr(r, FIELDS) for r in caplog.records if r.name == "aftersales.graphql"]
    assert [line["error_codes"] for line in lines] == [[]] * 5 + [["RATE_LIMITED"]]


# ---- the same over a WebSocket -----------------------------------------------------------------


async def test_fragment_bombs_over_a_websocket_are_refused_with_a_code(
    services: Services, shop_id: str
) -> None:
    subscription_bomb = "subscription { tabCounts { ...t0 } } " + chain(
        10, 10, "__typename", on="TabCountsUpdate", prefix="t"
    )
    async with serving(services, default_settings()) as url:
        init = authorization(seller(shop_id))
        query = await ws_operation(url, init, BOMB, {}, listen=5)
        subscription = await ws_operation(url, init, subscription_bomb, {}, listen=5)
    # Refused as the document's validation refuses: one error message, for either kind.
    for messages in (query, subscription):
        assert [m["type"] for m in messages] == ["error"], messages
        error = messages[0]["payload"][0]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert error["extensions"]["cost"] >= 10**9

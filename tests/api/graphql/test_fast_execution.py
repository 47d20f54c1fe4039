"""The fast executor gives exactly what graphql-core's own executor gives: data (with its key
order), errors, their messages, paths and locations.

Every document runs through both executors on the same schema and values. The values include
what a bug would put in a plain field (nulls in non-null places, values that do not coerce,
exceptions, awaitables, objects and lists of the wrong kind), so the compiled plans' fallback to
graphql-core is compared too, not only the happy path.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import strawberry
from graphql import Undefined
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from graphql_runtime import execution_plans
from graphql_runtime.execution_plans import clear_plans, compiled_types, serve_from
from graphql_runtime.fast_execution import FastExecutor, fast_fields
from models.actors import ADJUSTMENTS, Actor, ActorKind
from resolvers.context import Context
from resolvers.schema import schema as service_schema
from services.bootstrap import Services
from tests.support.api_client import authorization
from tests.support.factories import pending_requests


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.enum
class Size(enum.StrEnum):  # members compare equal to their values (str)
    SMALL = "s"
    LARGE = "l"


class Named(str):
    """A str subclass: graphql-core returns it as it is."""


class Later:
    """An awaitable that is not a coroutine (graphql-core awaits it)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        if False:  # pragma: no cover - makes this a generator
            yield
        return self.value


@strawberry.type
class Part:
    label: str
    weight: Decimal | None = None


@dataclass(frozen=True)
class PartValue:
    """A value of another class with Part's attributes, served as Part (serve_from)."""

    label: str | None
    weight: Decimal | None = None


serve_from(Part, PartValue)


@strawberry.type
class Item:
    name: str
    count: int
    colour: Colour
    at: datetime
    price: Decimal
    ratio: float = 0.5
    active: bool = True
    key: strawberry.ID = strawberry.ID("k-1")
    size: Size | None = None
    maybe: str | None = None
    maybe_colour: Colour | None = None
    when: datetime | None = None
    part: Part | None = None
    spare: Part | None = None
    broken_part: Part = strawberry.field(default_factory=lambda: Part(label="fine"))
    parts: list[Part] = strawberry.field(default_factory=list)
    maybe_parts: list[Part | None] | None = None
    tags: list[str] = strawberry.field(default_factory=list)
    colours: list[Colour] = strawberry.field(default_factory=list)
    # Plain fields holding values that break their types, as a bug would.
    broken_count: int = 0
    broken_name: str = ""

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _good(name: str) -> Item:
    return Item(
        name=name,
        count=3,
        colour=Colour.RED,
        at=AT,
        price=Decimal("12.50"),
        size=Size.LARGE,
        maybe="m",
        maybe_colour=Colour.BLUE,
        when=AT,
        part=Part(label="p", weight=Decimal("0.25")),
        parts=[Part(label="a"), Part(label="b", weight=Decimal("1"))],
        maybe_parts=[None, Part(label="c")],
        tags=["x", "y"],
        colours=[Colour.BLUE, Colour.RED],
    )


def _broken(label: str, **values: Any) -> Item:
    item = _good(label)
    for attribute, value in values.items():
        setattr(item, attribute, value)
    return item


def _items() -> list[Item | None]:
    """Good items, nulls where null is allowed, and every kind of broken value."""
    return [
        _good("ok"),
        _broken(
            "nulls",
            size=None,
            maybe=None,
            maybe_colour=None,
            when=None,
            part=None,
            maybe_parts=None,
        ),
        _broken("undefined-nullable", maybe=Undefined, part=Undefined, maybe_parts=Undefined),
        _broken("kinds", name=Named("named"), count=True, price=1.5, at=date(2026, 11, 23)),
        _broken("mixin", size="l"),  # a str equal to a member's value, not the member
        None,
        _broken("null-name", name=None),
        _broken("undefined-name", name=Undefined),
        _broken("bad-count", count="many"),
        _broken("big-count", count=2**40),
        _broken("bad-colour", colour="red"),
        _broken("other-enum", colour=Size.SMALL),
        _broken("exception-leaf", maybe=ValueError("boom")),
        _broken("exception-object", part=KeyError("gone")),
        _broken("awaitable-leaf", maybe=Later("later")),
        _broken("awaitable-object", part=Later(Part(label="later"))),
        _broken("wrong-object", part="not a part"),
        _broken("null-part-label", part=Part(label=None)),  # type: ignore[arg-type]
        _broken("null-in-list", parts=[Part(label="a"), None]),
        _broken("str-as-list", parts="ab"),
        _broken("tuple-list", parts=(Part(label="t"),), tags=("t",)),
        _broken("set-list", tags={"only"}),
        _broken("bad-tag", tags=["ok", None]),
        _broken("bad-weight", part=Part(label="w", weight="heavy")),  # type: ignore[arg-type]
        _broken("bad-colours", colours=[Colour.RED, "green"]),
        _broken("served", part=PartValue("v", Decimal("2")), parts=(PartValue("w"),)),
        _broken("served-broken", part=PartValue(None), parts=[PartValue("x"), PartValue(None)]),
    ]


@strawberry.type
class Page:
    items: list[Item | None]
    strict: list[Item]
    first: Item | None
    total: int


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        good = _good("a")
        bad = _broken("b", spare=Part(label=None), broken_count="not a number", broken_name=None)  # type: ignore[arg-type]
        bad.broken_part = Part(label=None)  # type: ignore[arg-type]
        return [good, bad]

    @strawberry.field
    def page(self) -> Page:
        items = _items()
        return Page(items=items, strict=[_good("s1"), _good("s2")], first=items[0], total=2)

    @strawberry.field
    def broken_strict(self) -> Page | None:
        # A null where the list's items are non-null: the error nulls the whole page.
        return Page(items=[], strict=[_good("s1"), _broken("s2", name=None)], first=None, total=1)

    @strawberry.field
    async def later_page(self) -> Page:
        return Page(items=[_good("l1")], strict=[], first=None, total=1)


EVERY_ITEM_FIELD = """
  name count colour at price ratio active key size maybe maybeColour when
  part { label weight } spare { label } brokenPart { label }
  parts { label weight } maybeParts { label } tags colours brokenCount brokenName
"""

DOCUMENTS = [
    # graphql-core's executor's own cases, kept from the first fast path
    "{ items { name count colour at maybe shout } }",
    "{ items { n: name c: count shout(times: 2) __typename } }",
    "{ items { ...F } } fragment F on Item { name colour maybe }",
    "query ($s: Boolean!) { items { name @skip(if: $s) count @include(if: $s) } }",
    "{ items { name brokenCount } }",  # a value that fails to coerce: a located error
    "{ items { name brokenName } }",  # null in a non-null field: the error bubbles up
    "{ items { part { label } spare { l: label } } }",  # objects; a broken one inside a nullable
    "{ items { name brokenPart { label } } }",  # a broken one inside a non-null object
    # every plain field of every item, the broken ones included: plans and fallbacks
    f"{{ page {{ total items {{ {EVERY_ITEM_FIELD} }} }} }}",
    f"{{ page {{ first {{ {EVERY_ITEM_FIELD} }} strict {{ name parts {{ label }} }} }} }}",
    # aliases, __typename at every depth, fields asked twice (merged), fragments
    """{ page { __typename t: total items { __typename n: name name
         part { __typename label } part { weight } p: part { l: label }
         ...Leaves ... on Item { colours parts { ...PartLabel } } } } }
       fragment Leaves on Item { count colour size when tags }
       fragment PartLabel on Part { label w: weight }""",
    # @skip and @include, literal and from variables (the plans' cache keys on them)
    """query ($a: Boolean!, $b: Boolean = false) { page { items {
         name @skip(if: $a) count @include(if: $a) colour @include(if: $b)
         part @include(if: true) { label @skip(if: $b) }
         ... on Item @skip(if: $b) { tags }
         ...More @include(if: $a) } } }
       fragment More on Item { price when }""",
    # a field with arguments beside plain ones: the per-field path, with plans below it
    "{ page { items { name shout(times: 2) parts { label } } } }",
    # null propagation through non-null lists and objects up to a nullable root field
    "{ brokenStrict { total strict { name colour } } }",
    "{ brokenStrict { total } laterPage { total items { name parts { label } } } }",
]

VARIABLES = [{"s": True, "a": True}, {"s": False, "a": False, "b": True}, {"s": True, "a": False}]


def _schema(executor: type[StrawberryGraphQLCoreExecutionContext]) -> strawberry.Schema:
    # ParserCache, as the service has: a repeated document is the same object, so the plans
    # compiled for it are found again (and must be told apart by @skip/@include variables).
    return strawberry.Schema(
        query=Query, execution_context_class=executor, extensions=[ParserCache]
    )


FAST = _schema(FastExecutor)
GRAPHQL_CORE = _schema(StrawberryGraphQLCoreExecutionContext)


def _plain(result: ExecutionResult) -> dict[str, Any]:
    errors = [(e.message, e.path, e.locations) for e in result.errors or []]
    # JSON text: the key order must match too (it is what a client receives).
    return {"data": json.dumps(result.data), "errors": errors}


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("variables", VARIABLES, ids=["vars0", "vars1", "vars2"])
async def test_fast_executor_matches_graphql_core(document: str, variables: dict[str, Any]) -> None:
    # The same schema object every time, so cached plans are reused across variable values.
    fast = await FAST.execute(document, variable_values=variables)
    plain = await GRAPHQL_CORE.execute(document, variable_values=variables)
    assert _plain(fast) == _plain(plain)
    # Not trivially equal: every root field resolved, and the errors come from below it.
    assert fast.data is not None or fast.errors
    assert all(len(e.path or ()) > 1 for e in fast.errors or []), fast.errors


async def test_the_comparisons_take_the_fast_paths() -> None:
    # The comparisons above mean something only if the fast paths ran: whole plain
    # selections compiled into plans, plain fields beside resolved ones read in place, and a
    # field with a resolver of its own on graphql-core's path.
    clear_plans()
    fast = _schema(FastExecutor)
    for document in DOCUMENTS:
        for variables in VARIABLES:
            await fast.execute(document, variable_values=variables)
    assert {"Page", "Item", "Part"} <= compiled_types()
    assert {"Item.name", "Item.colour", "Item.part"} <= fast_fields()
    assert "Item.shout" not in fast_fields() and "Query.items" not in fast_fields()


async def test_a_plan_is_used_for_good_values_and_left_for_broken_ones() -> None:
    # Counting the plan's calls: the good item is built by its plan; the broken one is built
    # by graphql-core (which reports the error), after its plan gave up.
    clear_plans()
    document = "{ page { items { name maybe } } }"
    result = await FAST.execute(document)
    assert result.data is not None
    names = [item and item["name"] for item in result.data["page"]["items"]]
    assert names[0] == "ok" and "exception-leaf" in names
    assert {e.path[-1] for e in result.errors or []} == {"name", "maybe"}
    assert compiled_types() == {"Page", "Item"}


async def test_fast_executor_matches_on_the_tab_page(
    services: Services, shop_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pending_requests(services.db, shop_id, [datetime.now(UTC)] * 3)
    page = """{ cancellations(tab: TO_PROCEED, sort: DEADLINE_SOONEST, first: 50) {
        edges { cursor node { id status tab respondBy requestedAt reason { code displayText }
          lines { sku title quantity unitPrice { amount currency minorUnits } }
          timeline { at actorKind actorId action fromStatus toStatus reason { code } }
          nextAction { actorKind dueAt } } }
        pageInfo { hasNextPage endCursor } } }"""
    # Fields computed on demand (subtotal, policy) beside plain ones: the per-field path.
    more = page.replace("minorUnits }", "minorUnits } subtotal { amount minorUnits }").replace(
        "nextAction {", "policy { sellerResponseWindowSeconds } nextAction {"
    )
    actor = Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({ADJUSTMENTS}))
    assert service_schema.execution_context_class is FastExecutor
    clear_plans()
    fast = [
        await service_schema.execute(d, context_value=Context(services, actor))
        for d in (page, more)
    ]
    # The whole connection is one plan, down to the money of every line.
    assert {"CancellationConnection", "Cancellation", "TimelineRecord", "Money"} <= (
        compiled_types()
    )
    monkeypatch.setattr(
        service_schema, "execution_context_class", StrawberryGraphQLCoreExecutionContext
    )
    plain = [
        await service_schema.execute(d, context_value=Context(services, actor))
        for d in (page, more)
    ]
    for f, p in zip(fast, plain, strict=True):
        assert not f.errors
        assert _plain(f) == _plain(p)
        assert len(f.data["cancellations"]["edges"]) == 3
    line = fast[1].data["cancellations"]["edges"][0]["node"]["lines"][0]
    assert line["subtotal"]["minorUnits"] == line["unitPrice"]["minorUnits"] * line["quantity"]


async def test_the_tab_page_is_built_by_its_plans_without_the_completers_checks(
    services: Services, shop_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every object of a good page is of a class its plan takes as it is: its edges too (built
    # as the generic `Edge`, served as CancellationEdge), so no row goes through the
    # completer's null and awaitable checks (per row work a page of 50 would pay 50 times).
    await pending_requests(services.db, shop_id, [datetime.now(UTC)] * 3)
    page = """{ cancellations(tab: TO_PROCEED, sort: DEADLINE_SOONEST, first: 50) {
        edges { cursor node { id status respondBy reason { code }
          lines { sku unitPrice { amount } } timeline { at action reason { code } }
          nextAction { actorKind dueAt } } }
        pageInfo { hasNextPage endCursor } } }"""
    checked: list[Any] = []
    real_check = execution_plans._allowed_null

    def counting_check(value: Any, nullable: bool) -> bool:
        checked.append(value)
        return real_check(value, nullable)

    monkeypatch.setattr(execution_plans, "_allowed_null", counting_check)
    actor = Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({ADJUSTMENTS}))
    clear_plans()
    result = await service_schema.execute(page, context_value=Context(services, actor))
    assert not result.errors and len(result.data["cancellations"]["edges"]) == 3
    assert "CancellationEdge" in compiled_types()
    assert checked == []


async def test_an_answer_is_the_compact_ascii_json_strawberry_writes(
    http: httpx.AsyncClient, services: Services, shop_id: str
) -> None:
    # The app encodes answers itself (no search for cycles in a tree just built): the bytes
    # stay json.dumps's with Strawberry's separators, non-ASCII text escaped.
    await pending_requests(services.db, shop_id, [datetime.now(UTC)] * 2)
    document = """query Page { cancellations(tab: TO_PROCEED, first: 5) {
        edges { node { id requestedAt lines { title unitPrice { amount } } } } } }"""
    headers = authorization(f"seller:agent-1@{shop_id}+adjustments")
    for query in (document, '{ cancellations(first: "\u00e9t\u00e9") { edges { cursor } } }'):
        answer = await http.post("/graphql", json={"query": query}, headers=headers)
        assert answer.content == json.dumps(answer.json(), separators=(",", ":")).encode()
        assert answer.json().get("data") or "\\u00e9t\\u00e9" in answer.text

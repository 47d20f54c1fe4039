"""The fast leaf path gives exactly what graphql-core's own executor gives: data, errors, paths."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from models.actors import ADJUSTMENTS, Actor, ActorKind
from resolvers.context import Context
from resolvers.fast_execution import LeafFastPathExecutor, fast_fields
from resolvers.schema import schema as service_schema
from services.bootstrap import Services
from tests.factories import pending_requests


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Part:
    label: str


@strawberry.type
class Item:
    name: str
    count: int
    colour: Colour
    at: datetime
    maybe: str | None = None
    part: Part | None = None
    spare: Part | None = None
    broken_part: Part = strawberry.field(default_factory=lambda: Part(label="fine"))
    # Plain fields holding values that break their types, as a bug would.
    broken_count: int = 0
    broken_name: str = ""

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
        good = Item(name="a", count=1, colour=Colour.RED, at=at, maybe="m", part=Part(label="p"))
        bad = Item(name="b", count=2, colour=Colour.BLUE, at=at, spare=Part(label=None))  # type: ignore[arg-type]
        bad.broken_part = Part(label=None)  # type: ignore[arg-type]
        bad.broken_count = "not a number"  # type: ignore[assignment]
        bad.broken_name = None  # type: ignore[assignment]
        return [good, bad]


DOCUMENTS = [
    "{ items { name count colour at maybe shout } }",
    "{ items { n: name c: count shout(times: 2) __typename } }",
    "{ items { ...F } } fragment F on Item { name colour maybe }",
    "query ($s: Boolean!) { items { name @skip(if: $s) count @include(if: $s) } }",
    "{ items { name brokenCount } }",  # a value that fails to coerce: a located error
    "{ items { name brokenName } }",  # null in a non-null field: the error bubbles up
    "{ items { part { label } spare { l: label } } }",  # objects; a broken one inside a nullable
    "{ items { name brokenPart { label } } }",  # a broken one inside a non-null object
]


def _schema(executor: type[StrawberryGraphQLCoreExecutionContext]) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=executor)


def _plain(result: ExecutionResult) -> dict[str, Any]:
    errors = [(e.message, e.path, e.locations) for e in result.errors or []]
    return {"data": result.data, "errors": errors}


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_fast_path_matches_graphql_core(document: str) -> None:
    variables = {"s": True}
    fast = await _schema(LeafFastPathExecutor).execute(document, variable_values=variables)
    plain = await _schema(StrawberryGraphQLCoreExecutionContext).execute(
        document, variable_values=variables
    )
    assert _plain(fast) == _plain(plain)
    assert fast.data is not None or fast.errors  # the documents are not trivially empty


async def test_the_comparisons_take_the_fast_path() -> None:
    # The comparisons above mean something only if the fast path ran: plain leaves and plain
    # objects took it, a field with a resolver of its own did not.
    fast = _schema(LeafFastPathExecutor)
    for document in DOCUMENTS:
        await fast.execute(document, variable_values={"s": True})
    assert {"Item.name", "Item.colour", "Item.part", "Part.label"} <= fast_fields()
    assert "Item.shout" not in fast_fields() and "Query.items" not in fast_fields()


async def test_fast_path_matches_on_the_tab_page(
    services: Services, shop_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pending_requests(services.db, shop_id, [datetime.now(UTC)] * 3)
    page = """{ cancellations(tab: TO_PROCEED, sort: DEADLINE_SOONEST, first: 50) {
        edges { cursor node { id status tab respondBy requestedAt reason { code displayText }
          lines { sku title quantity unitPrice { amount currency minorUnits } }
          timeline { at actorKind actorId action fromStatus toStatus reason { code } }
          nextAction { actorKind dueAt } } }
        pageInfo { hasNextPage endCursor } } }"""
    actor = Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({ADJUSTMENTS}))
    assert service_schema.execution_context_class is LeafFastPathExecutor
    fast = await service_schema.execute(page, context_value=Context(services, actor))
    monkeypatch.setattr(
        service_schema, "execution_context_class", StrawberryGraphQLCoreExecutionContext
    )
    plain = await service_schema.execute(page, context_value=Context(services, actor))
    assert not fast.errors
    assert _plain(fast) == _plain(plain)
    assert len(fast.data["cancellations"]["edges"]) == 3
    assert {"Cancellation.status", "TimelineRecord.at", "Money.currency"} <= fast_fields()

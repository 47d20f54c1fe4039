"""The union policy of mutation results, read from the schema: one union per result type."""

from __future__ import annotations

from collections import defaultdict

from graphql import GraphQLNonNull, GraphQLUnionType

from resolvers.schema import schema

COMMON = {"NotFoundError", "ForbiddenError", "ValidationError", "IdempotencyKeyReusedError"}
# The result types of the request features: cancellations, after-sales, orders, tickets.
RESULTS = {"Cancellation", "AfterSale", "Order", "Ticket", "TicketRule", "DryRun", "ShopAgents"}


def _unions_by_result() -> dict[str, set[str]]:
    """For each result type, the names of the unions its mutations answer."""
    found: dict[str, set[str]] = defaultdict(set)
    mutation = schema._schema.mutation_type
    assert mutation is not None
    for field in mutation.fields.values():
        union = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if not isinstance(union, GraphQLUnionType):
            continue
        for member in union.types:
            if member.name in RESULTS:
                found[member.name].add(union.name)
    return found


def test_every_mutation_of_a_result_type_answers_the_same_union() -> None:
    found = _unions_by_result()
    assert set(found) == RESULTS
    assert {result: len(unions) for result, unions in found.items()} == dict.fromkeys(RESULTS, 1)


def test_every_result_union_has_the_common_errors() -> None:
    for result, names in _unions_by_result().items():
        for name in names:
            union = schema._schema.get_type(name)
            assert isinstance(union, GraphQLUnionType)
            assert {m.name for m in union.types} >= COMMON, (result, name)

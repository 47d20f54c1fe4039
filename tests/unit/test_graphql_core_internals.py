"""What graphql_runtime/ assumes of graphql-core beyond its documented API, one assumption a test.

An upgrade that breaks one fails here by name, instead of as a wrong answer, a slower one, or a
limit that quietly stopped holding somewhere else. docs/architecture.md lists each use.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping_fields
import pytest
import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLString,
    build_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import gather_with_cancel, is_awaitable
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_int, serialize_string
from graphql.validation.validate import ValidationAbortedError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_runtime import validation_cache
from graphql_runtime.execution_plans import clear_plans, compiled_types
from graphql_runtime.fast_execution import FastExecutor


@strawberry.type
class Part:
    label: str


@strawberry.type
class Item:
    name: str
    part: Part


@strawberry.type
class Query:
    @strawberry.field
    def item(self) -> Item:
        return Item(name="one", part=Part(label="p"))


DOCUMENT = "{ item { name part { label } } }"


def test_graphql_core_reads_the_overlap_budget_from_its_module_at_each_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # graphql_runtime/validation_cache.py lowers the field-merging rule's budget by setting the
    # module's global; the rule must read that global each time it runs and abort with
    # ValidationAbortedError("Validation aborted."), the message the cache rewrites.
    assert overlapping_fields.MAX_COMPLEXITY_BUDGET == 10_000
    schema = build_schema("type Query { f: Int g: Int }")
    document = parse("{ ...A ...B } fragment A on Query { f g } fragment B on Query { f g }")
    assert validate(schema, document) == []
    monkeypatch.setattr(overlapping_fields, "MAX_COMPLEXITY_BUDGET", 1)
    errors = validate(schema, document)
    assert [type(e) for e in errors] == [ValidationAbortedError]
    assert errors[0].message == "Validation aborted."
    ours = validation_cache.validate_document(schema, document, tuple(specified_rules))
    assert [e.message for e in ours] == [validation_cache.TOO_COMPLEX]


def test_graphql_core_executes_through_the_methods_the_fast_executor_overrides() -> None:
    # FastExecutor overrides execute_fields and collect_and_execute_subfields: graphql-core
    # must still call them by these names with these parameters, or the fast paths are skipped
    # (answers stay right, the benchmarks' figures do not).
    class Recording(StrawberryGraphQLCoreExecutionContext):
        calls: ClassVar[set[str]] = set()

        def execute_fields(self, *args: Any) -> Any:
            Recording.calls.add("execute_fields")
            return super().execute_fields(*args)

        def collect_and_execute_subfields(self, *args: Any) -> Any:
            Recording.calls.add("collect_and_execute_subfields")
            return super().collect_and_execute_subfields(*args)

    schema = strawberry.Schema(query=Query, execution_context_class=Recording)
    result = schema.execute_sync(DOCUMENT)
    assert result.errors is None
    assert Recording.calls == {"execute_fields", "collect_and_execute_subfields"}
    base = StrawberryGraphQLCoreExecutionContext
    for name in ("execute_fields", "collect_and_execute_subfields"):
        ours = list(inspect.signature(getattr(FastExecutor, name)).parameters)
        theirs = list(inspect.signature(getattr(base, name)).parameters)
        assert ours == theirs, name


def test_graphql_core_executor_has_what_the_fast_executor_reads_and_calls() -> None:
    # The attributes and helpers FastExecutor and the plans use, by name and parameters.
    schema = strawberry.Schema(query=Query)
    built = FastExecutor.build(schema._schema, parse(DOCUMENT), hide_suggestions=True)
    assert isinstance(built, FastExecutor)
    assert built.operation.selection_set is not None
    assert isinstance(built.fragment_definitions, dict)
    assert isinstance(built.variable_values.coerced, dict)
    assert built.middleware_manager is None or hasattr(built.middleware_manager, "middlewares")
    assert built.schema is schema._schema
    expected = {
        "execute_field": ["self", "parent_type", "source", "field_details_list", "path"],
        "handle_field_error": ["self", "raw_error", "return_type", "field_details_list", "path"],
        "settle_in_background": ["self", "awaitables"],
        "collect_subfields": ["self", "return_type", "field_details_list"],
    }
    for name, parameters in expected.items():
        signature = list(inspect.signature(getattr(built, name).__func__).parameters)
        assert signature[: len(parameters)] == parameters, name
    assert (
        "hide_suggestions"
        in inspect.signature(StrawberryGraphQLCoreExecutionContext.build).parameters
    )
    assert callable(gather_with_cancel) and callable(is_awaitable)


def test_graphql_core_collects_subfields_as_the_plans_read_them() -> None:
    # graphql_runtime/execution_plans.py::_compile unpacks collect_subfields into three and
    # reads each FieldDetails' node and fragment_variable_values.
    collected: list[Any] = []

    class Collecting(FastExecutor):
        def collect_subfields(self, *args: Any) -> Any:
            result = super().collect_subfields(*args)
            collected.append(result)
            return result

    clear_plans()
    schema = strawberry.Schema(query=Query, execution_context_class=Collecting)
    assert schema.execute_sync(DOCUMENT).data == {"item": {"name": "one", "part": {"label": "p"}}}
    assert "Item" in compiled_types()
    assert collected
    for result in collected:
        grouped_field_set, new_defer_usages, _ = result
        assert not new_defer_usages
        for details in grouped_field_set.values():
            assert all(isinstance(d, FieldDetails) for d in details)
            assert all(d.node.name.value and d.fragment_variable_values is None for d in details)


def test_graphql_core_coerces_builtin_scalars_with_the_functions_plans_inline() -> None:
    # Plans replace these coercions by a type check when the scalar's coercion is this exact
    # function (graphql_runtime/execution_plans.py::_fast_check); else every leaf takes the
    # slower completer.
    assert GraphQLString.coerce_output_value is serialize_string
    assert GraphQLID.coerce_output_value is serialize_id
    assert GraphQLInt.coerce_output_value is serialize_int
    assert GraphQLBoolean.coerce_output_value is serialize_boolean

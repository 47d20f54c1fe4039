"""A faster path through graphql-core for plain leaf fields, with the same results and errors.

A page of 50 requests with their lines and timeline is ~1,750 fields, most of them plain
attributes read into a scalar or an enum (`status`, `at`, `minorUnits`). graphql-core executes each
one the general way: a response path and a `GraphQLResolveInfo` built, the resolver called through
the middleware chain, the value completed through the non-null, list, abstract and object checks.
For a field that Strawberry marks as basic (no resolver of ours, no arguments, no permission or
field extensions: `StrawberryField.is_basic_field`) whose type is a scalar or an enum, none of that
can change the outcome, so this executor reads the attribute and coerces it in place.

Anything unusual takes graphql-core's own path, so the response and its errors stay exactly what
graphql-core gives: a null or a value that fails to coerce (graphql-core then raises and locates
the error), an operation with resolve middleware (a schema extension with a `resolve` hook), and
every other field. `tests/test_fast_execution.py` compares the two executors on the same documents.
Measured by benchmarks/tab_query.py (the GraphQL overhead of the To Proceed page).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import GraphQLLeafType, GraphQLNonNull, GraphQLObjectType, Undefined, is_leaf_type
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# How to read one field fast: the attribute getter, the leaf type, and whether it is non-null.
Plan = tuple[Callable[[Any], Any], GraphQLLeafType, bool]
_NO_PLAN = object()
# Keyed by the parent type object and the field's name; a schema's types live as long as it.
_plans: dict[tuple[int, str], tuple[GraphQLObjectType, Plan | None]] = {}


def _plan_for(parent_type: GraphQLObjectType, name: str) -> Plan | None:
    key = (id(parent_type), name)
    cached = _plans.get(key)
    if cached is not None and cached[0] is parent_type:
        return cached[1]
    plan: Plan | None = None
    field_def = parent_type.fields.get(name)
    if field_def is not None and not field_def.args:
        definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        non_null = isinstance(field_def.type, GraphQLNonNull)
        leaf = field_def.type.of_type if non_null else field_def.type
        if (
            isinstance(definition, StrawberryField)
            and definition.is_basic_field
            and definition.default_resolver is getattr
            and getattr(field_def.resolve, "_is_default", False)
            and is_leaf_type(leaf)
        ):
            plan = (attrgetter(definition.python_name), leaf, non_null)
    _plans[key] = (parent_type, plan)
    return plan


def fast_fields() -> set[str]:
    """`Type.field` of every field read on the fast path so far (for tests and curiosity)."""
    return {f"{parent.name}.{name}" for (_, name), (parent, plan) in _plans.items() if plan}


class LeafFastPathExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `Executor.execute_fields`, with basic leaf fields read in place."""
        middleware = self.middleware_manager
        fast = not middleware or not middleware.middlewares
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                plan = _plan_for(parent_type, node.name.value) if fast else None
                if plan is not None and not node.arguments:
                    getter, leaf, non_null = plan
                    value: Any = _NO_PLAN
                    try:
                        value = getter(source_value)
                        if value is not None:
                            coerced = leaf.coerce_output_value(value)
                            if coerced is not None and coerced is not Undefined:
                                results[response_name] = coerced
                                continue
                    except Exception:  # graphql-core's path below raises it again and locates it
                        value = _NO_PLAN
                    if value is None and not non_null:
                        results[response_name] = None
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

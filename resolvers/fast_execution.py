"""A faster path through graphql-core for plain leaf fields, with the same results and errors.

A page of 50 requests with their lines and timeline is ~1,750 fields, most of them plain
attributes read into a scalar or an enum (`status`, `at`, `minorUnits`). graphql-core executes each
one the general way: a response path and a `GraphQLResolveInfo` built, the resolver called through
the middleware chain, the value completed through the non-null, list, abstract and object checks.
For a field that Strawberry marks as basic (no resolver of ours, no arguments, no permission or
field extensions: `StrawberryField.is_basic_field`) whose type is a scalar or an enum, none of that
can change the outcome, so this executor reads the attribute and coerces it in place; for one
whose type is an object type with no `is_type_of` check, it reads the attribute and executes the
sub-selection at once, handling errors where graphql-core's `execute_field` does.

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

# How to read one field fast: its attribute getter, its type with NonNull taken off (a scalar or an
# enum, coerced in place; or an object type, whose sub-fields are executed at once), whether it is
# non-null, and whether it is a leaf.
Plan = tuple[Callable[[Any], Any], GraphQLLeafType | GraphQLObjectType, bool, bool]
_NO_VALUE = object()
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
        named = field_def.type.of_type if non_null else field_def.type
        # An object type without `is_type_of` is completed by graphql-core with no check at all.
        plain_object = isinstance(named, GraphQLObjectType) and named.is_type_of is None
        if (
            isinstance(definition, StrawberryField)
            and definition.is_basic_field
            and definition.default_resolver is getattr
            and getattr(field_def.resolve, "_is_default", False)
            and (is_leaf_type(named) or plain_object)
        ):
            plan = (attrgetter(definition.python_name), named, non_null, not plain_object)
    _plans[key] = (parent_type, plan)
    return plan


def fast_fields() -> set[str]:
    """`Type.field` of every field read on the fast path so far (for tests and curiosity)."""
    return {f"{parent.name}.{name}" for (_, name), (parent, plan) in _plans.items() if plan}


# One selection's fields with their plans (None: graphql-core's path). graphql-core memoizes the
# selection of a list's items, so the 50 items of a page share one entry.
_Selection = list[tuple[str, Any, Plan | None]]


class LeafFastPathExecutor(StrawberryGraphQLCoreExecutionContext):
    _selections: dict[tuple[int, int], tuple[Any, _Selection]] | None = None

    def _selection(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Selection:
        if self._selections is None:
            self._selections = {}
        key = (id(parent_type), id(grouped_field_set))
        cached = self._selections.get(key)
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        middleware = self.middleware_manager
        fast = not middleware or not middleware.middlewares
        selection = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            plan = None
            if fast and not node.arguments:
                plan = _plan_for(parent_type, node.name.value)
            selection.append((response_name, field_details_list, plan))
        self._selections[key] = (grouped_field_set, selection)
        return selection

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `Executor.execute_fields`, with plain fields read in place."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, plan in self._selection(
                parent_type, grouped_field_set
            ):
                if plan is not None:
                    getter, named, non_null, leaf = plan
                    try:
                        value = getter(source_value)
                    except Exception:  # graphql-core's path below raises it again and locates it
                        value = _NO_VALUE
                    if value is None:
                        if not non_null:
                            results[response_name] = None
                            continue
                    elif value is not _NO_VALUE:
                        if leaf:
                            try:
                                coerced = named.coerce_output_value(value)
                            except Exception:
                                coerced = None
                            if coerced is not None and coerced is not Undefined:
                                results[response_name] = coerced
                                continue
                        else:
                            result = self._complete_plain_object(
                                named,
                                parent_type,
                                value,
                                field_details_list,
                                path,
                                response_name,
                                position_context,
                            )
                            results[response_name] = result
                            if is_awaitable(result):
                                awaitable_fields.append(response_name)
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

    def _complete_plain_object(
        self,
        object_type: GraphQLObjectType,
        parent_type: GraphQLObjectType,
        value: Any,
        field_details_list: Any,
        path: Path | None,
        response_name: str,
        position_context: Any,
    ) -> Any:
        """What graphql-core's execute_field does once the resolver returned `value` and
        complete_value reached complete_object_value, with errors handled the same way."""
        field_path = Path(path, response_name, parent_type.name)
        return_type = parent_type.fields[field_details_list[0].node.name.value].type
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, field_path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, field_path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, field_path)
                return None

        return await_completed()

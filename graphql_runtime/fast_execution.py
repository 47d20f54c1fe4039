"""graphql-core's executor with two shortcuts for plain fields, same results and errors.

A page of 50 requests with their lines and timeline is ~2,150 fields, nearly all plain attributes
read into a scalar, an enum or an object (`status`, `at`, `unitPrice { amount }`). graphql-core
executes each one the general way: a response path and a `GraphQLResolveInfo` built, the resolver
called through the middleware chain, the value completed through the non-null, list, abstract and
object checks. For plain fields none of that can change the outcome, so:

1. An object whose whole sub-selection is plain, at any depth (lists of plain objects included),
   is built by a compiled plan (graphql_runtime/execution_plans.py): one generated function per
   selection set, cached per operation. The To Proceed page's connection is one such object.
2. In a selection set that mixes plain fields with resolved ones, each plain leaf (a scalar or an
   enum) is read and coerced in place, and a plain object field is read and completed at once
   (its own selection may then have a plan).

Anything unusual takes graphql-core's own path, so the response and its errors stay exactly what
graphql-core gives: a null where the type is non-null, a value that fails to coerce (graphql-core
then raises and locates the error), an operation with resolve middleware (a schema extension
with a `resolve` hook), @defer/@stream, and every field with a resolver or arguments.
`tests/api/graphql/test_fast_execution.py` compares this executor with graphql-core's on the same
documents. Measured by benchmarks/tab_query.py (the GraphQL overhead of the To Proceed page) and
benchmarks/executor.py (the executors alone).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import GraphQLLeafType, GraphQLNonNull, GraphQLObjectType, Undefined, is_leaf_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_runtime.execution_plans import (
    Builder,
    OperationPlans,
    compile_selection,
    plain_attribute,
    plain_object_classes,
    plans_for,
    unusual,
)
from graphql_runtime.limits import suggestions_hidden

# How to read one field in place: its attribute getter, its type with NonNull taken off (a scalar
# or an enum, coerced in place; or an object type, whose sub-fields are executed at once), whether
# it is non-null, and whether it is a leaf.
FieldPlan = tuple[Callable[[Any], Any], GraphQLLeafType | GraphQLObjectType, bool, bool]
_NO_VALUE = object()
# Keyed by the parent type object and the field's name; a schema's types live as long as it.
_field_plans: dict[tuple[int, str], tuple[GraphQLObjectType, FieldPlan | None]] = {}


def _field_plan(parent_type: GraphQLObjectType, name: str) -> FieldPlan | None:
    key = (id(parent_type), name)
    cached = _field_plans.get(key)
    if cached is not None and cached[0] is parent_type:
        return cached[1]
    plan: FieldPlan | None = None
    attribute = plain_attribute(parent_type, name)
    if attribute is not None:
        field_type = parent_type.fields[name].type
        non_null = isinstance(field_type, GraphQLNonNull)
        named = field_type.of_type if non_null else field_type
        # An object type without `is_type_of` is completed by graphql-core with no check at all.
        plain_object = isinstance(named, GraphQLObjectType) and named.is_type_of is None
        if is_leaf_type(named) or plain_object:
            plan = (attrgetter(attribute), named, non_null, not plain_object)
    _field_plans[key] = (parent_type, plan)
    return plan


def fast_fields() -> set[str]:
    """`Type.field` of every field read in place so far (for tests and curiosity)."""
    return {f"{parent.name}.{name}" for (_, name), (parent, plan) in _field_plans.items() if plan}


# One selection's fields with their plans (None: graphql-core's path). graphql-core memoizes the
# selection of a list's items, so the 50 items of a page share one entry.
_Selection = list[tuple[str, Any, FieldPlan | None]]


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    _selections: dict[tuple[int, int], tuple[Any, _Selection]] | None = None
    # Per execution: the plan of each (object type, field details list) met, None for none.
    _builders: dict[tuple[int, int], tuple[FieldDetailsList, Builder | None]] | None = None
    _plans: OperationPlans | None = None
    _plans_ready = False

    @classmethod
    def build(  # type: ignore[override]
        cls,
        schema: Any,
        document: Any,
        root_value: Any = None,
        context_value: Any = None,
        *args: Any,
        hide_suggestions: bool = False,
        **kwargs: Any,
    ) -> Any:
        """graphql-core's, with suggestions left out of variable errors where the context's
        guard hides them (graphql_runtime/limits.py::suggestions_hidden)."""
        hide_suggestions = hide_suggestions or suggestions_hidden(context_value)
        return super().build(
            schema,
            document,
            root_value,
            context_value,
            *args,
            hide_suggestions=hide_suggestions,
            **kwargs,
        )

    def _no_middleware(self) -> bool:
        middleware = self.middleware_manager
        return not middleware or not middleware.middlewares

    @property
    def plans(self) -> OperationPlans:
        assert self._plans is not None
        return self._plans

    def _builder(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Builder | None:
        if self._builders is None:
            self._builders = {}
        key = (id(object_type), id(field_details_list))
        cached = self._builders.get(key)
        if cached is not None and cached[0] is field_details_list:
            return cached[1]
        build = None
        if not self._plans_ready:
            self._plans_ready = True
            if self._no_middleware():
                self._plans = plans_for(
                    self.schema,
                    self.operation,
                    tuple(self.fragment_definitions.values()),
                    self.variable_values.coerced,
                )
        if self._plans is not None and plain_object_classes(object_type):
            build = compile_selection(self, object_type, field_details_list)
        self._builders[key] = (field_details_list, build)  # holds the list: its id stays unique
        return build

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """An object whose sub-selection is all plain is built by its plan; when the plan meets
        anything unusual, graphql-core's path builds it and reports what it must."""
        if position_context is None:
            build = self._builder(return_type, field_details_list)
            if build is not None:
                try:
                    return build(result)
                except Exception:
                    pass
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )

    def _selection(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Selection:
        if self._selections is None:
            self._selections = {}
        key = (id(parent_type), id(grouped_field_set))
        cached = self._selections.get(key)
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        fast = self._no_middleware()
        selection = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            plan = None
            if fast and not node.arguments:
                plan = _field_plan(parent_type, node.name.value)
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
                    elif value is not _NO_VALUE and not unusual(value):
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

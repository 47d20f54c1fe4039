"""Compiled execution plans: one generated function per selection set made only of plain fields.

graphql-core completes a page of 50 requests with their lines and timeline field by field: ~2,150
response paths, resolve infos and completion calls. When every field a selection set asks for is
plain (no resolver of ours, no arguments: Strawberry's basic field read with `getattr`) and its
type is a scalar, an enum, an object type without `is_type_of`, or a list of those, the answer
is fixed by the values alone; so the selection set is compiled once into a Python function that
reads the attributes and builds the response dict in one pass, nested selections and lists
included.

A plan never produces an error itself. Whatever graphql-core would treat as anything but a plain
value (a null where the type is non-null, a value that fails to coerce or coerces to null, an
exception or an awaitable as a value, a list that is not a list or tuple) makes the plan raise
`Fallback`, and the executor completes that object through graphql-core's own path
(graphql_runtime/fast_execution.py), which gives the errors, their paths and the null propagation.
Reads are plain attribute reads, so running them again there changes nothing.

Plans are cached per schema, operation (with its fragments) and the values of the variables its
@skip/@include directives read, so a repeated query compiles once. Field names, aliases and
type names from the document never become source code: they are bound as constants.
"""

from __future__ import annotations

import keyword
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from graphql import (
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    VariableNode,
    is_leaf_type,
)
from graphql.language import Visitor, visit
from graphql.pyutils import is_awaitable
from graphql.type.scalars import (
    serialize_boolean,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema.types import base_scalars
from strawberry.types.field import StrawberryField

if TYPE_CHECKING:
    from graphql.execution.collect_fields import FieldDetailsList

    from graphql_runtime.fast_execution import FastExecutor

Builder = Callable[[Any], dict[str, Any]]

MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
MAX_OPERATIONS = 256  # cached operations (documents are cached by ParserCache alike)
MAX_DIRECTIVE_VARIANTS = 16  # per operation: distinct values of its @skip/@include variables


class Fallback(Exception):
    """The plan met a value it does not complete exactly as graphql-core: use graphql-core."""


# ---- plain fields ---------------------------------------------------------------------------


def plain_attribute(parent_type: GraphQLObjectType, name: str) -> str | None:
    """The Python attribute a field reads when Strawberry would just `getattr` it, else None."""
    field_def = parent_type.fields.get(name)
    if field_def is None or field_def.args:
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field_def.resolve
    if (
        isinstance(definition, StrawberryField)
        and definition.is_basic_field
        and definition.default_resolver is getattr
        and getattr(resolve, "_is_default", False)
        # Strawberry's resolver for a basic field without exception handlers (those wrap it)
        and getattr(resolve, "__name__", "") == "_get_basic_result"
    ):
        return definition.python_name
    return None


# Python classes whose instances are served as a Strawberry type as they are (same attribute
# names, no copy per row), besides the type's own class: see `serve_from`.
_served_from: dict[type, tuple[type, ...]] = {}


def _ordinary(cls: object) -> bool:
    """Instances are never an exception or an awaitable (graphql-core treats those apart)."""
    return (
        isinstance(cls, type)
        and not issubclass(cls, BaseException)
        and not hasattr(cls, "__await__")
    )


def serve_from(strawberry_type: type, *classes: type) -> None:
    """Declare that instances of `classes` are served as `strawberry_type` as they are: it
    declares their attribute names, so resolvers hand out those objects without a copy. Plans
    take them on their fast path like the type's own instances."""
    if not all(_ordinary(cls) for cls in classes):
        raise TypeError(f"{classes}: exceptions and awaitables cannot be served as objects")
    _served_from[strawberry_type] = (*_served_from.get(strawberry_type, ()), *classes)


def plain_object_classes(object_type: GraphQLObjectType) -> tuple[type, ...]:
    """The Python classes whose instances a plan builds as this object type (completed with no
    check: no is_type_of); empty when it has none."""
    if object_type.is_type_of is not None:
        return ()
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    if not _ordinary(origin):
        return ()
    # A generic type's specialisation (`Edge[Cancellation]`, CancellationEdge) is a subclass
    # Strawberry makes; resolvers build the generic class itself (`Edge(...)`), so a page's
    # edges would each take the completer's checks instead of this path.
    generic = getattr(getattr(definition, "concrete_of", None), "origin", None)
    plain = (origin, generic) if _ordinary(generic) and generic is not origin else (origin,)
    return (*_served_from.get(origin, ()), *plain)  # served values first: the usual ones


# ---- the values a plan falls back on --------------------------------------------------------


def unusual(value: Any) -> bool:
    """A value graphql-core raises, awaits or otherwise treats specially."""
    return value is Undefined or isinstance(value, Exception) or is_awaitable(value)


def _allowed_null(value: Any, nullable: bool) -> bool:
    """True for a null the field may hold. Fallback for a null in a non-null field, and for a
    value graphql-core treats specially: its own path reports them."""
    if value is None or value is Undefined:
        if nullable:
            return True
        raise Fallback
    if unusual(value):
        raise Fallback
    return False


def _leaf_completer(leaf: GraphQLLeafType, nullable: bool) -> Callable[[Any], Any]:
    coerce = leaf.coerce_output_value

    def complete(value: Any) -> Any:
        if _allowed_null(value, nullable):
            return None
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Fallback
        return coerced

    return complete


def _object_completer(build: Builder, nullable: bool) -> Callable[[Any], Any]:
    def complete(value: Any) -> Any:
        return None if _allowed_null(value, nullable) else build(value)

    return complete


def _list_completer(nullable: bool) -> Callable[[Any], Any]:
    """For a list field whose value is not a list or a tuple: null, or graphql-core's path."""

    def complete(value: Any) -> Any:
        if (value is None or value is Undefined) and nullable:
            return None
        raise Fallback

    return complete


# ---- compiling ------------------------------------------------------------------------------


@dataclass
class _Source:
    """The generated function being written, with the constants it refers to."""

    lines: list[str] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)

    def constant(self, value: Any) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name


# Strawberry's coercions that turn a value of these exact classes into a string, never None
# (DateTime, Date, Time: isoformat; Decimal, UUID: str).
_TRUSTED_COERCIONS: tuple[tuple[Any, tuple[type, ...]], ...] = (
    (base_scalars.isoformat, (datetime, date, time)),
    (str, (Decimal, UUID)),
)


def _fast_check(leaf: GraphQLLeafType, source: _Source) -> tuple[str, str] | None:
    """(condition on `v` under which graphql-core's coercion returns `v` itself, or the
    expression it returns), for the coercions whose result is known; else None."""
    coerce = leaf.coerce_output_value
    if coerce is serialize_string or coerce is serialize_id:
        return "type(v) is str", "v"
    if coerce is serialize_boolean:
        return "type(v) is bool", "v"
    if coerce is serialize_int:
        return f"type(v) is int and {MIN_INT} <= v <= {MAX_INT}", "v"
    for trusted, classes in _TRUSTED_COERCIONS:
        if coerce is trusted:
            checks = " or ".join(f"type(v) is {source.constant(c)}" for c in classes)
            return checks, f"{source.constant(coerce)}(v)"
    wrapped = getattr(leaf, "wrapped_cls", None)  # Strawberry's enum types
    if (
        isinstance(leaf, GraphQLEnumType)
        and isinstance(wrapped, type)
        and issubclass(wrapped, Enum)
    ):
        # Keyed by the member's value: a str or int hashes in C, an Enum member in Python.
        names: dict[Any, Any] = {}
        for member in wrapped:
            try:
                coerced = coerce(member)
                names[member._value_] = coerced
            except Exception:
                return None
            if coerced is None or coerced is Undefined:
                return None
        table, cls = source.constant(names), source.constant(wrapped)
        return f"type(v) is {cls}", f"{table}[v._value_]"
    return None


def _value_expression(
    executor: FastExecutor,
    of_type: Any,
    field_details_list: FieldDetailsList,
    source: _Source,
) -> str | None:
    """An expression completing `v` (the value read) to `of_type`, or None when not plain."""
    nullable = not isinstance(of_type, GraphQLNonNull)
    named = of_type if nullable else of_type.of_type
    # A null in a nullable place is null, without a call (the completer says so too).
    otherwise = "None if v is None else " if nullable else ""
    if is_leaf_type(named):
        complete = source.constant(_leaf_completer(named, nullable))
        fast = _fast_check(named, source)
        if fast is None:
            return f"({otherwise}{complete}(v))"
        condition, result = fast
        return f"({result} if {condition} else {otherwise}{complete}(v))"
    if isinstance(named, GraphQLObjectType):
        classes = plain_object_classes(named)
        build = compile_selection(executor, named, field_details_list) if classes else None
        if build is None:
            return None
        b = source.constant(build)
        complete = source.constant(_object_completer(build, nullable))
        check = " or ".join(f"type(v) is {source.constant(cls)}" for cls in classes)
        return f"({b}(v) if {check} else {otherwise}{complete}(v))"
    if isinstance(named, GraphQLList):
        item_type = named.of_type
        inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if isinstance(inner, GraphQLList):
            return None  # lists of lists take graphql-core's path
        item = _value_expression(executor, item_type, field_details_list, source)
        if item is None:
            return None
        complete = source.constant(_list_completer(nullable))
        # `v` is rebound per item inside the comprehension.
        return f"([{item} for v in v] if type(v) is list or type(v) is tuple else {complete}(v))"
    return None


def compile_selection(
    executor: FastExecutor, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
) -> Builder | None:
    """A function building the response dict of `object_type` for the sub-selection of
    `field_details_list`, or None when a field in it (at any depth) is not plain."""
    plans = executor.plans
    key = (id(object_type), tuple(id(details.node) for details in field_details_list))
    if key in plans.builders:
        return plans.builders[key]
    plans.builders[key] = None  # a cycle back here is not plain (and cannot be: depth limit)
    build = _compile(executor, object_type, field_details_list)
    plans.builders[key] = build
    return build


def _compile(
    executor: FastExecutor, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
) -> Builder | None:
    grouped_field_set, new_defer_usages, _ = executor.collect_subfields(
        object_type, field_details_list
    )
    if new_defer_usages:
        return None
    source = _Source()
    entries: list[str] = []
    for index, (response_name, details) in enumerate(grouped_field_set.items()):
        if any(d.fragment_variable_values is not None for d in details):
            return None
        if any(d.node.arguments for d in details):
            return None
        name = details[0].node.name.value
        key = source.constant(response_name)
        if name == "__typename":
            entries.append(f"{key}: {source.constant(object_type.name)}")
            continue
        attribute = plain_attribute(object_type, name)
        if attribute is None or not attribute.isidentifier() or keyword.iskeyword(attribute):
            return None
        expression = _value_expression(executor, object_type.fields[name].type, details, source)
        if expression is None:
            return None
        source.lines.append(f"    v = src.{attribute}")
        source.lines.append(f"    f{index} = {expression}")
        entries.append(f"{key}: f{index}")
    body = "\n".join(source.lines)
    code = f"def build(src):\n{body}\n    return {{{', '.join(entries)}}}\n"
    namespace = dict(source.constants)
    exec(compile(code, f"<plan for {object_type.name}>", "exec"), namespace)
    build: Builder = namespace["build"]
    build.__doc__ = code  # the generated source, for whoever debugs a plan
    _compiled_types.add(object_type.name)
    return build


# ---- the cache ------------------------------------------------------------------------------


@dataclass
class OperationPlans:
    """The builders of one operation for one set of @skip/@include variable values, keyed by
    object type and the field nodes of the selection (ids: the document is held alive by its
    `_Operation` entry, or by the execution that holds these plans)."""

    builders: dict[tuple[int, tuple[int, ...]], Builder | None] = field(default_factory=dict)


@dataclass
class _Operation:
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: tuple[FragmentDefinitionNode, ...]
    directive_variables: tuple[str, ...]
    variants: dict[tuple[Any, ...], OperationPlans] = field(default_factory=dict)


_compiled_types: set[str] = set()
_operations: OrderedDict[tuple[int, int, tuple[int, ...]], _Operation] = OrderedDict()


class _DirectiveVariables(Visitor):
    """The variables read by @skip and @include: they decide which fields are collected."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: Any, *_: Any) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments or ():
                visit(argument.value, self._Variables(self.names))

    class _Variables(Visitor):
        def __init__(self, names: set[str]) -> None:
            super().__init__()
            self.names = names

        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            self.names.add(node.name.value)


def _directive_variables(
    operation: OperationDefinitionNode, fragments: tuple[FragmentDefinitionNode, ...]
) -> tuple[str, ...]:
    finder = _DirectiveVariables()
    for node in (operation, *fragments):
        visit(node, finder)
    return tuple(sorted(finder.names))


def plans_for(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: tuple[FragmentDefinitionNode, ...],
    variables: dict[str, Any],
) -> OperationPlans | None:
    """The cached plans of this operation with these variables; None when the directive
    variables' values cannot key a cache (not hashable)."""
    key = (id(schema), id(operation), tuple(id(f) for f in fragments))
    entry = _operations.get(key)
    if entry is None or entry.schema is not schema or entry.operation is not operation:
        entry = _Operation(schema, operation, fragments, _directive_variables(operation, fragments))
        _operations[key] = entry
        while len(_operations) > MAX_OPERATIONS:
            _operations.popitem(last=False)
    else:
        _operations.move_to_end(key)
    values = tuple((type(variables.get(n)), variables.get(n)) for n in entry.directive_variables)
    try:
        plans = entry.variants.get(values)
    except TypeError:
        return None
    if plans is None:
        if len(entry.variants) >= MAX_DIRECTIVE_VARIANTS:
            entry.variants.clear()
        plans = entry.variants[values] = OperationPlans()
    return plans


def compiled_types() -> set[str]:
    """The names of the object types some plan was compiled for (for tests and curiosity)."""
    return set(_compiled_types)


def clear_plans() -> None:
    """Forget every compiled plan (tests)."""
    _operations.clear()
    _compiled_types.clear()

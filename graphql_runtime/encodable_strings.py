"""Every string a caller sends must be text the database and the logs can store.

JSON may carry a lone UTF-16 surrogate (`"\\ud800"`), which Python decodes into a `str` that
cannot be encoded as UTF-8: PyMongo fails on it when it writes a comment or a note, and so does
any answer or log line that repeats it. Strings reach resolvers only from variables (the lexer
refuses a surrogate in an inline literal, as a syntax error, GRAPHQL_VALIDATION_FAILED), so one
check of the variables, before execution, covers every input of every operation:
`VALIDATION_FAILED` with the input field's path in `extensions.field`, for queries, mutations and
subscriptions alike (nothing ran, so a mutation has no result to carry a typed error).

Usage: `extensions=[..., DocumentValidationCache, EncodableVariables, ...]` (after the
validation cache, which sets the document's own errors first).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    ValueNode,
    VariableNode,
    visit,
)
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

Path = tuple[str, ...]


def encodable(text: str) -> bool:
    """True when `text` encodes as UTF-8 (no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def all_encodable(value: Any) -> bool:
    """True when every string and object key in `value` (decoded JSON) encodes as UTF-8. Every
    operation asks it, so it builds no paths (`unencodable_path` does, once one is bad; see
    benchmarks/encodable_strings.py). Iterative: the variables are as deep as the client made
    them."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if not encodable(item):
                return False
        elif kind is dict:
            if not all(type(key) is str and encodable(key) for key in item):
                return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return True


def unencodable_path(value: Any, path: Path = ()) -> Path | None:
    """The path (object keys; list items keep their list's path) of the first string, or
    object key, that is not encodable; None when all are. Iterative: the variables are as deep
    as the client made them."""
    stack: list[tuple[Any, Path]] = [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if not encodable(item):
                return at
        elif isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str) or not encodable(key):
                    return at
                stack.append((inner, (*at, key)))
        elif isinstance(item, list):
            stack.extend((inner, at) for inner in item)
    return None


class _VariableUses(Visitor):
    """Where each variable is used: the argument and input field names leading to it."""

    def __init__(self) -> None:
        super().__init__()
        self.uses: dict[str, Path] = {}

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        stack: list[tuple[ValueNode, Path]] = [(node.value, (node.name.value,))]
        while stack:
            value, at = stack.pop()
            if isinstance(value, VariableNode):
                self.uses.setdefault(value.name.value, at)
            elif isinstance(value, ObjectValueNode):
                stack.extend(_fields(value.fields, at))
            elif isinstance(value, ListValueNode):
                stack.extend((inner, at) for inner in value.values)


def _fields(fields: tuple[ObjectFieldNode, ...], at: Path) -> Iterator[tuple[ValueNode, Path]]:
    for f in fields:
        yield f.value, (*at, f.name.value)


def input_field(document: DocumentNode | None, variable_path: Path) -> str:
    """The input field a path in the variables names, as typed errors name fields: `note`,
    `rule.name` (the conventional `input` argument left out)."""
    name, *inner = variable_path or ("variables",)
    uses = _VariableUses()
    if document is not None:
        visit(document, uses)
    path = [*uses.uses.get(name, (name,)), *inner]
    if len(path) > 1 and path[0] == "input":
        path = path[1:]
    return ".".join(path)


def unencodable_error(field: str) -> GraphQLError:
    return GraphQLError(
        f"{field} is not valid Unicode text (it holds a lone UTF-16 surrogate)",
        extensions={"code": "VALIDATION_FAILED", "field": field},
    )


class EncodableVariables(SchemaExtension):
    """Refuses an operation whose variables hold a string that cannot be encoded as UTF-8."""

    def on_validate(self) -> Iterator[None]:
        # Before the hook yields: strawberry checks the errors before the hooks unwind.
        ctx = self.execution_context
        if not ctx.pre_execution_errors and ctx.variables and not all_encodable(ctx.variables):
            bad = unencodable_path(ctx.variables)
            if bad is not None:
                field = input_field(ctx.graphql_document, bad)
                ctx.pre_execution_errors = [unencodable_error(field)]
        yield

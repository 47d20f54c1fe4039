"""Depth and alias limits of a document, checked in time proportional to its size.

Ten fragments, each spreading the next ten times, make a 600-byte document with 10^9 paths
through it. Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every path, so that
document held a process for good. Here each fragment is measured once, after the fragments it
spreads (`spreads_first`), and a spread adds its fragment's measure: the figures mean what they
mean on the expanded document (depth counts through fragments, aliases count as often as they
would appear), without expanding it. Figures saturate at `SATURATED`, far above every limit.
`graphql_runtime/limits.py::query_cost` measures cost the same way.

A spread that closes a cycle adds nothing here: graphql-core's NoFragmentCyclesRule refuses
the document in the same validation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

# Below 2^53, so a figure in an error's extensions stays exact in a JavaScript client.
SATURATED = 10**15


def saturate(value: int) -> int:
    return value if value < SATURATED else SATURATED


def figure(value: int) -> str:
    """A count for a message: a saturated one says so."""
    return f"more than {SATURATED:,}" if value >= SATURATED else f"{value:,}"


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """The fragments spread anywhere in a selection set, each name once, in order."""
    names: dict[str, None] = {}
    stack = [selection_set]
    while stack:
        for node in stack.pop().selections:
            if isinstance(node, FragmentSpreadNode):
                names[node.name.value] = None
            elif node.selection_set is not None:  # type: ignore[attr-defined]
                stack.append(node.selection_set)  # type: ignore[attr-defined]
    return list(names)


def spreads_first(
    fragments: Mapping[str, FragmentDefinitionNode],
) -> list[FragmentDefinitionNode]:
    """Every fragment, each after the fragments it spreads (a spread that closes a cycle
    excepted). Iterative: a chain of hundreds of fragments does not reach the recursion limit."""
    spreads = {name: _spread_names(f.selection_set) for name, f in fragments.items()}
    order: list[FragmentDefinitionNode] = []
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        path: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
        on_path = {root}
        while path:
            name, pending = path[-1]
            for spread in pending:
                if spread in fragments and spread not in done and spread not in on_path:
                    path.append((spread, iter(spreads[spread])))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(name)
                done.add(name)
                order.append(fragments[name])
    return order


# ---- depth and aliases ---------------------------------------------------------------------

# (depth, aliases): depth counts nested fields that have a selection (introspection fields and
# what they select are not counted, as in Strawberry's limiter); aliases, every aliased field.
Shape = tuple[int, int]


def _shape(selection_set: SelectionSetNode, fragment_shapes: Mapping[str, Shape]) -> Shape:
    depth = aliases = 0
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            if node.alias is not None:
                aliases += 1
            if node.selection_set is not None:
                inner_depth, inner_aliases = _shape(node.selection_set, fragment_shapes)
                aliases += inner_aliases
                if not node.name.value.startswith("__"):
                    depth = max(depth, 1 + inner_depth)
        elif isinstance(node, InlineFragmentNode):
            inner_depth, aliases_inside = _shape(node.selection_set, fragment_shapes)
            depth, aliases = max(depth, inner_depth), aliases + aliases_inside
        elif isinstance(node, FragmentSpreadNode):
            inner_depth, aliases_inside = fragment_shapes.get(node.name.value, (0, 0))
            depth, aliases = max(depth, inner_depth), aliases + aliases_inside
        aliases = saturate(aliases)
    return depth, aliases


def operation_shapes(document: DocumentNode) -> list[tuple[OperationDefinitionNode, Shape]]:
    """Each operation's depth and alias count, as if its fragments were expanded."""
    fragment_shapes: dict[str, Shape] = {}
    for fragment in spreads_first(fragments_of(document)):
        fragment_shapes[fragment.name.value] = _shape(fragment.selection_set, fragment_shapes)
    return [
        (d, _shape(d.selection_set, fragment_shapes))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]


def document_limits_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule refusing an operation deeper than `max_depth` and a document with more
    than `max_aliases` aliases (all operations together), with Strawberry's limiters' messages.
    Build it once: the rule class is part of the validation cache's key."""

    class DocumentLimits(ValidationRule):
        # In a visit, not in __init__: graphql-core turns whatever a visit raises (a recursion
        # error included) into a validation error; rules are built outside that guard.
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            aliases = 0
            for operation, (depth, operation_aliases) in operation_shapes(node):
                aliases = saturate(aliases + operation_aliases)
                if depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            operation,
                        )
                    )
            if aliases > max_aliases:
                self.report_error(
                    GraphQLError(f"{figure(aliases)} aliases found. Allowed: {max_aliases}")
                )

    return DocumentLimits

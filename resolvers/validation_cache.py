"""Validation results cached by the parsed document's identity.

Strawberry's ValidationCache keys an lru_cache on (schema, document, rules), and a graphql-core
document hashes by walking its whole tree: ~25 us a request for the To Proceed page's document,
every time, to find a result computed once. ParserCache hands out the same document object for
the same query text, so the object itself is the key here (held, so its id stays its own), with
the schema and the rules; a document parsed again is simply validated again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_DOCUMENTS = 128  # as ParserCache and ValidationCache by default

_Key = tuple[int, int, tuple[Any, ...]]
_results: OrderedDict[_Key, tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]] = OrderedDict()


def validated(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """`validate_document(schema, document, rules)`, computed once per document object."""
    key = (id(schema), id(document), rules)
    found = _results.get(key)
    if found is not None and found[0] is schema and found[1] is document:
        _results.move_to_end(key)
        return found[2]
    errors = validate_document(schema, document, rules)
    _results[key] = (schema, document, errors)
    while len(_results) > MAX_DOCUMENTS:
        _results.popitem(last=False)
    return errors


class DocumentValidationCache(SchemaExtension):
    """Strawberry's ValidationCache, keyed by the document object instead of its hash."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        assert ctx.graphql_document is not None  # parsing comes first, or we are not here
        ctx.pre_execution_errors = validated(
            ctx.schema._schema, ctx.graphql_document, tuple(ctx.validation_rules)
        )
        yield

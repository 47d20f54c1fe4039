"""Validation results cached by the parsed document's identity.

Strawberry's ValidationCache keys an lru_cache on (schema, document, rules), and a graphql-core
document hashes by walking its whole tree: ~25 us a request for the To Proceed page's document,
every time, to find a result computed once. ParserCache hands out the same document object for
the same query text, so the object itself is the key here (held, so its id stays its own), with
the schema and the rules; a document parsed again is simply validated again. The documents it
holds count in bytes too (resolvers/bounded_cache.py): a parse evicted from the parser cache
stays alive here while its entry does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from resolvers.bounded_cache import BoundedCache, document_bytes

MAX_DOCUMENTS = 128  # as ParserCache and ValidationCache by default
MAX_BYTES = 8 * 1024 * 1024

_Key = tuple[int, int, tuple[Any, ...]]
_results: BoundedCache[_Key, tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]] = BoundedCache(
    MAX_DOCUMENTS, MAX_BYTES
)


def validated(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """`validate_document(schema, document, rules)`, computed once per document object."""
    key = (id(schema), id(document), rules)
    found = _results.get(key)
    if found is not None and found[0] is schema and found[1] is document:
        return found[2]
    errors = validate_document(schema, document, rules)
    _results.put(key, (schema, document, errors), document_bytes(document))
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

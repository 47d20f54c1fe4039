"""Parsed documents cached by their text, bounded in bytes as well as in entries.

Strawberry's ParserCache keeps 128 parses whatever their size; a document at the token limit
holds about 2 MB (benchmarks/parse_memory.py), so a caller sending distinct large documents
kept a quarter of a gigabyte alive. Same behaviour otherwise: the same text (and parse options)
gives the same document object, which the validation cache keys on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

from graphql_runtime.bounded_cache import BoundedCache, document_bytes, text_bytes

MAX_DOCUMENTS = 128  # as Strawberry's ParserCache
MAX_BYTES = 8 * 1024 * 1024


class _Unparsable:
    """A text that does not parse: its error's message only (the error itself holds the
    parser's frames, and with them the tokens read so far, through its traceback)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


# A text that does not parse is kept as such: a caller sending it again, or the schema after the
# WebSocket sharing check (feed/sharing.py), does not pay for that parse again.
_documents: BoundedCache[tuple[str, tuple[tuple[str, Any], ...]], DocumentNode | _Unparsable] = (
    BoundedCache(MAX_DOCUMENTS, MAX_BYTES)
)


def parsed(query: str, options: dict[str, Any]) -> DocumentNode:
    """`parse(query, **options)`, once per text while it stays in the cache (a GraphQLError
    with the parser's message when it does not parse)."""
    key = (query, tuple(sorted(options.items())))
    found = _documents.get(key)
    if found is None:
        try:
            found = parse(query, **options)
        except GraphQLError as error:
            _documents.put(key, _Unparsable(error.message), text_bytes(query, error.message))
            raise
        _documents.put(key, found, document_bytes(found, query))
    if isinstance(found, _Unparsable):
        raise GraphQLError(found.message)
    return found


class BoundedParserCache(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        # A document that does not parse is left to Strawberry, which parses it again where
        # it answers the error: raised here, over WebSocket it escaped as a traceback (its
        # HTTP path catches it, its subscription path does not). Parsing stops at the token
        # limit, so the second parse is as cheap as the first.
        with contextlib.suppress(GraphQLError):
            ctx.graphql_document = parsed(ctx.query, ctx.parse_options)
        yield

"""Validation results cached by the parsed document's identity, with graphql-core's costliest
rule bounded.

Strawberry's ValidationCache keys an lru_cache on (schema, document, rules), and a graphql-core
document hashes by walking its whole tree: ~25 us a request for the To Proceed page's document,
every time, to find a result computed once. ParserCache hands out the same document object for
the same query text, so the object itself is the key here (held, so its id stays its own), with
the schema, the rules and whether suggestions are hidden; a document parsed again is simply
validated again. The documents it holds count in bytes too (graphql_runtime/bounded_cache.py): a
parse evicted from the parser cache stays alive here while its entry does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping_fields
from graphql import DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from graphql_runtime.bounded_cache import BoundedCache, document_bytes
from graphql_runtime.limits import suggestions_hidden

MAX_DOCUMENTS = 128  # as ParserCache and ValidationCache by default
MAX_BYTES = 8 * 1024 * 1024

# graphql-core's OverlappingFieldsCanBeMergedRule compares the fields of one response name, and
# the fragments spread side by side, pair by pair: quadratic in the document, within the token
# limit. It charges the pairs to a budget and aborts the validation when it runs out. On the
# costliest documents found (one field 950 times; 300 fragments side by side) the rule alone took
# 46 to 62 ms with 10,000 against 3.3 to 5.6 s with graphql-core's default of 500,000, in one run
# of `benchmarks/document_checks.py --default-budget` (a loaded machine): now a fifth of what
# parsing and validating those documents costs anyway. 10,000 admits some 35 fragments of three
# fields spread side by side; the README's documents spend at most 8. Read by the rule each time.
overlapping_fields.MAX_COMPLEXITY_BUDGET = 10_000
TOO_COMPLEX = (
    "the document is too complex to validate: send fewer fields of one name or fewer fragments "
    "side by side in one selection, or fragments nested less deeply"
)

_Key = tuple[int, int, tuple[Any, ...], bool]
_results: BoundedCache[_Key, tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]] = BoundedCache(
    MAX_DOCUMENTS, MAX_BYTES
)


def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[Any, ...],
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """Strawberry's validate_document (the same two rules added), with graphql-core's switch
    that leaves "Did you mean ...?" out of the messages."""
    errors = validate(
        schema,
        document,
        (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
        hide_suggestions=hide_suggestions,
    )
    for error in errors:
        # The budget above ran out, or fragments nest past graphql-core's recursion guard: it
        # says only "aborted".
        if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
            error.message = TOO_COMPLEX
    return errors


def validated(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[Any, ...],
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """`validate_document(schema, document, rules, hide_suggestions)`, computed once per
    document object."""
    key = (id(schema), id(document), rules, hide_suggestions)
    found = _results.get(key)
    if found is not None and found[0] is schema and found[1] is document:
        return found[2]
    errors = validate_document(schema, document, rules, hide_suggestions)
    _results.put(key, (schema, document, errors), document_bytes(document))
    return errors


class DocumentValidationCache(SchemaExtension):
    """Strawberry's ValidationCache, keyed by the document object instead of its hash."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        assert ctx.graphql_document is not None  # parsing comes first, or we are not here
        ctx.pre_execution_errors = validated(
            ctx.schema._schema,
            ctx.graphql_document,
            tuple(ctx.validation_rules),
            suggestions_hidden(ctx.context),
        )
        yield

"""The GraphQL schema of the service."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from models.errors import DomainError
from resolvers.errors import (
    AlreadyRequestedError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidStateError,
    NotFoundError,
    NotPendingError,
    OrderNotCancellableError,
    PaymentWindowOpenError,
    ResponseWindowClosedError,
    ValidationError,
)
from resolvers.mutations import Mutation
from resolvers.queries import Query


class AfterSalesSchema(strawberry.Schema):
    """Puts a stable `extensions.code` on every error. The operation log (api/operation_log.py)
    logs the unexpected ones, once, with their traceback and the request id."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            original = error.original_error
            if isinstance(original, DomainError):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": original.code,
                    "field": original.field,
                }
            elif error.extensions and "code" in error.extensions:
                continue  # raised on purpose with its code (UNAUTHENTICATED)
            elif original is None:
                # Parse and validation errors: the client's document is wrong.
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            else:
                error.extensions = {**(error.extensions or {}), "code": "INTERNAL_SERVER_ERROR"}


# The limit rules are built once: a limiter constructed per request makes new rule classes, and
# the rules are part of ValidationCache's key, so every request was validated again (~1.4 ms for
# a tab page, measured by benchmarks/tab_query.py).
_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=12).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
]

schema = AfterSalesSchema(
    query=Query,
    mutation=Mutation,
    # Every error type is in the schema even where no union names it yet.
    types=[
        AlreadyRequestedError,
        ForbiddenError,
        IdempotencyKeyReusedError,
        InvalidStateError,
        NotFoundError,
        NotPendingError,
        OrderNotCancellableError,
        PaymentWindowOpenError,
        ResponseWindowClosedError,
        ValidationError,
    ],
    extensions=[
        lambda: AddValidationRules(_LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=4000),
        ParserCache,
        ValidationCache,
    ],
)

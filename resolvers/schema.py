"""The GraphQL schema of the service."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

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
    """Puts a stable `extensions.code` on every error, and logs only the unexpected ones."""

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
                StrawberryLogger.error(error, execution_context)


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
        lambda: QueryDepthLimiter(max_depth=12),
        lambda: MaxAliasesLimiter(max_alias_count=30),
        lambda: MaxTokensLimiter(max_token_count=4000),
        ParserCache,
        ValidationCache,
    ],
)

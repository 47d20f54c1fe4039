"""The GraphQL schema of the service."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

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

schema = strawberry.Schema(
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

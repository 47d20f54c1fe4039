"""The GraphQL schema of the service."""

from __future__ import annotations

import logging
import uuid

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from models.errors import DomainError
from resolvers.after_sale_mutations import AfterSaleMutation
from resolvers.after_sale_queries import AfterSaleQuery
from resolvers.errors import (
    AfterSaleRefusedError,
    AlreadyRequestedError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidRuleError,
    InvalidStateError,
    NotFoundError,
    NotPendingError,
    OrderNotCancellableError,
    PaymentWindowOpenError,
    RefundExceedsRefundableError,
    ResponseWindowClosedError,
    ValidationError,
    WindowClosedError,
)
from resolvers.fast_execution import FastExecutor
from resolvers.limits import CostRateLimit, IntrospectionGate
from resolvers.mutations import Mutation
from resolvers.queries import Query
from resolvers.subscriptions import Subscription
from resolvers.validation_cache import DocumentValidationCache
from resolvers.webhooks import WebhookMutations, WebhookQueries

log = logging.getLogger("aftersales.errors")


class AfterSalesSchema(strawberry.Schema):
    """Puts a stable `extensions.code` on every error. An unexpected one gets the request id in
    `extensions.requestId` and, in production (the context's guard), a message that hides its
    detail; the operation log (api/operation_log.py) logs it once, with its traceback and the
    same id. Typed errors and errors raised with a code are never masked.
    """

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
            elif original is None or error.path is None:
                # Parse and validation errors, variables that do not coerce to their types:
                # the client's document or variables are wrong (only resolvers have a path).
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            else:
                self._mask(error, execution_context)

    @staticmethod
    def _mask(error: GraphQLError, execution_context: ExecutionContext | None) -> None:
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "") or uuid.uuid4().hex
        error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        guard = getattr(context, "guard", None)
        if guard is not None and guard.mask_errors:
            error.message = f"internal error; quote request id {request_id} to support"


# The limit rules are built once: a limiter constructed per request makes new rule classes, and
# the rules are part of the validation cache's key, so every request was validated again (~1.4 ms
# for a tab page, measured by benchmarks/tab_query.py).
_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=12).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
]

schema = AfterSalesSchema(
    query=merge_types("Query", (Query, AfterSaleQuery, WebhookQueries)),
    mutation=merge_types("Mutation", (Mutation, AfterSaleMutation, WebhookMutations)),
    subscription=Subscription,
    # Every error type is in the schema even where no union names it yet.
    types=[
        AfterSaleRefusedError,
        AlreadyRequestedError,
        ForbiddenError,
        IdempotencyKeyReusedError,
        InvalidRuleError,
        InvalidStateError,
        NotFoundError,
        NotPendingError,
        OrderNotCancellableError,
        PaymentWindowOpenError,
        RefundExceedsRefundableError,
        ResponseWindowClosedError,
        ValidationError,
        WindowClosedError,
    ],
    execution_context_class=FastExecutor,
    extensions=[
        lambda: AddValidationRules(_LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=4000),
        ParserCache,
        DocumentValidationCache,
        IntrospectionGate,  # after the validation cache: it adds to the errors that one sets
        CostRateLimit,
    ],
)

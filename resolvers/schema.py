"""The GraphQL schema of the service."""

from __future__ import annotations

import logging
import uuid

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from models.errors import DomainError
from resolvers.after_sale_mutations import AfterSaleMutation
from resolvers.after_sale_queries import AfterSaleQuery
from resolvers.document_limits import document_limits_rule
from resolvers.encodable_strings import EncodableVariables
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
from resolvers.limits import CostRateLimit, HttpSubscriptionGate, IntrospectionGate
from resolvers.mutations import Mutation
from resolvers.order_intake import OrderIntakeMutation, OrderSubscription
from resolvers.parse_cache import BoundedParserCache
from resolvers.queries import Query
from resolvers.refunds import RefundMutation, RefundQueries, RefundSubscription
from resolvers.subscriptions import Subscription
from resolvers.validation_cache import DocumentValidationCache
from resolvers.webhooks import WebhookMutations, WebhookQueries
from storage.deadlines import DatabaseUnavailable, as_unavailable

log = logging.getLogger("aftersales.errors")

# The database is out of reach, too slow, or the shop held: retry after `retryAfterSeconds`.
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


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
            elif (unavailable := as_unavailable(original)) is not None:
                self._unavailable(error, unavailable, execution_context)
            elif original is None or error.path is None:
                # Parse and validation errors, variables that do not coerce to their types:
                # the client's document or variables are wrong (only resolvers have a path).
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            else:
                self._mask(error, execution_context)

    @staticmethod
    def _unavailable(
        error: GraphQLError,
        unavailable: DatabaseUnavailable,
        execution_context: ExecutionContext | None,
    ) -> None:
        """The database is out of reach, too slow or the shop held: retryable, not a bug (and
        not a domain error, so a mutation answers it here too, not in its union). Over HTTP: 503
        with Retry-After. The driver's own message never reaches the caller."""
        error.message = str(unavailable)
        error.extensions = {
            **(error.extensions or {}),
            "code": SERVICE_UNAVAILABLE,
            "retryAfterSeconds": unavailable.retry_after,
        }
        context = execution_context.context if execution_context else None
        response = getattr(context, "response", None)
        if response is not None and hasattr(response, "status_code"):
            response.status_code = 503
            response.headers["Retry-After"] = str(unavailable.retry_after)

    @staticmethod
    def _mask(error: GraphQLError, execution_context: ExecutionContext | None) -> None:
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "") or uuid.uuid4().hex
        error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        guard = getattr(context, "guard", None)
        if guard is not None and guard.mask_errors:
            error.message = f"internal error; quote request id {request_id} to support"


# Tokens in a document; api/broadcast.py parses WebSocket documents with the same limit.
MAX_TOKENS = 4000

# The limit rules are built once: a limiter constructed per request makes new rule classes, and
# the rules are part of the validation cache's key, so every request was validated again (~1.4 ms
# for a tab page, measured by benchmarks/tab_query.py).
# Depth and aliases are measured once per fragment (resolvers/document_limits.py), not per path.
_LIMIT_RULES = [document_limits_rule(max_depth=12, max_aliases=30)]

schema = AfterSalesSchema(
    query=merge_types("Query", (Query, AfterSaleQuery, WebhookQueries, RefundQueries)),
    mutation=merge_types(
        "Mutation",
        (Mutation, AfterSaleMutation, OrderIntakeMutation, RefundMutation, WebhookMutations),
    ),
    subscription=merge_types("Subscription", (Subscription, OrderSubscription, RefundSubscription)),
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
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        BoundedParserCache,
        DocumentValidationCache,
        IntrospectionGate,  # after the validation cache: it adds to the errors that one sets
        EncodableVariables,  # likewise
        HttpSubscriptionGate,  # before the cost: a refused subscription is not charged
        CostRateLimit,
    ],
)

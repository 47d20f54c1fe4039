"""The GraphQL schema of the service: its root types composed, run by the machinery of
graphql_runtime/ (error codes, executor, extensions)."""

from __future__ import annotations

from strawberry.tools import merge_types

from graphql_runtime.error_codes import AfterSalesSchema
from graphql_runtime.extensions import SCHEMA_EXTENSIONS
from graphql_runtime.fast_execution import FastExecutor
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
from resolvers.mutations import Mutation
from resolvers.order_intake import OrderIntakeMutation, OrderSubscription
from resolvers.queries import Query
from resolvers.refunds import RefundMutation, RefundQueries, RefundSubscription
from resolvers.subscriptions import Subscription
from resolvers.webhooks import WebhookMutations, WebhookQueries

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
    extensions=list(SCHEMA_EXTENSIONS),
)

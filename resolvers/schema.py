"""The GraphQL schema of the service: its root types composed, run by the machinery of
graphql_runtime/ (error codes, executor, extensions)."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from graphql_runtime.error_codes import AfterSalesSchema
from graphql_runtime.extensions import SCHEMA_EXTENSIONS
from graphql_runtime.fast_execution import FastExecutor
from resolvers.after_sales.mutations import AfterSaleMutations, CategoryPolicyMutation
from resolvers.after_sales.queries import AfterSaleQueries
from resolvers.cancellations.mutations import CancellationMutations
from resolvers.cancellations.queries import CancellationQueries
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
from resolvers.feed.subscriptions import FeedSubscriptions
from resolvers.helpdesk.mutations import TicketMutations
from resolvers.helpdesk.queries import TicketQueries
from resolvers.intake.order_intake import OrderIntakeMutation, OrderSubscription
from resolvers.operations import OperationsQueries
from resolvers.orders.mutations import OrderMutations
from resolvers.orders.queries import OrderQueries
from resolvers.policy import PolicyMutation, PolicyQuery
from resolvers.refunds.settlement import RefundMutation, RefundQueries, RefundSubscription
from resolvers.requests.types import Request
from resolvers.viewer import ViewerQueries
from resolvers.webhooks.webhooks import WebhookMutations, WebhookQueries

# The root types are composed one way: each feature declares its own root fields in plain
# classes, merged here (no feature inherits another's).
schema = AfterSalesSchema(
    query=merge_types(
        "Query",
        (
            ViewerQueries,
            OperationsQueries,
            OrderQueries,
            CancellationQueries,
            AfterSaleQueries,
            TicketQueries,
            PolicyQuery,
            RefundQueries,
            WebhookQueries,
        ),
    ),
    mutation=merge_types(
        "Mutation",
        (
            CancellationMutations,
            OrderMutations,
            AfterSaleMutations,
            CategoryPolicyMutation,
            TicketMutations,
            PolicyMutation,
            OrderIntakeMutation,
            RefundMutation,
            WebhookMutations,
        ),
    ),
    subscription=merge_types(
        "Subscription", (FeedSubscriptions, OrderSubscription, RefundSubscription)
    ),
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


def _plain_implementations(built: strawberry.Schema, interface: type) -> None:
    """Strawberry gives every type that implements an interface an `is_type_of` check, and
    compiled plans (graphql_runtime/execution_plans.py) leave a type with one to graphql-core,
    so a tab page of cancellations would no longer compile. The interface resolves a value's
    type by its Strawberry class (its `resolve_type`), never by this check, and the resolvers
    return only those classes: the check is dropped, as on every other type of the schema.
    (Strawberry's private `_schema`: tests/api/requests/test_request_interface_api.py fails if
    an upgrade changes what this relies on.)"""
    graphql_schema = built._schema
    definition = interface.__strawberry_definition__  # type: ignore[attr-defined]
    abstract = graphql_schema.get_type(definition.name)
    for implementation in graphql_schema.get_possible_types(abstract):  # type: ignore[arg-type]
        implementation.is_type_of = None


_plain_implementations(schema, Request)

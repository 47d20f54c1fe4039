"""A webhook's GraphQL subscription document, as Saleor's: it names the feed the webhook follows
(its one root field: `requestEvents`, `ticketEvents`, `orderEvents` or `refundEvents`, which
give its event types) and shapes each delivery's `data` (the document run on the event, as the
shop's agent would see it over a subscription).

`event_types_of` validates a document at registration against the schema (syntax, fields,
depth), with no variables and no arguments: the webhook's shop is the feed. `DocumentShaper`
runs it for the dispatcher (services/webhook_delivery.py), which knows nothing of GraphQL.
"""

from __future__ import annotations

import functools
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)

from feed.live_feed import LiveFeed
from graphql_runtime.document_limits import document_limits_rule
from models.actors import Actor, ActorKind
from models.errors import ValidationFailed
from models.events import OrderEvent, RefundEvent, StatusEvent, TicketEvent
from services.bootstrap import Services
from services.read_types import StoredEvent, Webhook
from webhooks.event_types import EventType

MAX_CHARS = 10_000
FIELD = "subscription"

ROOT_FIELDS: dict[str, tuple[EventType, ...]] = {
    "requestEvents": (EventType.CANCELLATION_STATUS_CHANGED, EventType.AFTER_SALE_STATUS_CHANGED),
    "ticketEvents": (EventType.TICKET_CHANGED,),
    "orderEvents": (EventType.ORDER_CHANGED,),
    "refundEvents": (
        EventType.REFUND_INSTRUCTED,
        EventType.REFUND_SETTLED,
        EventType.REFUND_FAILED,
    ),
}


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(f"subscription: {message}", field=FIELD)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> DocumentNode:
    return parse(text)


def _graphql_schema() -> Any:
    from resolvers.schema import schema  # the schema imports this package's resolvers

    return schema._schema


def event_types_of(text: str) -> list[EventType]:
    """The event types a valid subscription document follows; else ValidationFailed."""
    if not text.strip() or len(text) > MAX_CHARS:
        raise _refused(f"a document of 1 to {MAX_CHARS} characters")
    try:
        document = _parsed(text)
    except GraphQLError as err:
        raise _refused(err.message) from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        raise _refused("one subscription operation")
    operation = operations[0]
    if operation.variable_definitions:
        raise _refused("no variables: the webhook's shop is the feed")
    rules = [*specified_rules, document_limits_rule(max_depth=12, max_aliases=30)]
    errors = validate(_graphql_schema(), document, rules)
    if errors:
        raise _refused(errors[0].message)
    roots = operation.selection_set.selections
    root = roots[0] if len(roots) == 1 else None
    if not isinstance(root, FieldNode) or root.name.value not in ROOT_FIELDS:
        raise _refused(f"one root field, one of {', '.join(ROOT_FIELDS)}")
    if root.arguments or root.alias:
        raise _refused(
            f"{root.name.value} without arguments or alias: the webhook's shop is the feed"
        )
    return list(ROOT_FIELDS[root.name.value])


def _payload(stored: StoredEvent) -> Any:
    """What the root field's subscription yields for this event."""
    from resolvers.feed.subscriptions import RequestEvent
    from resolvers.feed.subscriptions import TicketEvent as TicketEventType
    from resolvers.intake.order_intake import OrderEvent as OrderEventType
    from resolvers.refunds.settlement import RefundEvent as RefundEventType

    e = stored.event
    if isinstance(e, StatusEvent):
        return RequestEvent.of(stored)
    if isinstance(e, TicketEvent):
        return TicketEventType.of(stored)
    if isinstance(e, OrderEvent):
        return OrderEventType.of(stored)
    assert isinstance(e, RefundEvent)
    return RefundEventType.of(stored)


class DocumentShaper:
    """The `data` of a delivery for a webhook registered with a document: the document run on
    the event as a shop agent (no permissions) sees it; its errors, if any, beside."""

    def __init__(self, services: Services, feed: LiveFeed | None) -> None:
        self.services = services
        self.feed = feed or LiveFeed(services.db)  # its shared reads only, never started

    async def __call__(self, webhook: Webhook, stored: StoredEvent) -> dict[str, Any] | None:
        if webhook.subscription is None:
            return None
        from resolvers.context import Context  # it imports the services this one is given

        viewer = Actor(ActorKind.SELLER_AGENT, f"webhook:{webhook.id}", webhook.shop_id)
        context = Context(self.services, viewer, feed=self.feed)
        result = execute(
            _graphql_schema(),
            _parsed(webhook.subscription),
            root_value=_payload(stored),
            context_value=context,
        )
        if isawaitable(result):
            result = await result
        shaped: dict[str, Any] = {"data": result.data}
        if result.errors:
            shaped["errors"] = [e.message for e in result.errors]
        return shaped

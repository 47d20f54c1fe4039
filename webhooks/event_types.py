"""The event types a webhook subscribes to, and the type of each event of the shop's log.

Types name what happened in the domain's words, one per kind of change. A type is added here
(and to the GraphQL enum, which is built from this one) when the domain starts to produce it.
The refund types are the payment system's: `refund.instructed` tells it to pay (models/refunds.py),
`refund.settled` and `refund.failed` are its own reports coming back, for the seller's other tools.
"""

from __future__ import annotations

from enum import Enum

from models.events import OrderEvent, RefundEvent, StatusEvent, TicketEvent
from models.requests import RequestKind


class EventType(Enum):
    CANCELLATION_STATUS_CHANGED = "cancellation.status_changed"
    AFTER_SALE_STATUS_CHANGED = "after_sale.status_changed"
    TICKET_CHANGED = "ticket.changed"
    ORDER_CHANGED = "order.changed"
    REFUND_INSTRUCTED = "refund.instructed"
    REFUND_SETTLED = "refund.settled"
    REFUND_FAILED = "refund.failed"

    @property
    def wire_name(self) -> str:
        """As it appears in a delivery's body and `Webhook-Event-Type` header."""
        return self.value


_REFUND_TYPES = {
    "INSTRUCTED": EventType.REFUND_INSTRUCTED,
    "SETTLED": EventType.REFUND_SETTLED,
    "FAILED": EventType.REFUND_FAILED,
}


def type_of(event: StatusEvent | TicketEvent | OrderEvent | RefundEvent) -> EventType:
    if isinstance(event, TicketEvent):
        return EventType.TICKET_CHANGED
    if isinstance(event, OrderEvent):
        return EventType.ORDER_CHANGED
    if isinstance(event, RefundEvent):
        return _REFUND_TYPES[event.action]
    if event.kind is RequestKind.CANCELLATION:
        return EventType.CANCELLATION_STATUS_CHANGED
    return EventType.AFTER_SALE_STATUS_CHANGED

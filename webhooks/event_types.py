"""The event types a webhook subscribes to, and the type of each event of the shop's log.

Types name what happened in the domain's words, one per kind of change. A type is added here
(and to the GraphQL enum, which is built from this one) when the domain starts to produce it:
the refund instruction for the payment system will be `REFUND_INSTRUCTED` (`refund.instructed`).
"""

from __future__ import annotations

from enum import Enum

from models.events import StatusEvent, TicketEvent
from models.requests import RequestKind


class EventType(Enum):
    CANCELLATION_STATUS_CHANGED = "cancellation.status_changed"
    AFTER_SALE_STATUS_CHANGED = "after_sale.status_changed"
    TICKET_CHANGED = "ticket.changed"

    @property
    def wire_name(self) -> str:
        """As it appears in a delivery's body and `Webhook-Event-Type` header."""
        return self.value


def type_of(event: StatusEvent | TicketEvent) -> EventType:
    if isinstance(event, TicketEvent):
        return EventType.TICKET_CHANGED
    if event.kind is RequestKind.CANCELLATION:
        return EventType.CANCELLATION_STATUS_CHANGED
    return EventType.AFTER_SALE_STATUS_CHANGED

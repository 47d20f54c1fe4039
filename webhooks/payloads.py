"""The body of one delivery: the event, its place in the shop's feed, its type.

The body is the same bytes on every attempt of a delivery (the signature's timestamp is what
changes), so a receiver that stores the body of the first accepted attempt stores them all.
Internal ticket notes (`detail`) never leave the service.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from models.events import OrderEvent, RefundEvent, StatusEvent, TicketEvent
from webhooks.event_types import type_of


def _time(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def refund_data(event: RefundEvent) -> dict[str, Any]:
    """The refund instruction (and its settlement): what the payment system pays, exactly."""
    return {
        "refundId": event.refund_id,
        "requestKind": event.kind.value,
        "requestId": event.request_id,
        "orderId": event.order_id,
        "state": event.action,
        "amount": {"minorUnits": event.amount_minor, "currency": event.currency},
        "lines": [
            {"lineId": line_id, "quantity": quantity, "amountMinorUnits": minor}
            for line_id, quantity, minor in event.lines
        ],
        "reference": event.reference,
        "failureReason": event.failure_reason,
        "actorKind": event.actor_kind.value,
        "actorId": event.actor_id,
    }


def order_data(event: OrderEvent) -> dict[str, Any]:
    return {
        "orderId": event.order_id,
        "buyerId": event.buyer_id,
        "externalId": event.external_id,
        "action": event.action,
        "fromStage": event.from_stage,
        "toStage": event.to_stage,
        "fulfilmentState": event.fulfilment_state,
        "paymentState": event.payment_state,
        "actorKind": event.actor_kind.value,
        "actorId": event.actor_id,
    }


def event_data(event: StatusEvent | TicketEvent | OrderEvent | RefundEvent) -> dict[str, Any]:
    if isinstance(event, RefundEvent):
        return refund_data(event)
    if isinstance(event, OrderEvent):
        return order_data(event)
    if isinstance(event, TicketEvent):
        return {
            "ticketId": event.ticket_id,
            "requestKind": event.kind.value,
            "requestId": event.request_id,
            "orderId": event.order_id,
            "action": event.action,
            "status": event.status,
            "assignee": event.assignee,
            "tags": list(event.tags),
            "actorKind": event.actor_kind.value,
            "actorId": event.actor_id,
            "ruleId": event.rule_id,
        }
    return {
        "requestKind": event.kind.value,
        "requestId": event.request_id,
        "orderId": event.order_id,
        "buyerId": event.buyer_id,
        "action": event.action,
        "fromStatus": event.from_status,
        "toStatus": event.to_status,
        "fromTab": event.from_tab,
        "toTab": event.to_tab,
        "actorKind": event.actor_kind.value,
        "actorId": event.actor_id,
        "reason": event.reason,
    }


def delivery_body(
    delivery_id: str,
    event_id: str,
    sequence: int,
    event: StatusEvent | TicketEvent | OrderEvent | RefundEvent,
    shaped: dict[str, Any] | None = None,
) -> bytes:
    """`shaped`: what the webhook's subscription document made of the event (its `data`, and its
    `errors` if any), in place of the event's own fields."""
    payload: dict[str, Any] = {
        "id": delivery_id,
        "eventId": event_id,
        "type": type_of(event).wire_name,
        "shopId": event.shop_id,
        "sequence": sequence,
        "occurredAt": _time(event.at),
        "data": event_data(event) if shaped is None else shaped["data"],
    }
    if shaped is not None and shaped.get("errors"):
        payload["errors"] = shaped["errors"]
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def delivery_id_of(webhook_id: str, sequence: int) -> str:
    """One id per webhook and event, the same on every attempt, replay and process: what the
    receiver dedupes on."""
    return f"{webhook_id}.{sequence}"

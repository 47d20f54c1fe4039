"""Status events: one per status change of any after-sales request, for the live feed (H3);
ticket events: one per change to a helpdesk ticket (H1), on the same feed.

Pure: built from a domain outcome, never from storage. Every write path turns the outcome it is
about to write into events (`of_outcome`, whatever its kind) and appends them in the same
transaction (storage/events.py `append_many`), so a change and its event land together or not
at all. The position of an event in its shop's feed (`seq`) is given by storage when appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import after_sale_requests, after_sales_machine, cancellation_states
from models.actors import ActorKind
from models.refunds import Refund
from models.requests import OpenedRequest, Outcome, RequestKind, TimelineRecord
from models.tickets import Ticket


@dataclass(frozen=True)
class StatusEvent:
    """A request moved from one status (None: it was just created) to another."""

    kind: RequestKind
    request_id: str
    order_id: str
    shop_id: str
    buyer_id: str
    action: str
    from_status: str | None
    to_status: str
    from_tab: str | None
    to_tab: str
    actor_kind: ActorKind
    actor_id: str
    reason: str | None
    at: datetime

    @property
    def moves_tab(self) -> bool:
        return self.from_tab != self.to_tab


# The tab of every kind's status: each kind's statuses are an enum of its own.
_TAB_OF_STATUS = {**cancellation_states.TAB_OF_STATUS, **after_sales_machine.TAB_OF_STATUS}


def of_outcome(outcome: Outcome[Any]) -> list[StatusEvent]:
    """Every record the step appended (an instant refund is two), then the rejections a second
    request closed (R5), each as its own event."""
    events = [_of_record(outcome.request, r) for r in outcome.records]
    events += [_of_record(old, old.timeline[-1]) for old in outcome.superseded]
    return events


def _of_record(request: OpenedRequest[Any, Any], record: TimelineRecord) -> StatusEvent:
    after_sale = isinstance(request, after_sale_requests.AfterSaleRequest)
    return StatusEvent(
        kind=RequestKind(request.kind.value) if after_sale else RequestKind.CANCELLATION,
        request_id=request.id,
        order_id=request.order_id,
        shop_id=request.shop_id,
        buyer_id=request.buyer_id,
        action=record.action.value,
        from_status=record.from_status.value if record.from_status else None,
        to_status=record.to_status.value,
        from_tab=_TAB_OF_STATUS[record.from_status].value if record.from_status else None,
        to_tab=_TAB_OF_STATUS[record.to_status].value,
        actor_kind=record.actor_kind,
        actor_id=record.actor_id,
        reason=record.reason,
        at=record.at,
    )


@dataclass(frozen=True)
class TicketEvent:
    """A change to a helpdesk ticket (H1): one per record added to its timeline. For the shop's
    team only (internal notes are in `detail`); the feed never shows these to buyers."""

    ticket_id: str
    kind: RequestKind
    request_id: str
    order_id: str
    shop_id: str
    action: str
    detail: str | None
    status: str  # the ticket's status after the change
    assignee: str | None
    tags: tuple[str, ...]
    actor_kind: ActorKind
    actor_id: str
    rule_id: str | None
    rule_name: str | None
    at: datetime


def of_ticket(before: Ticket | None, after: Ticket) -> list[TicketEvent]:
    """The records a write added to the ticket's timeline, each as an event (none when the write
    only kept the engine's books, such as clearing `rules_due`)."""
    known = len(before.timeline) if before is not None else 0
    return [
        TicketEvent(
            ticket_id=after.id,
            kind=after.facts.kind,
            request_id=after.facts.request_id,
            order_id=after.facts.order_id,
            shop_id=after.shop_id,
            action=r.action.value,
            detail=r.detail,
            status=after.status.value,
            assignee=after.assignee,
            tags=after.tags,
            actor_kind=r.actor_kind,
            actor_id=r.actor_id,
            rule_id=r.rule_id,
            rule_name=r.rule_name,
            at=r.at,
        )
        for r in after.timeline[known:]
    ]


@dataclass(frozen=True)
class OrderEvent:
    """An order was placed or moved (paid, handed to the carrier, in transit, delivered,
    cancelled upstream): one per change the order intake or the platform's order mutations
    write, on the same feed. `external_id` is the marketplace's id, when it fed the order."""

    order_id: str
    shop_id: str
    buyer_id: str
    external_id: str | None
    action: str  # PLACED, or the step that moved the order
    from_stage: str | None  # None: just placed
    to_stage: str
    fulfilment_state: str
    payment_state: str
    actor_kind: ActorKind
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class RefundEvent:
    """A refund was instructed to the shop's payment system, or it reported the refund settled
    or failed (models/refunds.py): one per change, on the shop's feed. A shop whose refunds the
    platform pays (no payment integration) has none."""

    refund_id: str
    shop_id: str
    order_id: str
    request_id: str
    kind: RequestKind
    action: str  # INSTRUCTED, SETTLED or FAILED: the refund's state after the change
    amount_minor: int
    currency: str
    lines: tuple[tuple[str, int, int], ...]  # line id, quantity, amount in minor units
    reference: str | None
    failure_reason: str | None
    actor_kind: ActorKind
    actor_id: str
    at: datetime


def of_refund(refund: Refund, actor_kind: ActorKind, actor_id: str) -> RefundEvent:
    return RefundEvent(
        refund_id=refund.id,
        shop_id=refund.shop_id,
        order_id=refund.order_id,
        request_id=refund.request_id,
        kind=refund.request_kind,
        action=refund.state.value,
        amount_minor=refund.amount.minor,
        currency=refund.amount.currency,
        lines=tuple((li.line_id, li.quantity, li.amount.minor) for li in refund.lines),
        reference=refund.reference,
        failure_reason=refund.failure_reason,
        actor_kind=actor_kind,
        actor_id=actor_id,
        at=refund.settled_at or refund.instructed_at,
    )

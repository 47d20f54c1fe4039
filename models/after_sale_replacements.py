"""Replacement orders and the refund instead (P4).

An approved replacement places a replacement order: the approved lines, at no charge, linked to
the original order both ways (`Order.replacement_of`, `Order.replacement_order_ids`) and to the
request (`AfterSaleRequest.replacement_order_id`). It goes through fulfilment like any order (the
order intake's updates, or the platform's and the seller's one-step mutations), and the request
follows it: handed to the carrier, the request is REPLACEMENT_SHIPPED with a delivery deadline
(`CategoryPolicy.replacement_delivery_window`); delivered, it is REPLACED. At the deadline the
platform settles it with a refund instead: a replacement nobody saw arrive is not received (R1's
"never received" gives a refund too). A seller who cannot replace settles the request with a
refund instead while the replacement has not shipped (ISSUE_REPLACEMENT_REFUND); an unshipped
replacement order is then cancelled.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models.actors import Actor
from models.after_sale_decisions import carry_out
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, Decision, Shipment
from models.after_sale_shipping import shipment_of
from models.after_sale_steps import at_deadline, before_deadline, moved_to, start_step
from models.after_sales_machine import (
    AfterSaleAction,
    AfterSaleNotificationKind,
    AfterSaleStatus,
    DecisionType,
)
from models.after_sales_reasons import REPLACEMENT_DELIVERED, REPLACEMENT_NOT_DELIVERED
from models.orders import FulfilmentState, Order
from models.reasons import clean_comment
from models.refund_ledger import RefundLedger
from models.requests import to_buyer, to_shop

_S = AfterSaleStatus
_A = AfterSaleAction
_N = AfterSaleNotificationKind


def _refunded_instead(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    now: datetime,
    *,
    reason: str,
    comment: str | None = None,
    acted_on: datetime | None = None,
    replacement: Order | None = None,
) -> AfterSaleOutcome:
    lines = r.decision.lines if r.decision else r.lines
    decision = Decision(
        DecisionType.ISSUE_REPLACEMENT_REFUND, lines, True, None, None, comment, now, actor.kind
    )
    step = {"reason": reason, "comment": comment, "acted_on": acted_on}
    action = _A.ISSUE_REPLACEMENT_REFUND
    outcome = carry_out(r, order, ledger, decision, action, actor, now, **step)
    if replacement is None or replacement.fulfilment_state is not FulfilmentState.AWAITING_SHIPMENT:
        return outcome
    cancelled, _nothing_paid = replacement.cancelled(now)
    return replace(outcome, moved_orders=((replacement, cancelled),))


def issue_replacement_refund(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    comment: str | None,
    now: datetime,
    replacement: Order | None,
) -> AfterSaleOutcome:
    """P4: the seller cannot replace; the approved (or asked) lines are refunded in full instead,
    the buyer keeps the faulty item, and an unshipped replacement order is cancelled."""
    start_step(r, order, _A.ISSUE_REPLACEMENT_REFUND, actor)
    comment = clean_comment(comment)
    before_deadline(r, now)
    why = DecisionType.ISSUE_REPLACEMENT_REFUND.value
    return _refunded_instead(
        r, order, ledger, actor, now, reason=why, comment=comment, replacement=replacement
    )


def replacement_not_delivered(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """P4: the shipped replacement was not delivered within its window; the platform refunds."""
    start_step(r, order, _A.ISSUE_REPLACEMENT_REFUND, actor)
    deadline = at_deadline(r, now)
    why = REPLACEMENT_NOT_DELIVERED
    return _refunded_instead(r, order, ledger, actor, now, reason=why, acted_on=deadline)


def _shipped(
    r: AfterSaleRequest, order: Order, actor: Actor, shipment: Shipment, now: datetime
) -> AfterSaleOutcome:
    text = (
        f"Your replacement for order {r.order_id} is on its way with {shipment.carrier}, "
        f"tracking {shipment.tracking_number}."
    )
    notes = (to_buyer(r, _N.REPLACEMENT_SHIPPED, text, now),)
    deliver_by = now + r.policy.replacement_delivery_window
    step = {"comment": shipment.label, "deadline": deliver_by, "replacement_shipment": shipment}
    return moved_to(
        r, order, _A.SHIP_REPLACEMENT, _S.REPLACEMENT_SHIPPED, actor, now, notes, **step
    )


def _delivered(r: AfterSaleRequest, order: Order, actor: Actor, now: datetime) -> AfterSaleOutcome:
    text = f"The replacement for {r.id} (order {r.order_id}) was delivered."
    notes = (to_shop(r, _N.REPLACEMENT_DELIVERED, text, now),)
    shipment = r.replacement_shipment
    received = replace(shipment, received_at=now) if shipment else None
    step = {"reason": REPLACEMENT_DELIVERED, "replacement_shipment": received}
    action = _A.CONFIRM_REPLACEMENT_DELIVERED
    return moved_to(r, order, action, _S.REPLACED, actor, now, notes, **step)


def ship_replacement(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    carrier: str,
    tracking_number: str,
    now: datetime,
    replacement: Order | None = None,
) -> AfterSaleOutcome:
    """P2, P4: the seller hands the replacement to the carrier; its order moves with it."""
    start_step(r, order, _A.SHIP_REPLACEMENT, actor)
    shipment = shipment_of(carrier, tracking_number, now)
    outcome = _shipped(r, order, actor, shipment, now)
    if replacement is None:
        return outcome
    handed = replacement.handed_to_carrier(now, shipment.carrier, shipment.tracking_number)
    return replace(outcome, moved_orders=((replacement, handed),))


def replacement_delivered(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    now: datetime,
    replacement: Order | None = None,
) -> AfterSaleOutcome:
    """P2, P4: the carrier delivered the replacement; its order is delivered with it."""
    start_step(r, order, _A.CONFIRM_REPLACEMENT_DELIVERED, actor)
    outcome = _delivered(r, order, actor, now)
    if replacement is None or replacement.fulfilment_state is not FulfilmentState.IN_TRANSIT:
        return outcome
    return replace(outcome, moved_orders=((replacement, replacement.delivered(now)),))


def follow_replacement_order(
    r: AfterSaleRequest, order: Order, replacement: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome | None:
    """P4: the request after its replacement order moved (None: nothing for the request to do).
    Handed to the carrier: shipped; delivered: replaced (shipped first if nobody said so)."""
    state = replacement.fulfilment_state
    if state not in (FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED):
        return None
    steps: list[AfterSaleOutcome] = []
    current = r
    if current.status is _S.AWAITING_REPLACEMENT_SHIPMENT:
        start_step(current, order, _A.SHIP_REPLACEMENT, actor)
        shipment = Shipment(
            replacement.carrier or "",
            replacement.tracking_number or "",
            replacement.shipped_at or now,
        )
        shipped = _shipped(current, order, actor, shipment, now)
        current = shipped.request
        steps.append(shipped)
    if state is FulfilmentState.DELIVERED and current.status is _S.REPLACEMENT_SHIPPED:
        start_step(current, order, _A.CONFIRM_REPLACEMENT_DELIVERED, actor)
        steps.append(_delivered(current, order, actor, now))
    if not steps:
        return None
    last = steps[-1]
    return AfterSaleOutcome(
        last.request,
        order,
        tuple(rec for s in steps for rec in s.records),
        tuple(n for s in steps for n in s.notifications),
        r.status,
    )

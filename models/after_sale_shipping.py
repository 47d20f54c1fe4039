"""Shipping (R8, P2, P4): the buyer's return and the seller's receipt of it, the replacement's way
to the buyer, and the platform's moves when a shipping window passes.

An approved replacement places a replacement order: the approved lines, at no charge, linked to
the original order both ways (`Order.replacement_of`, `Order.replacement_order_ids`) and to the
request (`AfterSaleRequest.replacement_order_id`); the order itself is
models/replacement_orders.py. It goes through fulfilment like any order (the order intake's
updates, or the platform's and the seller's one-step mutations), and the request follows it:
handed to the carrier, the request is REPLACEMENT_SHIPPED with a delivery deadline
(`CategoryPolicy.replacement_delivery_window`); delivered, it is REPLACED. At the deadline the
platform settles it with a refund instead: a replacement nobody saw arrive is not received (R1's
"never received" gives a refund too). A seller who cannot replace settles the request with a
refund instead while the replacement has not shipped (ISSUE_REPLACEMENT_REFUND); an unshipped
replacement order is then cancelled.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models import after_sales_reasons as reasons
from models.actors import Actor
from models.after_sale_decisions import carry_out, rejected
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, Decision, Shipment
from models.after_sales_machine import AfterSaleAction, AfterSaleStatus, DecisionType
from models.after_sales_machine import AfterSaleNotificationKind as _N
from models.errors import ValidationFailed
from models.orders import FulfilmentState, Order
from models.reasons import clean_comment, require_reason
from models.refund_ledger import RefundLedger
from models.requests import to_buyer, to_shop

_S = AfterSaleStatus
_A = AfterSaleAction

CARRIER_MAX_LENGTH = 100


def _clean_text(value: str, field: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise ValidationFailed(f"{field} is required", field=field)
    if len(cleaned) > CARRIER_MAX_LENGTH:
        raise ValidationFailed(f"{field} is at most {CARRIER_MAX_LENGTH} characters", field=field)
    return cleaned


def shipment_of(carrier: str, tracking_number: str, now: datetime) -> Shipment:
    """A parcel handed to a carrier now, its carrier and tracking number checked."""
    return Shipment(
        _clean_text(carrier, "carrier"), _clean_text(tracking_number, "trackingNumber"), now
    )


def ship_return(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    carrier: str,
    tracking_number: str,
    now: datetime,
) -> AfterSaleOutcome:
    """R8: the buyer ships the item back within the return-shipping window."""
    r.start_step(order, _A.SHIP_RETURN, actor)
    shipment = shipment_of(carrier, tracking_number, now)
    r.before_deadline(now)
    confirm_by = now + r.policy.seller_receipt_window
    text = (
        f"The buyer shipped the return for {r.id} (order {r.order_id}) with "
        f"{shipment.carrier}, tracking {shipment.tracking_number}; confirm receipt by "
        f"{confirm_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_shop(r, _N.RETURN_SHIPPED, text, now),)
    step = {"comment": shipment.label, "deadline": confirm_by, "return_shipment": shipment}
    return r.moved_to(order, _A.SHIP_RETURN, _S.RETURN_IN_TRANSIT, actor, now, notes, **step)


def expire_return(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the buyer did not ship the return within the window; the request closes."""
    step = r.on_deadline(order, _A.EXPIRE_RETURN, actor, now, reasons.BUYER_RETURN_WINDOW_PASSED)
    to_buyer_text = (
        f"Your {r.subject} for order {r.order_id} closed: the item was not shipped back in time."
    )
    to_shop_text = f"{r.id} (order {r.order_id}) closed: the buyer did not ship the return in time."
    notes = (
        to_buyer(r, _N.AFTER_SALE_CLOSED, to_buyer_text, now),
        to_shop(r, _N.AFTER_SALE_CLOSED, to_shop_text, now),
    )
    return r.moved_to(order, _A.EXPIRE_RETURN, _S.RETURN_EXPIRED, actor, now, notes, **step)


def confirm_receipt(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the seller confirms the return arrived: the refund is paid (or the replacement ships)."""
    r.start_step(order, _A.CONFIRM_RECEIPT, actor)
    r.before_deadline(now)
    received = r.return_shipment and r.return_shipment.received(now)
    return carry_out(
        r, order, ledger, None, _A.CONFIRM_RECEIPT, actor, now, return_shipment=received
    )


def auto_confirm_receipt(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the seller did not confirm within the receipt window; the platform confirms."""
    action = _A.AUTO_CONFIRM_RECEIPT
    why = r.on_deadline(order, action, actor, now, reasons.SELLER_RECEIPT_WINDOW_PASSED)
    received = r.return_shipment and r.return_shipment.received(now)
    return carry_out(r, order, ledger, None, action, actor, now, **why, return_shipment=received)


def reject_on_receipt(
    r: AfterSaleRequest, order: Order, actor: Actor, reason: str, comment: str | None, now: datetime
) -> AfterSaleOutcome:
    """R8, R4: the returned parcel is not what was agreed; the buyer may appeal (R5)."""
    r.start_step(order, _A.REJECT_ON_RECEIPT, actor)
    require_reason(reasons.RECEIPT_REJECT_REASONS, reason)
    comment = clean_comment(comment)
    r.before_deadline(now)
    return rejected(r, order, actor, _A.REJECT_ON_RECEIPT, reason, comment, now, on_receipt=True)


# --- The replacement (P4) ---------------------------------------------------------------------


def _refunded_instead(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    now: datetime,
    replacement: Order | None,
    comment: str | None,
    **why: object,
) -> AfterSaleOutcome:
    lines = r.decision.lines if r.decision else r.lines
    refund = DecisionType.ISSUE_REPLACEMENT_REFUND
    decision = Decision(refund, lines, True, None, None, comment, now, actor.kind)
    action = _A.ISSUE_REPLACEMENT_REFUND
    outcome = carry_out(r, order, ledger, decision, action, actor, now, comment=comment, **why)
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
    r.start_step(order, _A.ISSUE_REPLACEMENT_REFUND, actor)
    comment = clean_comment(comment)
    r.before_deadline(now)
    why = DecisionType.ISSUE_REPLACEMENT_REFUND.value
    return _refunded_instead(r, order, ledger, actor, now, replacement, comment, reason=why)


def replacement_not_delivered(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """P4: the shipped replacement was not delivered within its window; the platform refunds."""
    action = _A.ISSUE_REPLACEMENT_REFUND
    why = r.on_deadline(order, action, actor, now, reasons.REPLACEMENT_NOT_DELIVERED)
    return _refunded_instead(r, order, ledger, actor, now, None, None, **why)


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
    return r.moved_to(order, _A.SHIP_REPLACEMENT, _S.REPLACEMENT_SHIPPED, actor, now, notes, **step)


def _delivered(r: AfterSaleRequest, order: Order, actor: Actor, now: datetime) -> AfterSaleOutcome:
    action = _A.CONFIRM_REPLACEMENT_DELIVERED
    r.start_step(order, action, actor)
    text = f"The replacement for {r.id} (order {r.order_id}) was delivered."
    notes = (to_shop(r, _N.REPLACEMENT_DELIVERED, text, now),)
    received = r.replacement_shipment and r.replacement_shipment.received(now)
    step = {"reason": reasons.REPLACEMENT_DELIVERED, "replacement_shipment": received}
    return r.moved_to(order, action, _S.REPLACED, actor, now, notes, **step)


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
    r.start_step(order, _A.SHIP_REPLACEMENT, actor)
    shipment = shipment_of(carrier, tracking_number, now)
    outcome = _shipped(r, order, actor, shipment, now)
    if replacement is None:
        return outcome
    handed = replacement.handed_to_carrier(now, shipment.carrier, shipment.tracking_number)
    return replace(outcome, moved_orders=((replacement, handed),))


def replacement_delivered(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime, replacement: Order | None = None
) -> AfterSaleOutcome:
    """P2, P4: the carrier delivered the replacement; its order is delivered with it."""
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
    if r.status is _S.AWAITING_REPLACEMENT_SHIPMENT:
        r.start_step(order, _A.SHIP_REPLACEMENT, actor)
        carrier, tracking = replacement.carrier or "", replacement.tracking_number or ""
        shipment = Shipment(carrier, tracking, replacement.shipped_at or now)
        steps.append(_shipped(r, order, actor, shipment, now))
    current = steps[-1].request if steps else r
    if state is FulfilmentState.DELIVERED and current.status is _S.REPLACEMENT_SHIPPED:
        steps.append(_delivered(current, order, actor, now))
    if not steps:
        return None
    records = tuple(record for step in steps for record in step.records)
    notes = tuple(note for step in steps for note in step.notifications)
    return AfterSaleOutcome(steps[-1].request, order, records, notes, r.status)

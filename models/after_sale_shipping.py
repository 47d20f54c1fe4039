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

from models import after_sales_reasons as reasons
from models import commands
from models.after_sale_decisions import carry_out
from models.after_sale_requests import AfterSaleOutcome, Decision, Shipment, Step
from models.after_sales_machine import AfterSaleAction, AfterSaleStatus, DecisionType
from models.after_sales_machine import AfterSaleNotificationKind as _N
from models.errors import ValidationFailed
from models.orders import FulfilmentState
from models.reasons import clean_comment

_S, _A = AfterSaleStatus, AfterSaleAction

CARRIER_MAX_LENGTH = 100
# P4: the replacement order's states the request follows.
_HANDED_OVER = (FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED)


def _clean_text(value: str, field: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise ValidationFailed(f"{field} is required", field=field)
    if len(cleaned) > CARRIER_MAX_LENGTH:
        raise ValidationFailed(f"{field} is at most {CARRIER_MAX_LENGTH} characters", field=field)
    return cleaned


def _shipment_of(s: Step, c: commands.Shipping) -> Shipment:
    """A parcel handed to a carrier now, its carrier and tracking number checked."""
    carrier = _clean_text(c.carrier, "carrier")
    return Shipment(carrier, _clean_text(c.tracking_number, "trackingNumber"), s.now)


def ship_return(s: Step, c: commands.ShipReturn) -> AfterSaleOutcome:
    """R8: the buyer ships the item back within the return-shipping window."""
    r = s.start(_A.SHIP_RETURN)
    shipment = _shipment_of(s, c)
    s.in_time()
    confirm_by = s.now + r.policy.seller_receipt_window
    text = (
        f"The buyer shipped the return for {r.id} (order {r.order_id}) with "
        f"{shipment.carrier}, tracking {shipment.tracking_number}; confirm receipt by "
        f"{confirm_by:%Y-%m-%d %H:%M} UTC."
    )
    note = s.to_shop(_N.RETURN_SHIPPED, text)
    step = {"comment": shipment.label, "deadline": confirm_by, "return_shipment": shipment}
    return s.moved_to(_A.SHIP_RETURN, _S.RETURN_IN_TRANSIT, note, **step)


def expire_return(s: Step) -> AfterSaleOutcome:
    """R8: the buyer did not ship the return within the window; the request closes."""
    r = s.request
    why = s.on_deadline(_A.EXPIRE_RETURN, reasons.BUYER_RETURN_WINDOW_PASSED)
    text = f"Your {r.subject} for order {r.order_id} closed: the item was not shipped back in time."
    shop_text = f"{r.id} (order {r.order_id}) closed: the buyer did not ship the return in time."
    notes = (s.to_buyer(_N.AFTER_SALE_CLOSED, text), s.to_shop(_N.AFTER_SALE_CLOSED, shop_text))
    return s.moved_to(_A.EXPIRE_RETURN, _S.RETURN_EXPIRED, *notes, **why)


def confirm_receipt(s: Step, c: commands.ConfirmReturnReceived) -> AfterSaleOutcome:
    """R8: the seller confirms the return arrived: the refund is paid (or the replacement ships)."""
    r = s.start(_A.CONFIRM_RECEIPT)
    s.in_time()
    received = r.return_shipment and replace(r.return_shipment, received_at=s.now)
    return carry_out(s, None, _A.CONFIRM_RECEIPT, return_shipment=received)


def auto_confirm_receipt(s: Step) -> AfterSaleOutcome:
    """R8: the seller did not confirm within the receipt window; the platform confirms."""
    r, action = s.request, _A.AUTO_CONFIRM_RECEIPT
    why = s.on_deadline(action, reasons.SELLER_RECEIPT_WINDOW_PASSED)
    received = r.return_shipment and replace(r.return_shipment, received_at=s.now)
    return carry_out(s, None, action, **why, return_shipment=received)


# --- The replacement (P4) ---------------------------------------------------------------------


def _refunded_instead(s: Step, comment: str | None, **why: object) -> AfterSaleOutcome:
    r, replacement = s.request, s.replacement
    lines = r.decision.lines if r.decision else r.lines
    refund = DecisionType.ISSUE_REPLACEMENT_REFUND
    decision = Decision(refund, lines, True, None, None, comment, s.now, s.actor.kind)
    outcome = carry_out(s, decision, _A.ISSUE_REPLACEMENT_REFUND, comment=comment, **why)
    if replacement is None or replacement.fulfilment_state is not FulfilmentState.AWAITING_SHIPMENT:
        return outcome
    cancelled, _nothing_paid = replacement.cancelled(s.now)
    return replace(outcome, moved_orders=((replacement, cancelled),))


def issue_replacement_refund(s: Step, c: commands.IssueReplacementRefund) -> AfterSaleOutcome:
    """P4: the seller cannot replace; the approved (or asked) lines are refunded in full instead,
    the buyer keeps the faulty item, and an unshipped replacement order is cancelled."""
    s.start(_A.ISSUE_REPLACEMENT_REFUND)
    comment = clean_comment(c.comment)
    s.in_time()
    return _refunded_instead(s, comment, reason=DecisionType.ISSUE_REPLACEMENT_REFUND.value)


def replacement_not_delivered(s: Step) -> AfterSaleOutcome:
    """P4: the shipped replacement was not delivered within its window; the platform refunds."""
    why = s.on_deadline(_A.ISSUE_REPLACEMENT_REFUND, reasons.REPLACEMENT_NOT_DELIVERED)
    return _refunded_instead(replace(s, replacement=None), None, **why)


def _shipped(s: Step, shipment: Shipment) -> AfterSaleOutcome:
    text = (
        f"Your replacement for order {s.request.order_id} is on its way with "
        f"{shipment.carrier}, tracking {shipment.tracking_number}."
    )
    note = s.to_buyer(_N.REPLACEMENT_SHIPPED, text)
    deliver_by = s.now + s.request.policy.replacement_delivery_window
    step = {"comment": shipment.label, "deadline": deliver_by, "replacement_shipment": shipment}
    return s.moved_to(_A.SHIP_REPLACEMENT, _S.REPLACEMENT_SHIPPED, note, **step)


def _delivered(s: Step) -> AfterSaleOutcome:
    action = _A.CONFIRM_REPLACEMENT_DELIVERED
    r = s.start(action)
    text = f"The replacement for {r.id} (order {r.order_id}) was delivered."
    note = s.to_shop(_N.REPLACEMENT_DELIVERED, text)
    received = r.replacement_shipment and replace(r.replacement_shipment, received_at=s.now)
    step = {"reason": reasons.REPLACEMENT_DELIVERED, "replacement_shipment": received}
    return s.moved_to(action, _S.REPLACED, note, **step)


def ship_replacement(s: Step, c: commands.ShipReplacement) -> AfterSaleOutcome:
    """P2, P4: the seller hands the replacement to the carrier; its order moves with it."""
    s.start(_A.SHIP_REPLACEMENT)
    shipment = _shipment_of(s, c)
    outcome = _shipped(s, shipment)
    if s.replacement is None:
        return outcome
    handed = s.replacement.handed_to_carrier(s.now, shipment.carrier, shipment.tracking_number)
    return replace(outcome, moved_orders=((s.replacement, handed),))


def replacement_delivered(s: Step, c: commands.RecordReplacementDelivered) -> AfterSaleOutcome:
    """P2, P4: the carrier delivered the replacement; its order is delivered with it."""
    outcome, replacement = _delivered(s), s.replacement
    if replacement is None or replacement.fulfilment_state is not FulfilmentState.IN_TRANSIT:
        return outcome
    return replace(outcome, moved_orders=((replacement, replacement.delivered(s.now)),))


def follow_replacement_order(s: Step) -> AfterSaleOutcome | None:
    """P4: the request after its replacement order (`s.replacement`) moved (None: nothing for
    the request to do). Handed to the carrier: shipped; delivered: replaced (shipped first if
    nobody said so)."""
    replacement = s.replacement
    if replacement is None or replacement.fulfilment_state not in _HANDED_OVER:
        return None
    steps: list[AfterSaleOutcome] = []
    if s.request.status is _S.AWAITING_REPLACEMENT_SHIPMENT:
        s.start(_A.SHIP_REPLACEMENT)
        carrier, tracking = replacement.carrier or "", replacement.tracking_number or ""
        steps.append(_shipped(s, Shipment(carrier, tracking, replacement.shipped_at or s.now)))
        s = replace(s, request=steps[-1].request)
    delivered = replacement.fulfilment_state is FulfilmentState.DELIVERED
    if delivered and s.request.status is _S.REPLACEMENT_SHIPPED:
        steps.append(_delivered(s))
    if not steps:
        return None
    records = tuple(record for step in steps for record in step.records)
    notes = tuple(note for step in steps for note in step.notifications)
    return AfterSaleOutcome(steps[-1].request, s.order, records, notes)

"""Return shipping (R8, P2): the buyer's return and the seller's receipt of it, and the platform's
moves when a shipping window passes. The replacement's own shipping is
models/after_sale_replacements.py (P4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models.actors import Actor
from models.after_sale_decisions import carry_out, rejected
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, Shipment
from models.after_sale_steps import (
    at_deadline,
    before_deadline,
    default_decision,
    moved_to,
    start_step,
    subject,
)
from models.after_sales_machine import AfterSaleAction, AfterSaleNotificationKind, AfterSaleStatus
from models.after_sales_reasons import (
    BUYER_RETURN_WINDOW_PASSED,
    RECEIPT_REJECT_REASONS,
    SELLER_RECEIPT_WINDOW_PASSED,
)
from models.errors import ValidationFailed
from models.orders import Order
from models.reasons import clean_comment, require_reason
from models.refund_ledger import RefundLedger
from models.requests import to_buyer, to_shop

_S = AfterSaleStatus
_A = AfterSaleAction
_N = AfterSaleNotificationKind


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
    start_step(r, order, _A.SHIP_RETURN, actor)
    shipment = shipment_of(carrier, tracking_number, now)
    before_deadline(r, now)
    confirm_by = now + r.policy.seller_receipt_window
    text = (
        f"The buyer shipped the return for {r.id} (order {r.order_id}) with "
        f"{shipment.carrier}, tracking {shipment.tracking_number}; confirm receipt by "
        f"{confirm_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_shop(r, _N.RETURN_SHIPPED, text, now),)
    step = {"comment": shipment.label, "deadline": confirm_by, "return_shipment": shipment}
    return moved_to(r, order, _A.SHIP_RETURN, _S.RETURN_IN_TRANSIT, actor, now, notes, **step)


def expire_return(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the buyer did not ship the return within the window; the request closes."""
    start_step(r, order, _A.EXPIRE_RETURN, actor)
    deadline = at_deadline(r, now)
    to_buyer_text = (
        f"Your {subject(r.kind)} for order {r.order_id} closed: the item was not shipped back "
        "in time."
    )
    to_shop_text = f"{r.id} (order {r.order_id}) closed: the buyer did not ship the return in time."
    notes = (
        to_buyer(r, _N.AFTER_SALE_CLOSED, to_buyer_text, now),
        to_shop(r, _N.AFTER_SALE_CLOSED, to_shop_text, now),
    )
    step = {"reason": BUYER_RETURN_WINDOW_PASSED, "acted_on": deadline}
    return moved_to(r, order, _A.EXPIRE_RETURN, _S.RETURN_EXPIRED, actor, now, notes, **step)


def _received(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    action: AfterSaleAction,
    now: datetime,
    reason: str | None,
    acted_on: datetime | None,
) -> AfterSaleOutcome:
    decision = r.decision or default_decision(r, now, actor.kind)
    shipment = r.return_shipment
    received = replace(shipment, received_at=now) if shipment else None
    step = {"reason": reason, "acted_on": acted_on, "return_shipment": received}
    return carry_out(r, order, ledger, decision, action, actor, now, **step)


def confirm_receipt(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the seller confirms the return arrived: the refund is paid (or the replacement ships)."""
    start_step(r, order, _A.CONFIRM_RECEIPT, actor)
    before_deadline(r, now)
    return _received(r, order, ledger, actor, _A.CONFIRM_RECEIPT, now, None, None)


def auto_confirm_receipt(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the seller did not confirm within the receipt window; the platform confirms."""
    start_step(r, order, _A.AUTO_CONFIRM_RECEIPT, actor)
    deadline = at_deadline(r, now)
    why = SELLER_RECEIPT_WINDOW_PASSED
    return _received(r, order, ledger, actor, _A.AUTO_CONFIRM_RECEIPT, now, why, deadline)


def reject_on_receipt(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    now: datetime,
) -> AfterSaleOutcome:
    """R8, R4: the returned parcel is not what was agreed; the buyer may appeal (R5)."""
    start_step(r, order, _A.REJECT_ON_RECEIPT, actor)
    require_reason(RECEIPT_REJECT_REASONS, reason)
    comment = clean_comment(comment)
    before_deadline(r, now)
    return rejected(r, order, actor, _A.REJECT_ON_RECEIPT, reason, comment, now, on_receipt=True)

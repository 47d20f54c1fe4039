"""TikTok Shop's statuses and this service's, in one table per kind (docs/tiktok.md prints them).
Pure: no I/O.

A mirrored request only moves forward: `RANK` orders this service's statuses, and a status
TikTok reports that ranks below the mirror's (a late or out-of-order notification) is ignored.
A status not in the tables is recorded on the mirror as it came (`unknown_status`), never
dropped and never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from models.after_sales_machine import AfterSaleStatus
from models.cancellation_states import CancellationStatus
from models.order_intake import OrderStep

# How long before TikTok's deadline for the seller's answer the service warns (a ticket tag, an
# event on the live feed, `deadlineSoon`): a seller under 90% on time in a month gets TikTok's
# auto-approval forced on.
WARN_BEFORE = timedelta(hours=12)


def deadline_soon(
    deadline: datetime | None, decision_in_flight: bool, now: datetime, warn_before: timedelta
) -> bool:
    """Whether the seller is warned: TikTok's deadline for their answer falls within
    `warn_before` from now and no decision from here is on its way to TikTok."""
    if deadline is None or decision_in_flight:
        return False
    return now <= deadline <= now + warn_before


_C = CancellationStatus
_R = AfterSaleStatus

# TikTok's order status -> the intake's step (None: nothing to report beyond the placement).
ORDER_STEPS: Mapping[str, OrderStep | None] = {
    "UNPAID": None,
    "ON_HOLD": OrderStep.PAID,
    "AWAITING_SHIPMENT": OrderStep.PAID,
    "AWAITING_COLLECTION": OrderStep.PAID,
    "PARTIALLY_SHIPPING": OrderStep.HANDED_TO_CARRIER,
    "IN_TRANSIT": OrderStep.IN_TRANSIT,
    "DELIVERED": OrderStep.DELIVERED,
    "COMPLETED": OrderStep.DELIVERED,
    # A cancelled order is the cancellation's to move (its own notification), not the order's.
    "CANCELLED": None,
}

# TikTok's cancel_status -> this service's; `_CANCEL` splits on whether the seller rejected it.
CANCELLATION_STATUSES: Mapping[str, CancellationStatus] = {
    "CANCELLATION_REQUEST_PENDING": _C.PENDING,
    "CANCELLATION_REQUEST_SUCCESS": _C.CANCELLED,
    "CANCELLATION_REQUEST_COMPLETE": _C.CANCELLED,
    "CANCELLATION_REQUEST_CANCEL": _C.WITHDRAWN,  # REJECTED when a reject_reason is set
    "CANCELLATION_REQUEST_CANCELLED": _C.WITHDRAWN,  # the other spelling
}

# TikTok's return_status -> this service's.
RETURN_STATUSES: Mapping[str, AfterSaleStatus] = {
    "RETURN_OR_REFUND_REQUEST_PENDING": _R.PENDING_SELLER,
    "AWAITING_BUYER_RESPONSE": _R.PENDING_SELLER,  # an offer out; the seller's turn again after
    "REFUND_OR_RETURN_REQUEST_REJECT": _R.REJECTED,
    "AWAITING_BUYER_SHIP": _R.AWAITING_BUYER_RETURN,
    "BUYER_SHIPPED_ITEM": _R.RETURN_IN_TRANSIT,
    "REJECT_RECEIVE_PACKAGE": _R.REJECTED,
    "RETURN_OR_REFUND_REQUEST_SUCCESS": _R.REFUNDED,
    "RETURN_OR_REFUND_REQUEST_COMPLETE": _R.REFUNDED,
    "RETURN_OR_REFUND_REQUEST_CANCEL": _R.WITHDRAWN,
    "RETURN_OR_REFUND__REQUEST_CANCELLED": _R.WITHDRAWN,  # as the webhook page prints it
    "REPLACEMENT_REQUEST_PENDING": _R.PENDING_SELLER,
    "REPLACEMENT_REQUEST_REJECT": _R.REJECTED,
    "REPLACEMENT_REQUEST_REFUND_SUCCESS": _R.REFUNDED,
    "REPLACEMENT_REQUEST_CANCEL": _R.WITHDRAWN,
    "REPLACEMENT_REQUEST_COMPLETE": _R.REPLACED,
}

# Forward order: a mirror never moves to a lower rank. Final statuses share the top rank, so
# one final status never replaces another.
CANCELLATION_RANK: Mapping[CancellationStatus, int] = {
    _C.PENDING: 0,
    _C.CANCELLED: 1,
    _C.REJECTED: 1,
    _C.WITHDRAWN: 1,
}


def cancellation_status(cancel_status: str, reject_reason: str = "") -> CancellationStatus | None:
    """This service's status for TikTok's; None for a status the table does not know."""
    status = CANCELLATION_STATUSES.get(cancel_status)
    if status is _C.WITHDRAWN and reject_reason:
        return _C.REJECTED
    return status


def moves_forward(current: CancellationStatus, reported: CancellationStatus) -> bool:
    return CANCELLATION_RANK[reported] > CANCELLATION_RANK[current]


# This service's reasons for rejecting a cancellation -> TikTok's names (its reject_reasons
# endpoint); a reason with no TikTok counterpart is refused before anything is sent.
CANCEL_REJECT_REASONS: Mapping[str, str] = {
    "ALREADY_SHIPPED": "seller_reject_apply_package_has_been_shipped",
    "AGREED_WITH_BUYER": "seller_reject_apply_buyer_agreed_to_keep_order",
    "CUSTOM_MADE": "seller_reject_apply_product_has_been_packed",
}

# Rejecting a refund, a return or a replacement: this service's reasons -> TikTok's.
RETURN_REJECT_REASONS: Mapping[str, str] = {
    "DELIVERED_AS_DESCRIBED": "reverse_reject_request_reason_product_is_fine",
    "OUTSIDE_RETURN_POLICY": "reverse_reject_request_reason_outside_return_window",
    "NO_EVIDENCE": "reverse_reject_request_reason_missing_evidence",
    "NO_DEFECT_FOUND": "reverse_reject_request_reason_product_is_fine",
    "NOT_ELIGIBLE": "reverse_reject_request_reason_outside_return_window",
}
# Rejecting a returned parcel on receipt.
RECEIPT_REJECT_REASONS: Mapping[str, str] = {
    "NOTHING_RECEIVED": "reverse_reject_receive_reason_package_empty",
    "WRONG_ITEM_RETURNED": "reverse_reject_receive_reason_wrong_item",
}

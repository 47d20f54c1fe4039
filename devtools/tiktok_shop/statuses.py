"""TikTok Shop's status names, decisions and webhook types as the stand-in uses them; the
transitions between them are in `marketplace.py` and in docs/tiktok-standin.md."""

from __future__ import annotations

ORDER_STATUS_CODES = {
    "UNPAID": 100,
    "ON_HOLD": 105,
    "AWAITING_SHIPMENT": 111,
    "AWAITING_COLLECTION": 112,
    "PARTIALLY_SHIPPING": 114,
    "IN_TRANSIT": 121,
    "DELIVERED": 122,
    "COMPLETED": 130,
    "CANCELLED": 140,
}
BEFORE_SHIPMENT = {"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "AWAITING_COLLECTION"}
AFTER_SHIPMENT = {"IN_TRANSIT", "DELIVERED", "COMPLETED"}

CANCEL_PENDING = "CANCELLATION_REQUEST_PENDING"
CANCEL_SUCCESS = "CANCELLATION_REQUEST_SUCCESS"
CANCEL_CLOSED = "CANCELLATION_REQUEST_CANCEL"
CANCEL_COMPLETE = "CANCELLATION_REQUEST_COMPLETE"

RETURN_PENDING = "RETURN_OR_REFUND_REQUEST_PENDING"
RETURN_REJECT = "REFUND_OR_RETURN_REQUEST_REJECT"
AWAITING_BUYER_SHIP = "AWAITING_BUYER_SHIP"
BUYER_SHIPPED_ITEM = "BUYER_SHIPPED_ITEM"
REJECT_RECEIVE_PACKAGE = "REJECT_RECEIVE_PACKAGE"
RETURN_SUCCESS = "RETURN_OR_REFUND_REQUEST_SUCCESS"
RETURN_CANCEL = "RETURN_OR_REFUND_REQUEST_CANCEL"
RETURN_COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"
AWAITING_BUYER_RESPONSE = "AWAITING_BUYER_RESPONSE"
REPLACEMENT_PENDING = "REPLACEMENT_REQUEST_PENDING"
REPLACEMENT_REJECT = "REPLACEMENT_REQUEST_REJECT"
REPLACEMENT_REFUND_SUCCESS = "REPLACEMENT_REQUEST_REFUND_SUCCESS"
REPLACEMENT_CANCEL = "REPLACEMENT_REQUEST_CANCEL"
REPLACEMENT_COMPLETE = "REPLACEMENT_REQUEST_COMPLETE"

OPEN_RETURN = {
    RETURN_PENDING,
    AWAITING_BUYER_SHIP,
    BUYER_SHIPPED_ITEM,
    AWAITING_BUYER_RESPONSE,
    RETURN_SUCCESS,
    REPLACEMENT_PENDING,
}
RETURN_TYPES = {"REFUND", "RETURN_AND_REFUND", "REPLACEMENT"}
APPROVE_DECISIONS = {
    "APPROVE_REFUND",
    "APPROVE_RETURN",
    "APPROVE_RECEIVED_PACKAGE",
    "APPROVE_REPLACEMENT",
    "ISSUE_REPLACEMENT_REFUND",
    "OFFER_PARTIAL_REFUND",
}
REJECT_DECISIONS = {
    "REJECT_REFUND",
    "REJECT_RETURN",
    "REJECT_RECEIVED_PACKAGE",
    "REJECT_REPLACEMENT",
}
ARBITRATION_OUTCOMES = {"SUPPORT_BUYER", "SUPPORT_SELLER", "CLOSED"}

# Names in TikTok's style; TikTok publishes no fixed list (it answers per request and locale).
CANCEL_REJECT_REASONS = {
    "seller_reject_apply_product_has_been_packed": "The package has been packed",
    "seller_reject_apply_package_has_been_shipped": "The package has been shipped",
    "seller_reject_apply_buyer_agreed_to_keep_order": "The buyer agreed to keep the order",
}
RETURN_REJECT_REASONS = {
    "reverse_reject_request_reason_product_is_fine": "The product is in good condition",
    "reverse_reject_request_reason_outside_return_window": "Outside the return window",
    "reverse_reject_request_reason_missing_evidence": "The buyer gave no evidence",
}
RECEIVE_REJECT_REASONS = {
    "reverse_reject_receive_reason_package_empty": "The returned package was empty",
    "reverse_reject_receive_reason_wrong_item": "A different item was returned",
}

WEBHOOK_ORDER_STATUS = 1
WEBHOOK_CANCELLATION_STATUS = 11
WEBHOOK_RETURN_STATUS = 12
WEBHOOK_REFUND_SUCCESS = 67

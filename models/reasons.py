"""Reason catalogues, served by the API with their display text (C5: a reason from a fixed list)."""

from __future__ import annotations

from collections.abc import Mapping

from models.errors import ValidationFailed

BUYER_CANCEL_REASONS: Mapping[str, str] = {
    "CHANGED_MIND": "No longer needed / changed my mind",
    "ORDERED_BY_MISTAKE": "Ordered by mistake",
    "BETTER_PRICE_ELSEWHERE": "Found a better price elsewhere",
    "WRONG_ADDRESS": "Need to change the shipping address",
    "DELIVERY_TOO_SLOW": "Delivery takes too long",
    "PAYMENT_PROBLEM": "Problem with the payment method",
    "OTHER": "Other reason",
}

# C5: the list a seller picks from when rejecting a buyer's cancellation request.
CANCELLATION_REJECT_REASONS: Mapping[str, str] = {
    "ALREADY_SHIPPED": "The package has already been shipped",
    "AGREED_WITH_BUYER": "Buyer agreed to keep the order",
    "CUSTOM_MADE": "Item is custom-made and already in production",
    "BUYER_REASON_INVALID": "The reason given does not apply to this order",
    "OTHER": "Other reason",
}

# C7: why a seller cancels an order themselves.
SELLER_CANCEL_REASONS: Mapping[str, str] = {
    "OUT_OF_STOCK": "Out of stock",
    "SUSPECTED_FRAUD": "Suspected fraud",
    "POLICY_VIOLATION": "Order violates shop or platform policy",
    "PRICING_ERROR": "Pricing error",
    "UNABLE_TO_DELIVER": "Unable to deliver to the buyer's address",
    "BUYER_REQUESTED": "Buyer asked the shop to cancel",
}

# C8: why the platform cancels an order.
SYSTEM_CANCEL_REASONS: Mapping[str, str] = {
    "NON_PAYMENT": "The order was not paid in time",
}

# C6: the reason recorded when the platform accepts on the seller's behalf.
AUTO_ACCEPT_REASON = "SELLER_RESPONSE_WINDOW_PASSED"

COMMENT_MAX_LENGTH = 500

_DISPLAY_TEXT = {
    **BUYER_CANCEL_REASONS,
    **CANCELLATION_REJECT_REASONS,
    **SELLER_CANCEL_REASONS,
    **SYSTEM_CANCEL_REASONS,
    AUTO_ACCEPT_REASON: "The seller did not answer within the response window",
}


def display_text(code: str) -> str:
    text = _DISPLAY_TEXT.get(code)  # the fallback only for a code not in the catalogues
    return text if text is not None else code.replace("_", " ").capitalize()


def require_reason(catalogue: Mapping[str, str], code: str, field: str = "reason") -> str:
    if code not in catalogue:
        raise ValidationFailed(
            f"unknown reason {code!r}; expected one of {', '.join(catalogue)}", field=field
        )
    return code


def clean_comment(comment: str | None, field: str = "comment") -> str | None:
    if comment is None:
        return None
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationFailed(
            f"{field} is {len(comment)} characters; at most {COMMENT_MAX_LENGTH}", field=field
        )
    return comment or None

"""Reason catalogues of after-sale requests, per kind, with display text (R4, P1, P3, R9, R10).

The keys are the codes stored and served by the API; the values are what a person reads. A code
means the same in every catalogue that lists it, so its text is written once (`_TEXT`) and each
catalogue is the list of its codes, in the order the API serves them.
"""

from __future__ import annotations

from collections.abc import Mapping

from models.reasons import AUTO_ACCEPT_REASON
from models.reasons import display_text as _base_display_text

# The one reason that lets a buyer ask about an order that was never delivered (R1, refund only).
NOT_RECEIVED = "NOT_RECEIVED"
# R10: the platform's instant refund of a category.
INSTANT_REFUND_CATEGORY = "INSTANT_REFUND_CATEGORY"

# The reasons the platform and the buyer's own actions record on the timeline (R11).
SELLER_RESPONSE_WINDOW_PASSED = AUTO_ACCEPT_REASON  # R3, the same code as C6
BUYER_RETURN_WINDOW_PASSED = "BUYER_RETURN_WINDOW_PASSED"
SELLER_RECEIPT_WINDOW_PASSED = "SELLER_RECEIPT_WINDOW_PASSED"
APPEAL_WINDOW_PASSED = "APPEAL_WINDOW_PASSED"
SECOND_REQUEST_SUBMITTED = "SECOND_REQUEST_SUBMITTED"
APPEAL_DECIDED_FOR_BUYER = "APPEAL_DECIDED_FOR_BUYER"
APPEAL_DECIDED_FOR_SELLER = "APPEAL_DECIDED_FOR_SELLER"
REPLACEMENT_DELIVERED = "REPLACEMENT_DELIVERED"
BUYER_OFFER_WINDOW_PASSED = "BUYER_OFFER_WINDOW_PASSED"
REPLACEMENT_NOT_DELIVERED = "REPLACEMENT_NOT_DELIVERED"

# What a person reads for each code, whichever catalogue or step it comes from.
_TEXT: Mapping[str, str] = {
    # Why the buyer asks (R1, P1).
    NOT_RECEIVED: "I did not receive the package",
    "EMPTY_PACKAGE": "The package was empty",
    "MISSING_ITEMS": "Items are missing from the package",
    "DAMAGED": "The item arrived damaged",
    "NOT_AS_DESCRIBED": "The item is not as described",
    "OTHER": "Other reason",
    "DEFECTIVE": "The item does not work",
    "WRONG_ITEM": "I received the wrong item",
    "MISSING_PARTS": "Parts or accessories are missing",
    "CHANGED_MIND": "No longer needed / changed my mind",
    # Why the seller rejects a request (R4, P3) or a returned parcel (R8).
    "STILL_IN_TRANSIT": "The package is still on its way",
    "DELIVERED_AS_DESCRIBED": "The item was delivered as described",
    "OUTSIDE_RETURN_POLICY": "The item is not covered by the return policy",
    "NO_EVIDENCE": "The buyer gave no evidence of the problem",
    "AGREED_WITH_BUYER": "The buyer agreed to another solution",
    "INELIGIBLE_REASON": "The reason given does not apply to this order",
    "NOT_ELIGIBLE": "The item is not eligible for replacement",
    "OUT_OF_STOCK": "The item is out of stock",
    "NO_DEFECT_FOUND": "No defect or damage could be confirmed",
    "NOTHING_RECEIVED": "The return never arrived",
    "WRONG_ITEM_RETURNED": "A different item was returned",
    "DAMAGED_BY_BUYER": "The item came back damaged by use",
    "PARTS_MISSING": "Parts of the item were not returned",
    # Why the seller approves a replacement (P2).
    "DEFECT_CONFIRMED": "Defect confirmed",
    "DAMAGED_IN_TRANSIT": "Damaged in transit",
    "WRONG_ITEM_SENT": "The wrong item was sent",
    "GOODWILL": "Goodwill replacement",
    # Why the buyer appeals (R5, R6).
    "SELLER_REASON_UNTRUE": "The seller's reason is not true",
    "HAVE_EVIDENCE": "I have evidence of the problem",
    "RETURNED_AS_ASKED": "I returned the item as asked",
    # Why the seller (R9) or the platform (R10) refunds without a request.
    "PRICING_ERROR": "Pricing error",
    "INVENTORY_SHORTAGE": "Inventory shortage",
    "LOGISTICS_PROBLEM": "Logistics problem",
    INSTANT_REFUND_CATEGORY: "Instant refund for this product category",
    "POLICY_VIOLATION": "The order broke marketplace policy",
    "COMPLAINT_DECIDED_FOR_BUYER": "A complaint was decided in the buyer's favour",
    # The platform's and the buyer's own moves (R11).
    SELLER_RESPONSE_WINDOW_PASSED: "The seller did not answer within the response window",
    BUYER_RETURN_WINDOW_PASSED: "The buyer did not ship the return in time",
    SELLER_RECEIPT_WINDOW_PASSED: "The seller did not confirm the return in time",
    APPEAL_WINDOW_PASSED: "The rejection was not appealed in time",
    SECOND_REQUEST_SUBMITTED: "The buyer submitted a new request instead of appealing",
    APPEAL_DECIDED_FOR_BUYER: "The platform decided the appeal for the buyer",
    APPEAL_DECIDED_FOR_SELLER: "The platform decided the appeal for the seller",
    REPLACEMENT_DELIVERED: "The replacement was delivered",
    BUYER_OFFER_WINDOW_PASSED: "The buyer did not answer the offer in time",
    REPLACEMENT_NOT_DELIVERED: "The replacement was not delivered in time",
    # R7: the decision types, recorded as the reason of an approval that has no reason type.
    "APPROVE_REFUND": "Refund approved",
    "APPROVE_RETURN": "Return and refund approved",
    "APPROVE_REPLACEMENT": "Replacement approved",
    "OFFER_PARTIAL_REFUND": "Partial refund",
    "ISSUE_REPLACEMENT_REFUND": "Refund instead of a replacement",
}


def _catalogue(*codes: str) -> Mapping[str, str]:
    return {code: _TEXT[code] for code in codes}


# R1: why the buyer asks for a refund only (for example never received).
REFUND_ONLY_REASONS = _catalogue(
    NOT_RECEIVED, "EMPTY_PACKAGE", "MISSING_ITEMS", "DAMAGED", "NOT_AS_DESCRIBED", "OTHER"
)
# R1: why the buyer wants to send the item back for a refund.
RETURN_AND_REFUND_REASONS = _catalogue(
    "DAMAGED",
    "DEFECTIVE",
    "NOT_AS_DESCRIBED",
    "WRONG_ITEM",
    "MISSING_PARTS",
    "CHANGED_MIND",
    "OTHER",
)
# P1: a replacement is for an item that is damaged, defective or incorrect.
REPLACEMENT_REASONS = _catalogue("DAMAGED", "DEFECTIVE", "WRONG_ITEM")
# R4: the list a seller picks from when rejecting a refund or a return and refund.
REFUND_REJECT_REASONS = _catalogue(
    "STILL_IN_TRANSIT",
    "DELIVERED_AS_DESCRIBED",
    "OUTSIDE_RETURN_POLICY",
    "NO_EVIDENCE",
    "AGREED_WITH_BUYER",
    "INELIGIBLE_REASON",
    "OTHER",
)
# P3: the list a seller picks from when rejecting a replacement (a comment is required too).
REPLACEMENT_REJECT_REASONS = _catalogue(
    "NOT_ELIGIBLE", "OUT_OF_STOCK", "NO_DEFECT_FOUND", "AGREED_WITH_BUYER", "OTHER"
)
# P2: the reason type of an approved replacement.
REPLACEMENT_APPROVE_REASONS = _catalogue(
    "DEFECT_CONFIRMED", "DAMAGED_IN_TRANSIT", "WRONG_ITEM_SENT", "GOODWILL"
)
# R8: why a seller rejects a returned parcel on receipt (the buyer may appeal, R5).
RECEIPT_REJECT_REASONS = _catalogue(
    "NOTHING_RECEIVED", "WRONG_ITEM_RETURNED", "DAMAGED_BY_BUYER", "PARTS_MISSING", "OTHER"
)
# R5, R6: why the buyer appeals a rejection.
APPEAL_REASONS = _catalogue("SELLER_REASON_UNTRUE", "HAVE_EVIDENCE", "RETURNED_AS_ASKED", "OTHER")
# R9: why a seller refunds without a buyer's request.
SELLER_REFUND_REASONS = _catalogue("PRICING_ERROR", "INVENTORY_SHORTAGE", "LOGISTICS_PROBLEM")
# R10: why the platform refunds without the seller.
PLATFORM_REFUND_REASONS = _catalogue(
    INSTANT_REFUND_CATEGORY, "POLICY_VIOLATION", "COMPLAINT_DECIDED_FOR_BUYER"
)


def display_text(code: str) -> str:
    """The display text of any after-sale reason code, else the cancellation catalogues' text."""
    return _TEXT.get(code) or _base_display_text(code)

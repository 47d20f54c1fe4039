"""Expected failures of after-sale requests (R1-R11, P1-P3). Each has a stable code.

They live here, beside models/errors.py, so the after-sale work needs no change to shared modules;
they are all `DomainError`s, so the resolvers' generic `UserError` mapping already serves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from models.errors import DomainError, InvalidTransition, ValidationFailed
from models.money import Money

# Why a buyer's request (or a line of it) is refused, shown per line by the eligibility query
# (every code a client sees is one of the API's ErrorCode: resolvers/errors.py).
WINDOW_PASSED = "WINDOW_PASSED"
NOT_DELIVERED = "NOT_DELIVERED"
NOT_SHIPPED = "NOT_SHIPPED"
QUANTITY_USED_UP = "QUANTITY_USED_UP"
ALREADY_REQUESTED = "ALREADY_REQUESTED"
SECOND_REJECTION_ONLY_APPEAL = "SECOND_REJECTION_ONLY_APPEAL"
NOTHING_TO_REFUND = "NOTHING_TO_REFUND"


class AfterSaleRefused(DomainError):
    """R1, R5, P1: the request cannot be opened; `code` says why, `line_ids` which lines."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        line_ids: Iterable[str] = (),
        existing_id: str | None = None,
        window_ends_at: datetime | None = None,
    ) -> None:
        super().__init__(message, field="lines" if line_ids else "orderId")
        self.code = code
        self.line_ids = tuple(line_ids)
        self.existing_id = existing_id
        self.window_ends_at = window_ends_at


class RefundAmountInvalid(ValidationFailed):
    """R7: a partial amount is positive and in the order's currency."""

    code = "REFUND_AMOUNT_INVALID"
    field = "partialAmount"


class RefundExceedsRefundable(DomainError):
    """R7: a partial amount above what the chosen lines can still refund."""

    code = "REFUND_EXCEEDS_REFUNDABLE"

    def __init__(self, message: str, *, refundable: Money) -> None:
        super().__init__(message, field="partialAmount")
        self.refundable = refundable


class RefundExceedsPaid(DomainError):
    """The ledger's guard: a refund would take a line, the shipping or the order past what was paid.

    The quote never produces such a refund; this fires only when two refunds raced on a stale ledger
    (the storage layer then retries on the ledger as it now is).
    """

    code = "REFUND_EXCEEDS_PAID"
    field = "amount"


class DecisionNotAllowed(DomainError):
    """R7, P2: the decision does not fit the request (say, a replacement for money)."""

    code = "DECISION_NOT_ALLOWED"
    field = "decision"


class WindowClosed(DomainError):
    """The acting side's window has passed; the platform's deadline move is due instead.

    Codes: APPEAL_WINDOW_CLOSED, RETURN_SHIPPING_WINDOW_CLOSED, RECEIPT_WINDOW_CLOSED,
    OFFER_WINDOW_CLOSED (R12; the seller's response window reuses
    models.errors.ResponseWindowClosed, as cancellations do).
    """

    def __init__(self, message: str, *, code: str, deadline: datetime) -> None:
        super().__init__(message)
        self.code = code
        self.deadline = deadline


class DeadlineNotReached(InvalidTransition):
    """The platform's deadline move was asked for before the deadline."""

    code = "DEADLINE_NOT_REACHED"

    def __init__(self, message: str, *, current_state: str, deadline: datetime | None) -> None:
        super().__init__(message, current_state=current_state)
        self.deadline = deadline

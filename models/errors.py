"""Expected failures of the domain. Each has a stable code a client can branch on."""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    field: str | None = None  # the input it is about, unless the raiser names another

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field or self.field


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"


class InvalidTransition(DomainError):
    """The action is not allowed from the request's current state; nothing was written."""

    code = "INVALID_STATE"

    def __init__(self, message: str, *, current_state: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.current_state = current_state


class NotPending(InvalidTransition):
    """Someone else decided first (or the request was never waiting for a decision)."""

    code = "NOT_PENDING"


class OrderNotCancellable(DomainError):
    """C3: once with the carrier, in transit or delivered, an order cannot be cancelled."""

    def __init__(self, message: str, *, code: str, fulfilment_state: str) -> None:
        super().__init__(message, field="orderId")
        self.code = code
        self.fulfilment_state = fulfilment_state


class ResponseWindowClosed(DomainError):
    """The seller's response window has passed: the platform's automatic decision is due."""

    code = "RESPONSE_WINDOW_CLOSED"

    def __init__(self, message: str, *, deadline: datetime) -> None:
        super().__init__(message)
        self.deadline = deadline


class PaymentWindowOpen(DomainError):
    code = "PAYMENT_WINDOW_OPEN"

    def __init__(self, message: str, *, payment_due_at: datetime) -> None:
        super().__init__(message, field="orderId")
        self.payment_due_at = payment_due_at


class DuplicateRequest(DomainError):
    """The order already has a request that blocks a new one."""

    code = "ALREADY_REQUESTED"

    def __init__(self, message: str, *, existing_id: str) -> None:
        super().__init__(message, field="orderId")
        self.existing_id = existing_id


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    field = "idempotencyKey"


class CursorExpired(DomainError):
    """A live-feed cursor older than the events kept: reload, then subscribe without it."""

    code = "CURSOR_EXPIRED"

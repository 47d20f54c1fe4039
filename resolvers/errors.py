"""Typed errors: every expected failure of a mutation is a member of its result union.

A client branches on `__typename` (or on `... on UserError { code message field }`); the code is
stable, the message is for people, `field` names the input that caused it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry

from models import errors as domain


@strawberry.enum(description="Stable, machine-readable error codes.")
class ErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    INVALID_STATE = "INVALID_STATE"
    NOT_PENDING = "NOT_PENDING"
    ORDER_IN_TRANSIT = "ORDER_IN_TRANSIT"
    ORDER_DELIVERED = "ORDER_DELIVERED"
    ORDER_ALREADY_CANCELLED = "ORDER_ALREADY_CANCELLED"
    RESPONSE_WINDOW_CLOSED = "RESPONSE_WINDOW_CLOSED"
    PAYMENT_WINDOW_OPEN = "PAYMENT_WINDOW_OPEN"
    ALREADY_REQUESTED = "ALREADY_REQUESTED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


@strawberry.interface(description="An expected failure: nothing was written.")
class UserError:
    code: ErrorCode
    message: str
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type
class NotFoundError(UserError):
    pass


@strawberry.type
class ForbiddenError(UserError):
    pass


@strawberry.type
class ValidationError(UserError):
    pass


@strawberry.type
class IdempotencyKeyReusedError(UserError):
    pass


@strawberry.type(description="The action is not allowed from the current state.")
class InvalidStateError(UserError):
    current_state: str


@strawberry.type(description="Somebody decided first: the request is no longer pending.")
class NotPendingError(UserError):
    current_status: str


@strawberry.type(description="C3: the order is with the carrier, delivered or cancelled.")
class OrderNotCancellableError(UserError):
    fulfilment_state: str


@strawberry.type(description="The seller's response window closed; the platform accepts (C6).")
class ResponseWindowClosedError(UserError):
    closed_at: datetime


@strawberry.type(description="The buyer may still pay; the order cannot be cancelled for it yet.")
class PaymentWindowOpenError(UserError):
    payment_due_at: datetime


@strawberry.type(description="The order already has a request that blocks a new one.")
class AlreadyRequestedError(UserError):
    existing_cancellation_id: strawberry.ID


# The codes of the typed errors an operation returned, for its log line and metrics: the
# operation log (api/operation_log.py) sets a fresh list per operation; None outside one.
typed_error_codes: ContextVar[list[str] | None] = ContextVar("typed_error_codes", default=None)


def to_user_error(err: domain.DomainError) -> UserError:
    code = ErrorCode(err.code)
    if (codes := typed_error_codes.get()) is not None:
        codes.append(err.code)
    common: dict[str, Any] = {"code": code, "message": err.message, "field": err.field}
    match err:
        case domain.NotPending():
            return NotPendingError(**common, current_status=err.current_state)
        case domain.InvalidTransition():
            return InvalidStateError(**common, current_state=err.current_state)
        case domain.OrderNotCancellable():
            return OrderNotCancellableError(**common, fulfilment_state=err.fulfilment_state)
        case domain.ResponseWindowClosed():
            return ResponseWindowClosedError(**common, closed_at=err.deadline)
        case domain.PaymentWindowOpen():
            return PaymentWindowOpenError(**common, payment_due_at=err.payment_due_at)
        case domain.DuplicateRequest():
            return AlreadyRequestedError(**common, existing_cancellation_id=err.existing_id)
        case domain.NotFound():
            return NotFoundError(**common)
        case domain.Forbidden():
            return ForbiddenError(**common)
        case domain.IdempotencyKeyReused():
            return IdempotencyKeyReusedError(**common)
        case _:
            return ValidationError(**common)


COMMON_ERRORS = (NotFoundError, ForbiddenError, ValidationError, IdempotencyKeyReusedError)

T = TypeVar("T")
R = TypeVar("R")


async def outcome(call: Awaitable[T], present: Callable[[T], R]) -> R | UserError:
    """Run a service call; an expected failure becomes its typed error member."""
    try:
        return present(await call)
    except domain.DomainError as err:
        return to_user_error(err)

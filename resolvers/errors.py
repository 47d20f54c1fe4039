"""Typed errors: every expected failure of a mutation is a member of its result union.

A client branches on `__typename` (or on `... on UserError { code message field }`); the code is
stable, the message is for people, `field` names the input that caused it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, TypeVar, Union

import strawberry

from graphql_runtime.error_codes import typed_error_codes
from models import after_sales_errors as after_sale_errors
from models import errors as domain
from models import line_cancels
from models.ticket_rules import InvalidRule
from models.ticket_rules import RuleProblem as DomainRuleProblem


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
    CURSOR_EXPIRED = "CURSOR_EXPIRED"
    # After-sale requests (models/after_sales_errors.py)
    WINDOW_PASSED = "WINDOW_PASSED"
    NOT_DELIVERED = "NOT_DELIVERED"
    NOT_SHIPPED = "NOT_SHIPPED"
    QUANTITY_USED_UP = "QUANTITY_USED_UP"
    SECOND_REJECTION_ONLY_APPEAL = "SECOND_REJECTION_ONLY_APPEAL"
    NOTHING_TO_REFUND = "NOTHING_TO_REFUND"
    REFUND_AMOUNT_INVALID = "REFUND_AMOUNT_INVALID"
    REFUND_EXCEEDS_REFUNDABLE = "REFUND_EXCEEDS_REFUNDABLE"
    REFUND_EXCEEDS_PAID = "REFUND_EXCEEDS_PAID"
    DECISION_NOT_ALLOWED = "DECISION_NOT_ALLOWED"
    APPEAL_WINDOW_CLOSED = "APPEAL_WINDOW_CLOSED"
    RETURN_SHIPPING_WINDOW_CLOSED = "RETURN_SHIPPING_WINDOW_CLOSED"
    RECEIPT_WINDOW_CLOSED = "RECEIPT_WINDOW_CLOSED"
    OFFER_WINDOW_CLOSED = "OFFER_WINDOW_CLOSED"
    DEADLINE_NOT_REACHED = "DEADLINE_NOT_REACHED"
    INVALID_RULE = "INVALID_RULE"
    # The order intake (models/order_intake.py)
    STALE_UPDATE = "STALE_UPDATE"
    ORDER_CONFLICT = "ORDER_CONFLICT"
    # Refund settlements (models/refunds.py)
    REFUND_CONFLICT = "REFUND_CONFLICT"


RuleProblem = strawberry.enum(
    DomainRuleProblem, name="RuleProblem", description="What is wrong with a helpdesk rule (H2)."
)


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


@strawberry.type(description="H2: the rule cannot be saved as written; nothing was saved.")
class InvalidRuleError(UserError):
    problem: RuleProblem  # type: ignore[valid-type]


@strawberry.type(
    description="R1, R5, P1: the after-sale request cannot be opened; `code` says why."
)
class AfterSaleRefusedError(UserError):
    line_ids: list[strawberry.ID]
    existing_request_id: strawberry.ID | None
    window_ends_at: datetime | None


@strawberry.type(description="C10: more units of a line than are left to cancel.")
class UnitsNotAvailableError(UserError):
    line_id: strawberry.ID
    available: int


@strawberry.type(description="R7: the amount is above what these lines can still refund.")
class RefundExceedsRefundableError(UserError):
    refundable_minor_units: int
    currency: str


@strawberry.type(description="The acting side's window closed; the platform's move is due.")
class WindowClosedError(UserError):
    closed_at: datetime


@strawberry.type(
    description="The live feed no longer keeps the events after this cursor: reload the page, "
    "then subscribe without a cursor."
)
class CursorExpiredError(UserError):
    pass


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
        case line_cancels.UnitsNotAvailable():
            return UnitsNotAvailableError(
                **common, line_id=strawberry.ID(err.line_id), available=err.available
            )
        case InvalidRule():
            return InvalidRuleError(**common, problem=err.problem)
        case after_sale_errors.AfterSaleRefused():
            return AfterSaleRefusedError(
                **common,
                line_ids=[strawberry.ID(i) for i in err.line_ids],
                existing_request_id=strawberry.ID(err.existing_id) if err.existing_id else None,
                window_ends_at=err.window_ends_at,
            )
        case after_sale_errors.RefundExceedsRefundable():
            return RefundExceedsRefundableError(
                **common,
                refundable_minor_units=err.refundable.minor,
                currency=err.refundable.currency,
            )
        case after_sale_errors.WindowClosed():
            return WindowClosedError(**common, closed_at=err.deadline)
        case domain.NotFound():
            return NotFoundError(**common)
        case domain.Forbidden():
            return ForbiddenError(**common)
        case domain.IdempotencyKeyReused():
            return IdempotencyKeyReusedError(**common)
        case domain.CursorExpired():
            return CursorExpiredError(**common)
        case _:
            return ValidationError(**common)


COMMON_ERRORS = (NotFoundError, ForbiddenError, ValidationError, IdempotencyKeyReusedError)


def result_union(name: str, result: type, *errors: type) -> Any:
    """The union policy of mutation results: one union per result type, whichever mutations
    return it, so a client handles the same members wherever it meets the type. Its members are
    the type, every typed error one of those mutations can give, and the common errors."""
    members = tuple(dict.fromkeys((result, *errors, *COMMON_ERRORS)))
    return Annotated[Union[members], strawberry.union(name)]  # noqa: UP007 (built at run time)


T = TypeVar("T")
R = TypeVar("R")


async def outcome(call: Awaitable[T], present: Callable[[T], R]) -> R | UserError:
    """Run a service call; an expected failure becomes its typed error member."""
    try:
        return present(await call)
    except domain.DomainError as err:
        return to_user_error(err)

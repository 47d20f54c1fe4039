"""Refunds as money to move: the instruction to the payment system, and its settlement.

Every refund a request decides (a cancellation's, an after-sale refund of any kind) becomes one
`Refund` in the write that decides it (services/request_writes.py): one per request, its id
derived from the request's, so a decision can never instruct twice. The request's decision is
the seller's side; the refund's state is the money's:

- INSTRUCTED: the payment system was told to pay (`refund.instructed`); the buyer has not been
  paid yet ("refund pending").
- SETTLED: the payment system reports the money moved (`refund.settled`): the request is refunded.
- FAILED: the payment system reports it could not pay (`refund.failed`), with its reason. The
  payment system retries on its side; when it reports SETTLED later, the refund settles. Nothing
  else moves a failed refund (`NEXT_STEP` says so to whoever reads it).

A shop with no payment integration registered has its refunds paid by the platform: the refund
is SETTLED by PLATFORM in the deciding write, and no instruction leaves the service.

Settlements are idempotent on the refund id: the same report again is a repeat (nothing written,
the stored refund answered); another report about a refund that was settled, or another failure
reason, is a `RefundConflict`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from models.errors import DomainError, ValidationFailed
from models.money import Money
from models.refund_ledger import LineRefund, RefundBreakdown
from models.requests import RequestKind

MAX_SETTLEMENTS = 500
MAX_REFERENCE = 200
MAX_REASON = 500


class RefundState(Enum):
    INSTRUCTED = "INSTRUCTED"
    SETTLED = "SETTLED"
    FAILED = "FAILED"


class SettledBy(Enum):
    PAYMENT_SYSTEM = "PAYMENT_SYSTEM"  # the shop's payment integration reported it
    PLATFORM = "PLATFORM"  # no payment integration: the platform paid in the deciding write


class SettlementOutcome(Enum):
    SETTLED = "SETTLED"
    FAILED = "FAILED"


NEXT_STEP = {
    RefundState.INSTRUCTED: "The payment system pays the buyer and reports the settlement.",
    RefundState.SETTLED: None,
    RefundState.FAILED: (
        "The payment system retries the payment and reports it settled when the money moves; "
        "the request shows the refund as failed until then."
    ),
}


class RefundConflict(DomainError):
    """The payment system reported this refund before with another outcome: nothing written."""

    code = "REFUND_CONFLICT"

    def __init__(self, message: str, *, refund_id: str, state: RefundState) -> None:
        super().__init__(message, field="outcome")
        self.refund_id = refund_id
        self.state = state


@dataclass(frozen=True)
class Refund:
    id: str
    shop_id: str
    order_id: str
    request_id: str
    request_kind: RequestKind
    amount: Money
    lines: tuple[LineRefund, ...]
    state: RefundState
    instructed_at: datetime
    settled_by: SettledBy | None = None
    reference: str | None = None  # the payment system's own id of the payment
    failure_reason: str | None = None
    settled_at: datetime | None = None  # when it settled or (last) failed
    version: int = 0

    @property
    def next_step(self) -> str | None:
        return NEXT_STEP[self.state]


def refund_id_of(request_id: str) -> str:
    """One refund per request: the id says which."""
    return f"rfd_{request_id}"


def newly_refunded(before: RefundBreakdown | None, after: RefundBreakdown | None) -> bool:
    """A write decided a refund: the request had none and now pays something."""
    return before is None and after is not None and after.total.minor > 0


def instructed(
    *,
    request_id: str,
    request_kind: RequestKind,
    shop_id: str,
    order_id: str,
    refund: RefundBreakdown,
    at: datetime,
    integrated: bool,
) -> Refund:
    """The refund a decision makes: INSTRUCTED for the shop's payment integration, or, with none
    registered, SETTLED by the platform at once."""
    r = Refund(
        id=refund_id_of(request_id),
        shop_id=shop_id,
        order_id=order_id,
        request_id=request_id,
        request_kind=request_kind,
        amount=refund.total,
        lines=refund.lines,
        state=RefundState.INSTRUCTED,
        instructed_at=at,
    )
    if integrated:
        return r
    return replace(r, state=RefundState.SETTLED, settled_by=SettledBy.PLATFORM, settled_at=at)


@dataclass(frozen=True)
class Settlement:
    """The payment system's report about one refund."""

    refund_id: str
    outcome: SettlementOutcome
    at: datetime
    reference: str | None = None
    failure_reason: str | None = None


def check_settlement(s: Settlement) -> None:
    if s.reference is not None and not 0 < len(s.reference) <= MAX_REFERENCE:
        raise ValidationFailed(
            f"a reference has 1 to {MAX_REFERENCE} characters", field="reference"
        )
    if s.outcome is SettlementOutcome.FAILED:
        if not s.failure_reason or len(s.failure_reason) > MAX_REASON:
            raise ValidationFailed(
                f"a failed refund says why, in 1 to {MAX_REASON} characters",
                field="failureReason",
            )
    elif s.failure_reason is not None:
        raise ValidationFailed("only a failed refund has a failure reason", field="failureReason")


def settle(refund: Refund, s: Settlement) -> tuple[Refund, bool]:
    """The refund after the report, and whether it was a repeat (nothing to write)."""
    check_settlement(s)
    wanted = RefundState(s.outcome.value)
    if refund.state is wanted:
        same = (
            refund.reference == s.reference
            if wanted is RefundState.SETTLED
            else refund.failure_reason == s.failure_reason
        )
        if same and refund.settled_by is SettledBy.PAYMENT_SYSTEM:
            return refund, True
    if refund.state is RefundState.SETTLED or refund.state is wanted:
        raise RefundConflict(
            f"refund {refund.id} was reported {refund.state.value} before, otherwise",
            refund_id=refund.id,
            state=refund.state,
        )
    # INSTRUCTED -> SETTLED | FAILED; FAILED -> SETTLED (the payment system's retry went through).
    after = replace(
        refund,
        state=wanted,
        settled_by=SettledBy.PAYMENT_SYSTEM,
        reference=s.reference,
        failure_reason=s.failure_reason,
        settled_at=s.at,
    )
    return after, False

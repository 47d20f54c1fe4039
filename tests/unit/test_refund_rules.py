"""The refund's money, pure (models/refunds.py): who settles a decided refund, which reports
move it, which repeat, which conflict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.errors import ValidationFailed
from models.money import Money
from models.refund_ledger import RefundBreakdown
from models.refunds import (
    Refund,
    RefundConflict,
    RefundState,
    SettledBy,
    Settlement,
    SettlementOutcome,
    instructed,
    newly_refunded,
    settle,
)
from models.requests import RequestKind

AT = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
PAID = RefundBreakdown(Money(4500, "USD"), Money(499, "USD"))


def _refund(integrated: bool = True) -> Refund:
    return instructed(
        request_id="can_1",
        request_kind=RequestKind.CANCELLATION,
        shop_id="shop-1",
        order_id="ord_1",
        refund=PAID,
        at=AT,
        integrated=integrated,
    )


def _report(outcome: SettlementOutcome, **more: str) -> Settlement:
    return Settlement("rfd_can_1", outcome, AT + timedelta(hours=1), **more)


def test_a_decided_refund_waits_for_the_payment_system_or_the_platform_pays_it_at_once() -> None:
    waiting, paid = _refund(integrated=True), _refund(integrated=False)
    assert (waiting.id, waiting.state, waiting.amount) == (
        "rfd_can_1",
        RefundState.INSTRUCTED,
        Money(4999, "USD"),
    )
    assert (paid.state, paid.settled_by, paid.settled_at) == (
        RefundState.SETTLED,
        SettledBy.PLATFORM,
        AT,
    )


def test_only_a_refund_newly_paying_something_is_decided() -> None:
    nothing = RefundBreakdown.zero("USD")
    assert newly_refunded(None, PAID)
    assert not newly_refunded(None, nothing)  # an unpaid order's cancellation
    assert not newly_refunded(PAID, PAID)  # decided before
    assert not newly_refunded(None, None)


def test_a_failed_refund_settles_when_the_retry_pays_and_a_settled_one_never_moves() -> None:
    failed, repeated = settle(_refund(), _report(SettlementOutcome.FAILED, failure_reason="closed"))
    settled, _ = settle(failed, _report(SettlementOutcome.SETTLED, reference="pay_1"))
    assert (failed.state, failed.failure_reason, repeated) == (RefundState.FAILED, "closed", False)
    assert (settled.state, settled.reference, settled.failure_reason) == (
        RefundState.SETTLED,
        "pay_1",
        None,
    )
    assert settle(settled, _report(SettlementOutcome.SETTLED, reference="pay_1")) == (
        settled,
        True,
    )
    for changed in (
        _report(SettlementOutcome.SETTLED, reference="pay_2"),
        _report(SettlementOutcome.FAILED, failure_reason="closed"),
    ):
        with pytest.raises(RefundConflict):
            settle(settled, changed)


def test_another_failure_reason_conflicts_and_the_platforms_refunds_are_not_the_payment_systems() -> (
    None
):
    failed, _ = settle(_refund(), _report(SettlementOutcome.FAILED, failure_reason="closed"))
    with pytest.raises(RefundConflict):
        settle(failed, _report(SettlementOutcome.FAILED, failure_reason="fraud"))
    with pytest.raises(RefundConflict):
        settle(_refund(integrated=False), _report(SettlementOutcome.SETTLED))


def test_a_failure_says_why_and_a_settlement_does_not() -> None:
    with pytest.raises(ValidationFailed) as no_reason:
        settle(_refund(), _report(SettlementOutcome.FAILED))
    with pytest.raises(ValidationFailed) as reason:
        settle(_refund(), _report(SettlementOutcome.SETTLED, failure_reason="why"))
    assert no_reason.value.field == reason.value.field == "failureReason"

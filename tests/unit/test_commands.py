"""Commands: every field of a command is part of its idempotency fingerprint, and a decision
from a ticket becomes the command of its request's kind."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest

from models.after_sales_machine import AfterSaleKind, DecisionType
from models.commands import (
    AcceptCancellation,
    ApprovalTerms,
    ApproveAfterSale,
    Command,
    IssueReplacementRefund,
    OfferPartialRefund,
    PlatformRefund,
    RefundOrder,
    RejectAfterSale,
    RejectCancellation,
    approval,
    chosen_lines,
    decision_command,
    fingerprint,
    partial_refund,
    rejection,
)
from models.errors import InvalidTransition, ValidationFailed
from models.money import Money
from models.requests import RequestKind

# Two different values for each field type a command has.
SAMPLES: dict[str, tuple[Any, Any]] = {
    "str": ("a", "b"),
    "str | None": (None, "b"),
    "bool": (False, True),
    "AfterSaleKind": (AfterSaleKind.REFUND_ONLY, AfterSaleKind.REPLACEMENT),
    "DecisionType": (DecisionType.APPROVE_REFUND, DecisionType.APPROVE_RETURN),
    "Lines": ((("line-1", 1),), (("line-1", 2),)),
    "Lines | None": (None, (("line-1", 1),)),
    "Money | None": (None, Money(100, "USD")),
    "tuple[str, ...]": (("a",), ("a", "b")),
    "ApprovalTerms": (ApprovalTerms(), ApprovalTerms(comment="x")),
}


def _all(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_all(sub))]


# A use case is a command no other command extends (the kinds' bases group them), once even
# when two bases lead to it.
COMMANDS = list(dict.fromkeys(c for c in _all(Command) if not c.__subclasses__()))


def _built(cls: type, which: int = 0) -> Any:
    return cls(**{f.name: SAMPLES[str(f.type)][which] for f in fields(cls)})


def test_every_use_case_has_a_command() -> None:
    assert len(COMMANDS) == 28


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.__name__)
def test_every_field_of_a_command_is_part_of_its_fingerprint(cls: type) -> None:
    base = _built(cls)
    assert fingerprint(base) == fingerprint(_built(cls))
    for f in fields(cls):
        other = replace(base, **{f.name: SAMPLES[str(f.type)][1]})
        assert fingerprint(other) != fingerprint(base), f.name


def test_every_term_of_an_approval_is_part_of_its_fingerprint() -> None:
    base = ApproveAfterSale("afs_1", DecisionType.APPROVE_RETURN)
    for f in fields(ApprovalTerms):
        terms = replace(ApprovalTerms(), **{f.name: SAMPLES[str(f.type)][1]})
        assert fingerprint(replace(base, terms=terms)) != fingerprint(base), f.name


def test_two_use_cases_with_the_same_fields_have_different_fingerprints() -> None:
    assert fingerprint(RefundOrder("ord_1", "PRICING_ERROR")) != fingerprint(
        PlatformRefund("ord_1", "PRICING_ERROR")
    )


def test_approving_from_a_ticket_is_the_kinds_own_approval() -> None:
    terms = ApprovalTerms(reason="DEFECT_CONFIRMED", comment="ok")
    assert approval(RequestKind.CANCELLATION, "can_1", ApprovalTerms(reason="X")) == (
        AcceptCancellation("can_1")
    )
    refund = approval(RequestKind.REFUND_ONLY, "afs_1", terms)
    assert refund == ApproveAfterSale(
        "afs_1", DecisionType.APPROVE_REFUND, replace(terms, reason=None)
    )
    replacing = approval(RequestKind.REPLACEMENT, "afs_2", terms)
    assert replacing == ApproveAfterSale("afs_2", DecisionType.APPROVE_REPLACEMENT, terms)
    with pytest.raises(ValidationFailed):
        approval(RequestKind.CANCELLATION, "can_1", ApprovalTerms(lines=chosen_lines({"l": 1})))


def test_rejecting_and_partial_refunds_from_a_ticket_follow_the_kind() -> None:
    assert rejection(RequestKind.CANCELLATION, "can_1", "OTHER", None) == RejectCancellation(
        "can_1", "OTHER"
    )
    assert rejection(RequestKind.RETURN_AND_REFUND, "afs_1", "OTHER", "c") == RejectAfterSale(
        "afs_1", "OTHER", "c"
    )
    offer = partial_refund(RequestKind.REFUND_ONLY, "afs_1", Money(500, "USD"))
    assert offer == OfferPartialRefund("afs_1", Money(500, "USD"))  # R12: the buyer answers
    with pytest.raises(InvalidTransition):
        partial_refund(RequestKind.CANCELLATION, "can_1", Money(500, "USD"))


def test_r12_p4_a_decision_that_is_not_an_approval_is_its_own_command() -> None:
    amount = Money(500, "USD")
    offer = decision_command(
        "afs_1",
        DecisionType.OFFER_PARTIAL_REFUND,
        ApprovalTerms(partial_amount=amount, comment="c", lines=chosen_lines({"l": 1})),
    )
    assert offer == OfferPartialRefund("afs_1", amount, (("l", 1),), "c")
    instead = decision_command(
        "afs_1", DecisionType.ISSUE_REPLACEMENT_REFUND, ApprovalTerms(comment="none left")
    )
    assert instead == IssueReplacementRefund("afs_1", "none left")
    with pytest.raises(ValidationFailed):
        decision_command(
            "afs_1", DecisionType.ISSUE_REPLACEMENT_REFUND, ApprovalTerms(partial_amount=amount)
        )
    with pytest.raises(ValidationFailed):
        decision_command(
            "afs_1", DecisionType.OFFER_PARTIAL_REFUND, ApprovalTerms(buyer_keeps_item=True)
        )
    approve = decision_command("afs_1", DecisionType.APPROVE_REFUND, ApprovalTerms())
    assert approve == ApproveAfterSale("afs_1", DecisionType.APPROVE_REFUND)

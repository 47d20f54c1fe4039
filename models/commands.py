"""Commands: one small immutable value per use case, built by every entry point.

A resolver, a helpdesk rule or desk, the deadline worker (and any connection to come) says what
it wants done as one of these and hands it to `handle(actor, command, key)` in services; the
service loads, lets the domain decide and writes. The idempotency fingerprint of a keyed call is
`fingerprint(command)`: every field of the command, by construction, so a field added to a
command is part of its check without anyone remembering to add it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from enum import Enum
from typing import Any, ClassVar, dataclass_transform

from models.actors import ActorKind
from models.after_sales_machine import AfterSaleKind, DecisionType
from models.errors import InvalidTransition, ValidationFailed
from models.money import Money
from models.request_kinds import PROFILES
from models.requests import RequestKind

# Lines and quantities, as (line id, quantity) pairs in the order the caller gave them.
Lines = tuple[tuple[str, int], ...]


def chosen_lines(chosen: Mapping[str, int]) -> Lines:
    return tuple(chosen.items())


@dataclass_transform(frozen_default=True)
class Command:
    """A use case's input, whoever sends it; `sender` is the kind of actor whose step it is
    (its permit: services/request_writes.py, RequestWrites.one). Every command is a frozen
    dataclass by being a command: its fields are what its fingerprint covers."""

    sender: ClassVar[ActorKind] = ActorKind.SELLER_AGENT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)


class CancellationCommand(Command):
    """A step on an order cancellation (C1-C10)."""


class AfterSaleCommand(Command):
    """A step on an after-sale request (R1-R12, P1-P4)."""


class TicketCommand(Command):
    """A step on a helpdesk ticket (H1, H2), named by its id (its other fields after it)."""

    ticket_id: str


class Opening:
    """A command that opens requests: the shop's helpdesk rules run on them once it commits
    (services/commands.py)."""


class OpeningOnOrder(Command, Opening):
    """An opening on one order, named by its id (its other fields after it)."""

    order_id: str


# ---- cancellations (C1-C10) ---------------------------------------------------------------


class RequestCancellation(CancellationCommand, OpeningOnOrder):
    sender = ActorKind.BUYER
    reason: str
    note: str | None = None


class StepOnCancellation(CancellationCommand):
    """A step on one cancellation, named by its id (the steps of more fields add them after it)."""

    cancellation_id: str


class WithdrawCancellation(StepOnCancellation):
    sender = ActorKind.BUYER


class AcceptCancellation(StepOnCancellation):
    """C4: the seller accepts the cancellation."""


class RejectCancellation(StepOnCancellation):
    reason: str
    comment: str | None = None


class CancelOrder(CancellationCommand, OpeningOnOrder):
    """C7: the seller cancels."""

    reason: str
    comment: str | None = None


class CancelOrderLines(CancellationCommand, OpeningOnOrder):
    """C10: the seller cancels some lines and quantities; the rest of the order goes on."""

    lines: Lines
    reason: str
    comment: str | None = None


class CancelUnpaidOrder(CancellationCommand, OpeningOnOrder):
    """C8: the platform cancels an order not paid in time."""

    sender = ActorKind.PLATFORM


class AutoAcceptCancellations(CancellationCommand):
    """C6, the deadline worker's batch: those still waiting past their window, in one write."""

    cancellation_ids: tuple[str, ...]


class CancelUnpaidOrders(CancellationCommand, Opening):
    """C8, the deadline worker's batch."""

    order_ids: tuple[str, ...]


# ---- after-sale requests (R1-R12, P1-P4) ---------------------------------------------------
# The shapes several steps share; each step's command is its own class of that shape (a shape is
# never sent itself: its fingerprint and its handler are its steps').


class StepOnRequest(AfterSaleCommand):
    """A step on one request, named by its id (the steps of more fields add them after it)."""

    request_id: str


class StepWithReason(StepOnRequest):
    """A step on a request for a reason from its catalogue, with an optional comment."""

    reason: str
    comment: str | None = None


class Shipping(StepOnRequest):
    """A parcel handed to a carrier for a request."""

    carrier: str
    tracking_number: str


class RefundWithoutRequest(AfterSaleCommand, OpeningOnOrder):
    """A refund nobody asked for: every free unit unless `lines`, in full unless an amount."""

    reason: str
    comment: str | None = None
    lines: Lines | None = None
    partial_amount: Money | None = None


class RequestAfterSale(AfterSaleCommand, OpeningOnOrder):
    sender = ActorKind.BUYER
    kind: AfterSaleKind
    lines: Lines
    reason: str
    note: str | None = None


class WithdrawAfterSale(StepOnRequest):
    """The buyer takes the request back."""

    sender = ActorKind.BUYER


class AppealAfterSale(StepWithReason):
    """R5, R6."""

    sender = ActorKind.BUYER


class ShipReturn(Shipping):
    """R8: the buyer's return."""

    sender = ActorKind.BUYER


@dataclass(frozen=True)
class ApprovalTerms:
    """What an approval may say beyond its decision (R7, P2), from a request or its ticket."""

    lines: Lines | None = None  # only these lines and quantities (default: as asked)
    buyer_keeps_item: bool = False
    partial_amount: Money | None = None  # less than the items' price
    reason: str | None = None  # P2: an approved replacement's reason type
    comment: str | None = None


class ApproveAfterSale(StepOnRequest):
    decision: DecisionType
    terms: ApprovalTerms = ApprovalTerms()


class OfferPartialRefund(StepOnRequest):
    """R12: instead of approving, the seller offers an amount; the buyer answers."""

    amount: Money | None
    lines: Lines | None = None  # the lines the amount settles (default: as asked)
    comment: str | None = None


class AnswerOffer(StepOnRequest):
    """R12: the buyer accepts the offer (refunded that amount) or declines it."""

    sender = ActorKind.BUYER
    accept: bool


class IssueReplacementRefund(StepOnRequest):
    """P4: the seller cannot replace and refunds instead."""

    comment: str | None = None


def decision_command(request_id: str, decision: DecisionType, terms: ApprovalTerms) -> Command:
    """What the seller's decision is as a step: an approval (R7, P2), an offer (R12) or a refund
    instead of a replacement (P4); TikTok's review endpoint takes all three as a decision."""
    if decision is DecisionType.OFFER_PARTIAL_REFUND:
        if terms.buyer_keeps_item or terms.reason is not None:
            raise ValidationFailed(
                "an offer is an amount the buyer keeps the item for; it takes no reason type",
                field="reason" if terms.reason is not None else "buyerKeepsItem",
            )
        return OfferPartialRefund(request_id, terms.partial_amount, terms.lines, terms.comment)
    if decision is DecisionType.ISSUE_REPLACEMENT_REFUND:
        if replace(terms, comment=None) != ApprovalTerms():
            raise ValidationFailed(
                "a refund instead refunds the replacement's lines in full: only a comment",
                field="partialAmount" if terms.partial_amount is not None else "lines",
            )
        return IssueReplacementRefund(request_id, terms.comment)
    return ApproveAfterSale(request_id, decision, terms)


class RejectAfterSale(StepWithReason):
    """R4, P3."""


class ConfirmReturnReceived(StepOnRequest):
    """R8."""


class RejectReturnOnReceipt(StepWithReason):
    """R8, R4."""


class ShipReplacement(Shipping):
    """P2, P4."""


class RefundOrder(RefundWithoutRequest):
    """R9: the seller refunds without a buyer's request."""


class PlatformRefund(RefundWithoutRequest):
    """R10: the platform refunds without the seller."""

    sender = ActorKind.PLATFORM


class DecideAppeal(StepOnRequest):
    sender = ActorKind.PLATFORM
    for_buyer: bool
    note: str


class RecordReplacementDelivered(StepOnRequest):
    """P2, P4: a carrier event."""

    sender = ActorKind.PLATFORM


class ActOnAfterSaleDeadlines(AfterSaleCommand):
    """R3, R5, R8, the deadline worker's batch: the platform's move on each one due."""

    request_ids: tuple[str, ...]


# ---- the helpdesk (H1, H2) -----------------------------------------------------------------


class ApproveFromTicket(TicketCommand):
    terms: ApprovalTerms = ApprovalTerms()


class RejectFromTicket(TicketCommand):
    reason: str
    comment: str | None = None


def approval(kind: RequestKind, request_id: str, terms: ApprovalTerms) -> Command:
    """What "approve" means on a request of this kind: what the buyer asked for (C4, R7, P2)."""
    decision = PROFILES[kind].default_decision
    if decision is None:
        if replace(terms, reason=None) != ApprovalTerms():
            raise ValidationFailed(
                "a cancellation is accepted whole (C4): no lines, amount or comment",
                field="options",
            )
        return AcceptCancellation(request_id)
    # The reason type is a replacement's (P2); on a refund or a return it is unused.
    if decision is not DecisionType.APPROVE_REPLACEMENT:
        terms = replace(terms, reason=None)
    return ApproveAfterSale(request_id, decision, terms)


def rejection(kind: RequestKind, request_id: str, reason: str, comment: str | None) -> Command:
    step = RejectCancellation if kind is RequestKind.CANCELLATION else RejectAfterSale
    return step(request_id, reason, comment)


def partial_refund(kind: RequestKind, request_id: str, amount: Money) -> Command:
    if kind is RequestKind.CANCELLATION:
        raise InvalidTransition(
            "a cancellation refunds everything paid (C4); there is no partial refund",
            current_state="CANCELLATION",
        )
    return OfferPartialRefund(request_id, amount)  # R12: the buyer answers


def _canonical(value: object) -> str:
    if is_dataclass(value) and not isinstance(value, type):
        parts = ",".join(f"{f.name}={_canonical(getattr(value, f.name))}" for f in fields(value))
        return f"{type(value).__name__}({parts})"
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, tuple):
        return "(" + ",".join(_canonical(v) for v in value) + ")"
    return repr(value)


def fingerprint(command: Command) -> str:
    """What an idempotency key is checked against: the command's kind and every field of it."""
    return hashlib.sha256(_canonical(command).encode()).hexdigest()

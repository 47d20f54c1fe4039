"""Every kind of request, declared once: its steps and its profile, in one registry.

A kind is its transition table (models/requests.py) and its profile: the reasons a request of
it is opened for and rejected with, what approving it means when nobody says otherwise, the
subjects of its tickets and notifications, whether it needs a delivered order, and its deadlines
(who acts next in a status, and what the platform does when they don't). The domain, the
helpdesk, the deadline worker and the reason catalogues read a kind's knowledge from here.
A new kind is a table, a profile and its tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models import after_sales_machine as after_sale
from models import after_sales_reasons
from models import cancellation_states as cancellation
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus, DecisionType
from models.reasons import BUYER_CANCEL_REASONS, CANCELLATION_REJECT_REASONS
from models.requests import DeadlineRule, RequestKind, TransitionTable


@dataclass(frozen=True)
class KindProfile:
    kind: RequestKind
    table: TransitionTable[Any, Any]
    request_reasons: Mapping[str, str]  # why the buyer asks (C2, R1, P1)
    reject_reasons: Mapping[str, str]  # why the seller says no (C5, R4, P3)
    default_decision: DecisionType | None  # what silence (R3) or the helpdesk's approve means
    ticket_subject: str  # H1, seed 003: the ticket a buyer's request opens
    notice_ticket_subject: str  # H1: the ticket that tells the team what the platform did
    notification_subject: str  # how messages to the buyer and the shop name the request
    needs_delivery: bool  # asked about a delivered order only (else before or without it)
    deadlines: Mapping[Any, DeadlineRule[Any]]  # status -> who acts next, and the expiry move

    @property
    def platform_deadlines(self) -> dict[Any, DeadlineRule[Any]]:
        """The statuses whose deadline the platform acts on, with the rule it acts by."""
        return {s: rule for s, rule in self.deadlines.items() if rule.on_expiry is not None}


def _after_sale(kind: AfterSaleKind, **profile: Any) -> KindProfile:
    """An after-sale kind's profile: its steps of the shared table, and the deadlines of the
    statuses those steps reach."""
    table = after_sale.TRANSITIONS.for_kind(kind)
    reached = {t.target for t in table} | {t.source for t in table}
    deadlines = {s: r for s, r in after_sale.NEXT_ACTION_OF_STATUS.items() if s in reached}
    return KindProfile(kind=RequestKind(kind.value), table=table, deadlines=deadlines, **profile)


CANCELLATION = KindProfile(
    kind=RequestKind.CANCELLATION,
    table=cancellation.TRANSITIONS,
    request_reasons=BUYER_CANCEL_REASONS,
    reject_reasons=CANCELLATION_REJECT_REASONS,
    default_decision=None,  # accepting a cancellation is the only way to approve it (C4)
    ticket_subject="New Cancellation Request",
    notice_ticket_subject="Order Cancelled by TikTok Shop",
    notification_subject="cancellation request",
    needs_delivery=False,  # the opposite: C3 refuses once the order is with the carrier
    deadlines=cancellation.NEXT_ACTION_OF_STATUS,
)
REFUND_ONLY = _after_sale(
    AfterSaleKind.REFUND_ONLY,
    request_reasons=after_sales_reasons.REFUND_ONLY_REASONS,
    reject_reasons=after_sales_reasons.REFUND_REJECT_REASONS,
    default_decision=DecisionType.APPROVE_REFUND,
    ticket_subject="New Refund Request",
    notice_ticket_subject="Refund Issued by TikTok Shop",
    notification_subject="refund request",
    needs_delivery=False,  # R1: never received is a refund-only reason
)
RETURN_AND_REFUND = _after_sale(
    AfterSaleKind.RETURN_AND_REFUND,
    request_reasons=after_sales_reasons.RETURN_AND_REFUND_REASONS,
    reject_reasons=after_sales_reasons.REFUND_REJECT_REASONS,
    default_decision=DecisionType.APPROVE_RETURN,
    ticket_subject="New Refund Request",  # H1, seed 003: both refund kinds
    notice_ticket_subject="Refund Issued by TikTok Shop",
    notification_subject="return and refund request",
    needs_delivery=True,
)
REPLACEMENT = _after_sale(
    AfterSaleKind.REPLACEMENT,
    request_reasons=after_sales_reasons.REPLACEMENT_REASONS,
    reject_reasons=after_sales_reasons.REPLACEMENT_REJECT_REASONS,  # P3
    default_decision=DecisionType.APPROVE_REPLACEMENT,
    ticket_subject="New Replacement Request",
    notice_ticket_subject="Replacement Decided by TikTok Shop",
    notification_subject="replacement request",
    needs_delivery=True,
)

PROFILES: Mapping[RequestKind, KindProfile] = {
    p.kind: p for p in (CANCELLATION, REFUND_ONLY, RETURN_AND_REFUND, REPLACEMENT)
}


def profile_of(kind: AfterSaleKind | RequestKind) -> KindProfile:
    return PROFILES[RequestKind(kind.value)]


# Every after-sale status whose deadline the platform acts on, in the machine's order.
AFTER_SALE_DEADLINES: Mapping[AfterSaleStatus, DeadlineRule[Any]] = {
    s: rule for k in AfterSaleKind for s, rule in profile_of(k).platform_deadlines.items()
}

"""After-sale requests: refund only, return and refund, replacement (R1-R12, P1-P4, Y1).

One explicit state machine for all three kinds (declared in models/after_sales_machine.py; each
kind's table and profile in models/request_kinds.py), decided without I/O. Every step takes the
current state and `now` and returns an `AfterSaleOutcome`: the request as it now is, the order as
it now is, the ledger if a refund was booked, the timeline records it appended and the
notifications. Storage writes all of them in one transaction, or none. Money comes from
models/refund_ledger.py (`refund_quote`, the ledger); the order, its ledger and its requests are
one case (models/after_sales_case.py).

This module is the after-sale API (what it imports is what it offers: pyproject.toml lets ruff
know): every step, from the modules that hold them by topic (after_sale_opening,
after_sale_decisions, after_sale_shipping; the request's own plumbing in after_sale_requests),
and the platform's move at a deadline. Every step writes its timeline record through
`after_sale_requests.record_step`, which
accepts only a step of its kind's table made by one of the actor kinds the step names. An action
from a state that does not allow it raises `InvalidTransition` (or `NotPending`) naming the
current state, before anything is computed. Who the actor is (the buyer of this order, an agent
of this shop with the adjustments permission) is checked by the services with models/access.py,
as for cancellations.

The choices where DOMAIN.md is silent (what the marketplace does) are in docs/decisions.md,
"After-sale requests".
"""

from __future__ import annotations

from collections.abc import Callable

from models.after_sale_decisions import (
    MAX_OFFERS,
    answer_offer,
    appeal,
    approve,
    auto_approve,
    decide_appeal,
    expire_offer,
    finalize_rejection,
    offer_partial_refund,
    reject,
    withdraw,
)
from models.after_sale_opening import (
    INSTANT_REFUNDER,
    NOT_RECEIVED_AFTER,
    line_eligibility,
    refund_without_request,
    request_by_buyer,
)
from models.after_sale_requests import (
    AfterSaleOutcome,
    AfterSaleRecord,
    AfterSaleRequest,
    Appeal,
    Decision,
    LineEligibility,
    Offer,
    OfferAnswer,
    Rejection,
    Shipment,
    Step,
)
from models.after_sale_shipping import (
    auto_confirm_receipt,
    confirm_receipt,
    expire_return,
    follow_replacement_order,
    issue_replacement_refund,
    reject_on_receipt,
    replacement_delivered,
    replacement_not_delivered,
    ship_replacement,
    ship_return,
)
from models.after_sales_case import AfterSalesCase, quote_for_request
from models.after_sales_machine import (
    DEADLINE_ACTIONS,
    FINAL_STATUSES,
    NEXT_ACTION_OF_STATUS,
    OPEN_STATUSES,
    SELLER_REJECTION_ACTIONS,
    TAB_OF_STATUS,
    TRANSITIONS,
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleNotificationKind,
    AfterSaleStatus,
    AfterSaleTab,
    DecisionType,
    sources_of,
    transition_for,
)
from models.errors import InvalidTransition
from models.refund_ledger import RefundBreakdown, RefundLedger, refund_quote
from models.request_kinds import REJECT_REASONS, REQUEST_REASONS
from models.requests import DeadlineRule, Initiator, NextAction, TimelineRecord
from models.transitions import Transition

_A = AfterSaleAction

# The platform's move on each deadline it acts on (DEADLINE_ACTIONS: which, by status).
_ON_DEADLINE: dict[AfterSaleAction, Callable[[Step], AfterSaleOutcome]] = {
    _A.EXPIRE_OFFER: expire_offer,
    _A.ISSUE_REPLACEMENT_REFUND: replacement_not_delivered,
    _A.AUTO_APPROVE: auto_approve,
    _A.EXPIRE_RETURN: expire_return,
    _A.AUTO_CONFIRM_RECEIPT: auto_confirm_receipt,
    _A.FINALIZE_REJECTION: finalize_rejection,
}


def act_on_deadline(s: Step) -> AfterSaleOutcome:
    """The platform's move on whatever deadline of the request has passed (R3, R5, R8, R12, P4)."""
    r = s.request
    action = DEADLINE_ACTIONS.get(r.status)
    if action is None:
        raise InvalidTransition(
            f"{r.id} is {r.status.value}: no deadline of it is for the platform to act on",
            current_state=r.status.value,
            field="requestId",
        )
    return _ON_DEADLINE[action](s)

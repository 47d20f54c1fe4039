"""After-sale requests: refund only, return and refund, replacement (R1-R12, P1-P4, Y1).

One explicit state machine for all three kinds (declared in models/after_sales_machine.py; each
kind's table and profile in models/request_kinds.py), decided without I/O. Every step takes the
current state and `now` and returns an `AfterSaleOutcome`: the request as it now is, the order as
it now is, the ledger if a refund was booked, the timeline records it appended and the
notifications. Storage writes all of them in one transaction, or none. Money comes from
models/refund_ledger.py (`refund_quote`, the ledger); the order, its ledger and its requests are
one case (models/after_sales_case.py).

This module is the after-sale API (what it imports is what it offers: pyproject.toml lets ruff
know): every step, from the modules that hold them by topic
(after_sale_opening, after_sale_decisions, after_sale_appeals, after_sale_shipping,
after_sale_eligibility; their plumbing in after_sale_steps), and the platform's move at a
deadline. Every step writes its timeline record through `after_sale_steps.record_step`, which
accepts only a step of its kind's table made by one of the actor kinds the step names. An action
from a state that does not allow it raises `InvalidTransition` (or `NotPending`) naming the
current state, before anything is computed. Who the actor is (the buyer of this order, an agent
of this shop with the adjustments permission) is checked by the services with models/access.py,
as for cancellations.

The choices where DOMAIN.md is silent (what the marketplace does) are in docs/decisions.md,
"After-sale requests".
"""

from __future__ import annotations

from datetime import datetime

from models.actors import Actor
from models.after_sale_appeals import (
    appeal,
    decide_for_buyer,
    decide_for_seller,
    finalize_rejection,
)
from models.after_sale_decisions import approve, auto_approve, reject, withdraw
from models.after_sale_eligibility import NOT_RECEIVED_AFTER, line_eligibility
from models.after_sale_offers import MAX_OFFERS, answer_offer, expire_offer, offer_partial_refund
from models.after_sale_opening import (
    INSTANT_REFUNDER,
    refund_by_platform,
    refund_by_seller,
    request_by_buyer,
)
from models.after_sale_replacements import (
    follow_replacement_order,
    issue_replacement_refund,
    replacement_delivered,
    replacement_not_delivered,
    ship_replacement,
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
)
from models.after_sale_shipping import (
    auto_confirm_receipt,
    confirm_receipt,
    expire_return,
    reject_on_receipt,
    ship_return,
    shipment_of,
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
from models.orders import Order
from models.refund_ledger import RefundBreakdown, RefundLedger, refund_quote
from models.request_kinds import REJECT_REASONS, REQUEST_REASONS
from models.requests import DeadlineRule, Initiator, NextAction, TimelineRecord
from models.transitions import Transition

_A = AfterSaleAction


def act_on_deadline(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """The platform's move on whatever deadline of the request has passed (R3, R5, R8, R12, P4)."""
    action = DEADLINE_ACTIONS.get(r.status)
    if action is _A.EXPIRE_OFFER:
        return expire_offer(r, order, ledger, actor, now)
    if action is _A.ISSUE_REPLACEMENT_REFUND:
        return replacement_not_delivered(r, order, ledger, actor, now)
    if action is _A.AUTO_APPROVE:
        return auto_approve(r, order, ledger, actor, now)
    if action is _A.EXPIRE_RETURN:
        return expire_return(r, order, actor, now)
    if action is _A.AUTO_CONFIRM_RECEIPT:
        return auto_confirm_receipt(r, order, ledger, actor, now)
    if action is _A.FINALIZE_REJECTION:
        return finalize_rejection(r, order, actor, now)
    raise InvalidTransition(
        f"{r.id} is {r.status.value}: no deadline of it is for the platform to act on",
        current_state=r.status.value,
        field="requestId",
    )

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

Choices where DOMAIN.md is silent (what the marketplace does):

- Windows (Y1) are read from `request.policy`, the policy the request was opened under, and never
  from the category's policy of today. The buyer's request window runs from delivery for
  `return_refund_window`; the end is exclusive, as every deadline here: the side may act while
  `now < deadline`, the platform moves at `now >= deadline`.
- Never received (R1): an order handed to the carrier, paid, and not delivered
  `NOT_RECEIVED_AFTER` after it was shipped may get a refund-only request with the reason
  NOT_RECEIVED; its window runs `return_refund_window` from then. Anything else on an undelivered
  order is refused NOT_DELIVERED.
- One open request per line (ALREADY_REQUESTED); quantities: a line's units are held by open
  requests, by a rejection that can still be appealed, and settled by a completed request, a
  replacement, or an appeal decided for the seller. A seller's or the platform's partial refund is
  a price adjustment: it settles no units (the money cap still holds).
- R5 counts rejection events on the order (by the seller, on request or on receipt). A request
  after one rejection is the second request: it is linked to the rejected one (`follows_id`) and,
  if it asks about the same lines, closes that rejection (the buyer chose to ask again instead of
  appealing; SUPERSEDE). After two rejections every new buyer request is refused
  SECOND_REJECTION_ONLY_APPEAL. A platform decision for the seller is not a seller rejection.
- APPEALED is in the To Proceed tab: the request is neither rejected-and-not-appealed (Closed),
  nor approved (In Process), nor done (Completed); seed 001 lists the mediation under To Proceed,
  and the seller is expected to answer the mediator. Its next action is the platform's decision.
- Decisions (R7): APPROVE_REFUND pays at once and the buyer keeps the item; APPROVE_RETURN asks
  for the item back unless the seller lets the buyer keep it; APPROVE_REPLACEMENT (a replacement
  request only) needs a reason type and asks for the faulty item back when the policy says so,
  unless the seller waives it (buyer keeps item). A partial amount may go with APPROVE_REFUND or
  APPROVE_RETURN, and is capped by what is still refundable when it is paid. Return and
  replacement decisions need a delivered order. OFFER_PARTIAL_REFUND is not an approval but an
  offer the buyer answers (R12), and a replacement request takes money only as
  ISSUE_REPLACEMENT_REFUND (P4): APPROVE_REFUND or APPROVE_RETURN on it is DECISION_NOT_ALLOWED.
- Shipping is refunded with the refund that leaves nothing of the items refundable.
- An appeal decided for the buyer carries out the seller's decision if there was one (a rejection
  on receipt), else the request as asked; an item already shipped back is not asked for again.
- The buyer may withdraw while the request waits for the seller, and while an approved return
  waits for the buyer's parcel.
- R9/R10 refunds are for orders handed to the carrier or delivered (before that the seller cancels,
  C7), need the lines to be free of open requests, and must pay something.
- An instant-refund category (R10) refunds a buyer's refund-only request at once: the request and
  the platform's refund are two timeline records of the same instant.
- Replacement shipping has no window in the policy: the seller's next action has no due time.
  A shipped replacement has one (P4, models/after_sale_replacements.py).
- Partial-refund offers (R12): models/after_sale_offers.py; the choices in docs/decisions.md.
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

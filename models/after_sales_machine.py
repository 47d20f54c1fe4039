"""The after-sale state machine, declared in one place: statuses, tabs, steps, next actions.

`TRANSITIONS` is the whole machine for all three kinds (models/requests.py): every step names
its action, the status it leaves (None: the step opens the request), the status it reaches, the
actor kinds allowed to make it and the kinds of request it applies to; each kind's profile
(models/request_kinds.py) holds the steps of its kind. The after-sale steps (models/after_sale_*.py)
move requests only through steps listed here; the property tests check every timeline against it.

`TAB_OF_STATUS` (R2) and `NEXT_ACTION_OF_STATUS` (who acts next, and what the platform does when
the deadline passes) are the other two tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from models.actors import ActorKind
from models.requests import BUYER, PLATFORM, SELLER, DeadlineRule, Transition, TransitionTable


class AfterSaleKind(Enum):
    REFUND_ONLY = "REFUND_ONLY"
    RETURN_AND_REFUND = "RETURN_AND_REFUND"
    REPLACEMENT = "REPLACEMENT"


class AfterSaleStatus(Enum):
    PENDING_SELLER = "PENDING_SELLER"  # waiting for the seller's answer (R3)
    APPEALED = "APPEALED"  # the platform mediates (R6)
    AWAITING_BUYER_RETURN = "AWAITING_BUYER_RETURN"  # approved; the buyer ships the item back (R8)
    RETURN_IN_TRANSIT = "RETURN_IN_TRANSIT"  # the buyer shipped; the seller confirms receipt (R8)
    AWAITING_REPLACEMENT_SHIPMENT = "AWAITING_REPLACEMENT_SHIPMENT"  # the seller ships (P2)
    REPLACEMENT_SHIPPED = "REPLACEMENT_SHIPPED"  # on its way to the buyer (P2)
    REFUNDED = "REFUNDED"  # the refund is paid
    REPLACED = "REPLACED"  # the replacement was delivered
    REJECTED = "REJECTED"  # the seller said no; appealable until the appeal window closes (R5)
    CLOSED_FINAL = "CLOSED_FINAL"  # a rejection that was not appealed (or was asked again)
    WITHDRAWN = "WITHDRAWN"  # the buyer took the request back
    DECIDED_FOR_SELLER = "DECIDED_FOR_SELLER"  # the mediator decided against the buyer (R6)
    RETURN_EXPIRED = "RETURN_EXPIRED"  # the buyer did not ship the return in time (R8)
    AWAITING_BUYER_RESPONSE = "AWAITING_BUYER_RESPONSE"  # a partial-refund offer waits (R12)


class AfterSaleTab(Enum):
    """The tabs of Seller Center > Manage Returns/Refunds (seed 001); ALL is every request."""

    TO_PROCEED = "TO_PROCEED"
    IN_PROCESS = "IN_PROCESS"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


_S = AfterSaleStatus
# The statuses whose names would not fit the tables below, short.
_TO_SHIP, _SHIPPED = _S.AWAITING_REPLACEMENT_SHIPMENT, _S.REPLACEMENT_SHIPPED
_TO_RETURN, _OFFERED = _S.AWAITING_BUYER_RETURN, _S.AWAITING_BUYER_RESPONSE

# R2, in one place: the statuses of each tab. APPEALED is To Proceed: docs/decisions.md,
# "After-sale requests", says why; an offer waits In Process: the buyer acts, as on a return (R12).
TAB_OF_STATUS: Mapping[AfterSaleStatus, AfterSaleTab] = {
    status: tab
    for tab, statuses in [
        (AfterSaleTab.TO_PROCEED, [_S.PENDING_SELLER, _S.APPEALED]),
        (AfterSaleTab.IN_PROCESS, [_TO_RETURN, _S.RETURN_IN_TRANSIT, _TO_SHIP, _SHIPPED, _OFFERED]),
        (AfterSaleTab.COMPLETED, [_S.REFUNDED, _S.REPLACED]),
        (
            AfterSaleTab.CLOSED,
            [_S.REJECTED, _S.CLOSED_FINAL, _S.WITHDRAWN, _S.DECIDED_FOR_SELLER, _S.RETURN_EXPIRED],
        ),
    ]
    for status in statuses
}

# Open: someone still has to act on the request (the To Proceed and In Process tabs).
OPEN_STATUSES = frozenset(
    s for s, t in TAB_OF_STATUS.items() if t in (AfterSaleTab.TO_PROCEED, AfterSaleTab.IN_PROCESS)
)
# Final: nothing can move the request any more.
FINAL_STATUSES = frozenset(set(AfterSaleStatus) - OPEN_STATUSES - {_S.REJECTED})


class AfterSaleAction(Enum):
    REQUEST = "REQUEST"
    INSTANT_REFUND = "INSTANT_REFUND"
    SELLER_REFUND = "SELLER_REFUND"
    PLATFORM_REFUND = "PLATFORM_REFUND"
    APPROVE = "APPROVE"
    AUTO_APPROVE = "AUTO_APPROVE"
    REJECT = "REJECT"
    WITHDRAW = "WITHDRAW"
    APPEAL = "APPEAL"
    SUPERSEDE = "SUPERSEDE"
    FINALIZE_REJECTION = "FINALIZE_REJECTION"
    DECIDE_FOR_BUYER = "DECIDE_FOR_BUYER"
    DECIDE_FOR_SELLER = "DECIDE_FOR_SELLER"
    SHIP_RETURN = "SHIP_RETURN"
    EXPIRE_RETURN = "EXPIRE_RETURN"
    CONFIRM_RECEIPT = "CONFIRM_RECEIPT"
    AUTO_CONFIRM_RECEIPT = "AUTO_CONFIRM_RECEIPT"
    REJECT_ON_RECEIPT = "REJECT_ON_RECEIPT"
    SHIP_REPLACEMENT = "SHIP_REPLACEMENT"
    CONFIRM_REPLACEMENT_DELIVERED = "CONFIRM_REPLACEMENT_DELIVERED"
    OFFER_PARTIAL_REFUND = "OFFER_PARTIAL_REFUND"
    ACCEPT_OFFER = "ACCEPT_OFFER"
    DECLINE_OFFER = "DECLINE_OFFER"
    EXPIRE_OFFER = "EXPIRE_OFFER"
    ISSUE_REPLACEMENT_REFUND = "ISSUE_REPLACEMENT_REFUND"


class DecisionType(Enum):
    APPROVE_REFUND = "APPROVE_REFUND"
    APPROVE_RETURN = "APPROVE_RETURN"
    APPROVE_REPLACEMENT = "APPROVE_REPLACEMENT"
    OFFER_PARTIAL_REFUND = "OFFER_PARTIAL_REFUND"  # R12: an offer the buyer accepts or declines
    ISSUE_REPLACEMENT_REFUND = "ISSUE_REPLACEMENT_REFUND"  # P4: a refund instead of a replacement


_K, _A = AfterSaleKind, AfterSaleAction
_ALL = frozenset(AfterSaleKind)
_REFUND = frozenset({_K.REFUND_ONLY})
_RETURNS = frozenset({_K.RETURN_AND_REFUND, _K.REPLACEMENT})
_REPLACE = frozenset({_K.REPLACEMENT})
_MONEY = frozenset({_K.REFUND_ONLY, _K.RETURN_AND_REFUND})
# P4: a replacement order moves through the order intake: the shop's integration, the platform
# or (the hand-over) an agent of the shop moves it, and the request follows as that actor.
_SHIPPERS = frozenset({ActorKind.SELLER_AGENT, ActorKind.PLATFORM, ActorKind.INTEGRATION})
_DELIVERY = frozenset({ActorKind.PLATFORM, ActorKind.INTEGRATION})


# The whole state machine, for every kind: (kinds, action, source, target, actors, rule) a step.
# Nothing else moves an after-sale request.
TRANSITIONS: TransitionTable[AfterSaleAction, AfterSaleStatus] = TransitionTable(
    Transition(action, source, target, actors, rule, kinds)
    for kinds, action, source, target, actors, rule in [
        # Opening
        (_ALL, _A.REQUEST, None, _S.PENDING_SELLER, BUYER, "R1 P1"),
        (_REFUND, _A.SELLER_REFUND, None, _S.REFUNDED, SELLER, "R9"),
        (_REFUND, _A.PLATFORM_REFUND, None, _S.REFUNDED, PLATFORM, "R10"),
        (_REFUND, _A.INSTANT_REFUND, _S.PENDING_SELLER, _S.REFUNDED, PLATFORM, "R10"),
        # The seller's answer (R3, R4, R7, P2, P3); silence approves as asked.
        (_ALL, _A.APPROVE, _S.PENDING_SELLER, _S.REFUNDED, SELLER, "R7 R8"),
        (_ALL, _A.APPROVE, _S.PENDING_SELLER, _TO_RETURN, SELLER, "R7 R8 P2"),
        (_ALL, _A.REJECT, _S.PENDING_SELLER, _S.REJECTED, SELLER, "R4 P3"),
        (_ALL, _A.WITHDRAW, _S.PENDING_SELLER, _S.WITHDRAWN, BUYER, "R2"),
        (_ALL, _A.WITHDRAW, _TO_RETURN, _S.WITHDRAWN, BUYER, "R2"),
        (_REFUND, _A.AUTO_APPROVE, _S.PENDING_SELLER, _S.REFUNDED, PLATFORM, "R3"),
        (_RETURNS, _A.AUTO_APPROVE, _S.PENDING_SELLER, _TO_RETURN, PLATFORM, "R3"),
        (_REPLACE, _A.APPROVE, _S.PENDING_SELLER, _TO_SHIP, SELLER, "P2"),
        (_REPLACE, _A.AUTO_APPROVE, _S.PENDING_SELLER, _TO_SHIP, PLATFORM, "R3 P2"),
        # After a rejection (R5, R6)
        (_ALL, _A.APPEAL, _S.REJECTED, _S.APPEALED, BUYER, "R5 R6"),
        (_ALL, _A.SUPERSEDE, _S.REJECTED, _S.CLOSED_FINAL, BUYER, "R5"),
        (_ALL, _A.FINALIZE_REJECTION, _S.REJECTED, _S.CLOSED_FINAL, PLATFORM, "R5"),
        (_ALL, _A.DECIDE_FOR_BUYER, _S.APPEALED, _S.REFUNDED, PLATFORM, "R6"),
        (_ALL, _A.DECIDE_FOR_SELLER, _S.APPEALED, _S.DECIDED_FOR_SELLER, PLATFORM, "R6"),
        (_RETURNS, _A.DECIDE_FOR_BUYER, _S.APPEALED, _TO_RETURN, PLATFORM, "R6 R8"),
        (_REPLACE, _A.DECIDE_FOR_BUYER, _S.APPEALED, _TO_SHIP, PLATFORM, "R6 P2"),
        # Return shipping (R8, P2)
        (_ALL, _A.SHIP_RETURN, _TO_RETURN, _S.RETURN_IN_TRANSIT, BUYER, "R8"),
        (_ALL, _A.EXPIRE_RETURN, _TO_RETURN, _S.RETURN_EXPIRED, PLATFORM, "R8"),
        (_ALL, _A.CONFIRM_RECEIPT, _S.RETURN_IN_TRANSIT, _S.REFUNDED, SELLER, "R8"),
        (_ALL, _A.AUTO_CONFIRM_RECEIPT, _S.RETURN_IN_TRANSIT, _S.REFUNDED, PLATFORM, "R8"),
        (_ALL, _A.REJECT_ON_RECEIPT, _S.RETURN_IN_TRANSIT, _S.REJECTED, SELLER, "R8 R4"),
        (_REPLACE, _A.CONFIRM_RECEIPT, _S.RETURN_IN_TRANSIT, _TO_SHIP, SELLER, "P2"),
        (_REPLACE, _A.AUTO_CONFIRM_RECEIPT, _S.RETURN_IN_TRANSIT, _TO_SHIP, PLATFORM, "P2"),
        # Replacement shipping (P2, P4)
        (_REPLACE, _A.SHIP_REPLACEMENT, _TO_SHIP, _SHIPPED, _SHIPPERS, "P2 P4"),
        (_REPLACE, _A.CONFIRM_REPLACEMENT_DELIVERED, _SHIPPED, _S.REPLACED, _DELIVERY, "P2 P4"),
        # A refund instead of the replacement (P4): the seller cannot replace, or the shipped
        # replacement was not delivered within its window (the platform).
        (_REPLACE, _A.ISSUE_REPLACEMENT_REFUND, _S.PENDING_SELLER, _S.REFUNDED, SELLER, "P4"),
        (_REPLACE, _A.ISSUE_REPLACEMENT_REFUND, _TO_SHIP, _S.REFUNDED, SELLER, "P4"),
        (_REPLACE, _A.ISSUE_REPLACEMENT_REFUND, _SHIPPED, _S.REFUNDED, PLATFORM, "P4"),
        # A partial-refund offer (R12): the buyer answers; silence is the policy's answer.
        (_MONEY, _A.OFFER_PARTIAL_REFUND, _S.PENDING_SELLER, _OFFERED, SELLER, "R12"),
        (_MONEY, _A.ACCEPT_OFFER, _OFFERED, _S.REFUNDED, BUYER, "R12"),
        (_MONEY, _A.DECLINE_OFFER, _OFFERED, _S.PENDING_SELLER, BUYER, "R12"),
        (_MONEY, _A.EXPIRE_OFFER, _OFFERED, _S.REFUNDED, PLATFORM, "R12"),
        (_MONEY, _A.EXPIRE_OFFER, _OFFERED, _S.PENDING_SELLER, PLATFORM, "R12"),
    ]
)


# The next action of every open (or appealable) status, in one place.
_AGENT, _BUYER = ActorKind.SELLER_AGENT, ActorKind.BUYER
NEXT_ACTION_OF_STATUS: Mapping[AfterSaleStatus, DeadlineRule[AfterSaleAction]] = {
    _S.PENDING_SELLER: DeadlineRule(
        _AGENT, "APPROVE_OR_REJECT", _A.AUTO_APPROVE, "R3", "after_sale_seller_response_window"
    ),
    _S.APPEALED: DeadlineRule(ActorKind.PLATFORM, "DECIDE_APPEAL", None, "R6"),
    _S.AWAITING_BUYER_RETURN: DeadlineRule(
        _BUYER, "SHIP_RETURN", _A.EXPIRE_RETURN, "R8", "return_shipping_window"
    ),
    _S.RETURN_IN_TRANSIT: DeadlineRule(
        _AGENT, "CONFIRM_RECEIPT", _A.AUTO_CONFIRM_RECEIPT, "R8", "return_receipt_window"
    ),
    _TO_SHIP: DeadlineRule(_AGENT, "SHIP_REPLACEMENT", None, "P2"),
    _S.REPLACEMENT_SHIPPED: DeadlineRule(
        ActorKind.PLATFORM,
        "CONFIRM_REPLACEMENT_DELIVERED",
        _A.ISSUE_REPLACEMENT_REFUND,
        "P4",
        "replacement_delivery_window",
    ),
    _S.AWAITING_BUYER_RESPONSE: DeadlineRule(
        _BUYER, "ACCEPT_OR_DECLINE_OFFER", _A.EXPIRE_OFFER, "R12", "offer_response_window"
    ),
    _S.REJECTED: DeadlineRule(_BUYER, "APPEAL", _A.FINALIZE_REJECTION, "R5", "appeal_window"),
}

# R5: the steps that count as the seller's rejections on an order.
SELLER_REJECTION_ACTIONS = frozenset({_A.REJECT, _A.REJECT_ON_RECEIPT})


class AfterSaleNotificationKind(Enum):
    """Kinds of models.notifications.Notification for after-sale requests."""

    AFTER_SALE_REQUESTED = "AFTER_SALE_REQUESTED"
    AFTER_SALE_APPROVED = "AFTER_SALE_APPROVED"
    AFTER_SALE_REJECTED = "AFTER_SALE_REJECTED"
    AFTER_SALE_REFUNDED = "AFTER_SALE_REFUNDED"
    AFTER_SALE_WITHDRAWN = "AFTER_SALE_WITHDRAWN"
    AFTER_SALE_CLOSED = "AFTER_SALE_CLOSED"
    RETURN_SHIPPED = "RETURN_SHIPPED"
    REPLACEMENT_SHIPPED = "REPLACEMENT_SHIPPED"
    REPLACEMENT_DELIVERED = "REPLACEMENT_DELIVERED"
    APPEAL_OPENED = "APPEAL_OPENED"
    APPEAL_DECIDED = "APPEAL_DECIDED"
    OFFER_MADE = "OFFER_MADE"
    OFFER_ANSWERED = "OFFER_ANSWERED"

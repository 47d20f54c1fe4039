"""The cancellation state machine, declared in one place: statuses, tabs, actions, steps, deadline.

Cancellations keep their own table: a cancellation stops an order before it ships, a different
process from the after-sale kinds (models/after_sales_machine.py), spoken of in the same
vocabulary (models/requests.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from models.actors import ActorKind
from models.requests import BUYER, PLATFORM, SELLER, DeadlineRule, Transition, TransitionTable


class CancellationStatus(Enum):
    PENDING = "PENDING"  # waiting for the seller (C2)
    # The order is cancelled and refunded (C1, C4, C6, C7, C8), or, for a line cancel (C10),
    # those units are and the rest of the order goes on.
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"  # the seller said no; the order goes on (C5)
    WITHDRAWN = "WITHDRAWN"  # the buyer took the request back before the seller answered


class CancellationTab(Enum):
    """The tabs of Seller Center > Manage Cancellations (seed 000); ALL is every request."""

    TO_PROCEED = "TO_PROCEED"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


TAB_OF_STATUS = {
    CancellationStatus.PENDING: CancellationTab.TO_PROCEED,
    CancellationStatus.CANCELLED: CancellationTab.COMPLETED,
    CancellationStatus.REJECTED: CancellationTab.CLOSED,
    CancellationStatus.WITHDRAWN: CancellationTab.CLOSED,
}


class CancellationAction(Enum):
    CANCEL_AT_ONCE = "CANCEL_AT_ONCE"
    REQUEST = "REQUEST"
    ACCEPT = "ACCEPT"
    AUTO_ACCEPT = "AUTO_ACCEPT"
    REJECT = "REJECT"
    WITHDRAW = "WITHDRAW"
    SELLER_CANCEL = "SELLER_CANCEL"
    SYSTEM_CANCEL = "SYSTEM_CANCEL"
    SELLER_CANCEL_LINES = "SELLER_CANCEL_LINES"


_S, _A = CancellationStatus, CancellationAction

# The whole state machine. Nothing else moves a cancellation.
TRANSITIONS: TransitionTable[CancellationAction, CancellationStatus] = TransitionTable(
    [
        Transition(_A.CANCEL_AT_ONCE, None, _S.CANCELLED, BUYER, "C1"),
        Transition(_A.REQUEST, None, _S.PENDING, BUYER, "C2"),
        Transition(_A.ACCEPT, _S.PENDING, _S.CANCELLED, SELLER, "C4"),
        Transition(_A.REJECT, _S.PENDING, _S.REJECTED, SELLER, "C5"),
        Transition(_A.AUTO_ACCEPT, _S.PENDING, _S.CANCELLED, PLATFORM, "C6"),
        Transition(_A.WITHDRAW, _S.PENDING, _S.WITHDRAWN, BUYER, "C2"),
        Transition(_A.SELLER_CANCEL, None, _S.CANCELLED, SELLER, "C7"),
        Transition(_A.SYSTEM_CANCEL, None, _S.CANCELLED, PLATFORM, "C8"),
        Transition(_A.SELLER_CANCEL_LINES, None, _S.CANCELLED, SELLER, "C10"),
    ]
)

# Who acts next in a status, and what the platform does when the deadline passes (C6).
NEXT_ACTION_OF_STATUS: Mapping[CancellationStatus, DeadlineRule[CancellationAction]] = {
    _S.PENDING: DeadlineRule(
        ActorKind.SELLER_AGENT, "ACCEPT_OR_REJECT", _A.AUTO_ACCEPT, "C6", "seller_response_window"
    ),
}

"""The platform's move on an after-sale request whose deadline has passed (R3, R5, R8, R12, P4).

The after-sale steps live in the modules that hold them by topic: opening (after_sale_opening),
the seller's and the platform's decisions (after_sale_decisions), shipping (after_sale_shipping),
the request's own plumbing (after_sale_requests); the state machine in after_sales_machine, each
kind's table and profile in request_kinds, the money in refund_ledger, and the order's case
(its order, ledger and requests) in after_sales_case. Every step writes its timeline record
through `after_sale_requests.record_step`, which accepts only a step of its kind's table made by
one of the actor kinds the step names. Who the actor is (the buyer of this order, an agent of
this shop with the adjustments permission) is checked by the services with models/access.py.

The choices where DOMAIN.md is silent (what the marketplace does) are in docs/decisions.md,
"After-sale requests".
"""

from __future__ import annotations

from collections.abc import Callable

from models import after_sale_decisions as decisions
from models import after_sale_shipping as shipping
from models.after_sale_requests import AfterSaleOutcome, Step
from models.after_sales_machine import AfterSaleAction
from models.errors import InvalidTransition
from models.request_kinds import AFTER_SALE_DEADLINES

_A = AfterSaleAction

# The platform's move on each deadline it acts on (AFTER_SALE_DEADLINES: which, by status).
_ON_DEADLINE: dict[AfterSaleAction, Callable[[Step], AfterSaleOutcome]] = {
    _A.EXPIRE_OFFER: decisions.expire_offer,
    _A.ISSUE_REPLACEMENT_REFUND: shipping.replacement_not_delivered,
    _A.AUTO_APPROVE: decisions.auto_approve,
    _A.EXPIRE_RETURN: shipping.expire_return,
    _A.AUTO_CONFIRM_RECEIPT: shipping.auto_confirm_receipt,
    _A.FINALIZE_REJECTION: decisions.finalize_rejection,
}


def act_on_deadline(s: Step) -> AfterSaleOutcome:
    """The platform's move on whatever deadline of the request has passed (R3, R5, R8, R12, P4)."""
    r = s.request
    if (rule := AFTER_SALE_DEADLINES.get(r.status)) is None:
        raise InvalidTransition(
            f"{r.id} is {r.status.value}: no deadline of it is for the platform to act on",
            current_state=r.status.value,
            field="requestId",
        )
    return _ON_DEADLINE[rule.on_expiry](s)

"""Appeals (R5, R6): the buyer appeals a rejection, the platform mediates, or the rejection
becomes final when the appeal window passes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models.actors import Actor
from models.after_sale_decisions import carry_out
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, Appeal
from models.after_sale_steps import (
    at_deadline,
    before_deadline,
    default_decision,
    moved_to,
    start_step,
    subject,
)
from models.after_sales_machine import AfterSaleAction, AfterSaleNotificationKind, AfterSaleStatus
from models.after_sales_reasons import (
    APPEAL_DECIDED_FOR_BUYER,
    APPEAL_DECIDED_FOR_SELLER,
    APPEAL_REASONS,
    APPEAL_WINDOW_PASSED,
)
from models.errors import ValidationFailed
from models.orders import Order
from models.reasons import clean_comment, require_reason
from models.refund_ledger import RefundLedger
from models.requests import to_buyer, to_shop

_S = AfterSaleStatus
_A = AfterSaleAction
_N = AfterSaleNotificationKind


def appeal(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    now: datetime,
) -> AfterSaleOutcome:
    """R5, R6: the buyer appeals a rejection within the appeal window; the platform mediates."""
    start_step(r, order, _A.APPEAL, actor)
    require_reason(APPEAL_REASONS, reason)
    comment = clean_comment(comment)
    before_deadline(r, now)
    text = (
        f"The buyer appealed your rejection of {r.id} (order {r.order_id}); "
        "the platform will mediate."
    )
    notes = (to_shop(r, _N.APPEAL_OPENED, text, now),)
    step = {"reason": reason, "comment": comment, "appeal": Appeal(reason, comment, now)}
    return moved_to(r, order, _A.APPEAL, _S.APPEALED, actor, now, notes, **step)


def _decided(appeal_: Appeal | None, for_buyer: bool, note: str, now: datetime) -> Appeal | None:
    if appeal_ is None:
        return None
    return replace(appeal_, for_buyer=for_buyer, note=note, decided_at=now)


def _require_note(note: str | None) -> str:
    cleaned = clean_comment(note, field="note")
    if cleaned is None:
        raise ValidationFailed("the mediator's decision needs a note", field="note")
    return cleaned


def decide_for_buyer(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    note: str,
    now: datetime,
) -> AfterSaleOutcome:
    """R6: the mediator decides for the buyer: the refund (or replacement) goes ahead."""
    start_step(r, order, _A.DECIDE_FOR_BUYER, actor)
    note = _require_note(note)
    decision = r.decision or default_decision(r, now, actor.kind)
    appeal = _decided(r.appeal, True, note, now)
    step = {"reason": APPEAL_DECIDED_FOR_BUYER, "comment": note, "appeal": appeal}
    out = carry_out(r, order, ledger, decision, _A.DECIDE_FOR_BUYER, actor, now, **step)
    text = f"The platform decided your appeal on order {r.order_id} for you: {note}"
    told = (to_buyer(r, _N.APPEAL_DECIDED, text, now),)
    return replace(out, notifications=told + out.notifications)


def decide_for_seller(
    r: AfterSaleRequest, order: Order, actor: Actor, note: str, now: datetime
) -> AfterSaleOutcome:
    """R6: the mediator decides for the seller: the request closes."""
    start_step(r, order, _A.DECIDE_FOR_SELLER, actor)
    note = _require_note(note)
    to_buyer_text = f"The platform decided your appeal on order {r.order_id} for the seller: {note}"
    to_shop_text = f"The platform decided the appeal on {r.id} (order {r.order_id}) for you."
    notes = (
        to_buyer(r, _N.APPEAL_DECIDED, to_buyer_text, now),
        to_shop(r, _N.APPEAL_DECIDED, to_shop_text, now),
    )
    appeal = _decided(r.appeal, False, note, now)
    step = {"reason": APPEAL_DECIDED_FOR_SELLER, "comment": note, "appeal": appeal}
    return moved_to(
        r, order, _A.DECIDE_FOR_SELLER, _S.DECIDED_FOR_SELLER, actor, now, notes, **step
    )


def finalize_rejection(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R5: the appeal window passed without an appeal; the rejection is final."""
    start_step(r, order, _A.FINALIZE_REJECTION, actor)
    deadline = at_deadline(r, now)
    text = f"The rejection of your {subject(r.kind)} for order {r.order_id} is final."
    notes = (to_buyer(r, _N.AFTER_SALE_CLOSED, text, now),)
    step = {"reason": APPEAL_WINDOW_PASSED, "acted_on": deadline}
    return moved_to(r, order, _A.FINALIZE_REJECTION, _S.CLOSED_FINAL, actor, now, notes, **step)

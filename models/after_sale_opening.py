"""Opening an after-sale request: the buyer's (R1, P1, R5, R10) and the refunds a seller (R9) or the
platform (R10) makes without one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from models.actors import Actor, ActorKind
from models.after_sale_eligibility import (
    buyer_may_ask,
    check_existing,
    last_rejected,
    refuse_open_and_used,
    units_left,
)
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRecord, AfterSaleRequest, Decision
from models.after_sale_steps import check_create, move, record_step, refunded_note, subject
from models.after_sales_case import pay, snapshot
from models.after_sales_errors import (
    ALREADY_REQUESTED,
    NOT_DELIVERED,
    NOT_SHIPPED,
    NOTHING_TO_REFUND,
    QUANTITY_USED_UP,
    AfterSaleRefused,
)
from models.after_sales_machine import (
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleNotificationKind,
    AfterSaleStatus,
    DecisionType,
)
from models.after_sales_reasons import (
    INSTANT_REFUND_CATEGORY,
    NOT_RECEIVED,
    PLATFORM_REFUND_REASONS,
    SECOND_REQUEST_SUBMITTED,
    SELLER_REFUND_REASONS,
    display_text,
)
from models.money import Money
from models.notifications import Notification
from models.orders import FulfilmentState, Order
from models.reasons import clean_comment, require_reason
from models.refund_ledger import RefundLedger, clean_quantities, refund_quote
from models.request_kinds import profile_of
from models.requests import Initiator, Opening, opened_on, seller_answers_by, to_shop

_K = AfterSaleKind
_S = AfterSaleStatus
_A = AfterSaleAction
_N = AfterSaleNotificationKind


# The platform actor that pays instant refunds (R10), as the expiry worker acts on deadlines.
INSTANT_REFUNDER = Actor(ActorKind.PLATFORM, "instant-refund")


def request_by_buyer(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    ledger: RefundLedger,
    actor: Actor,
    kind: AfterSaleKind,
    lines: Mapping[str, int],
    reason: str,
    note: str | None,
    opening: Opening,
) -> AfterSaleOutcome:
    """R1, P1: the buyer asks about some lines and quantities; R5 links a second request; R10 pays
    a refund-only request in an instant-refund category at once.

    `existing` is every after-sale request of the order; `opening.policy` the one for the lines'
    categories (`PolicyBook.for_order`), kept on the request (Y1).
    """
    check_create(_A.REQUEST, actor, kind)
    policy, now = opening.policy, opening.now
    require_reason(profile_of(kind).request_reasons, reason)
    note = clean_comment(note, field="note")
    quantities = clean_quantities(order, lines)
    check_existing(order, existing)
    _, superseded = buyer_may_ask(order, existing, kind, quantities, policy, now)
    if order.fulfilment_state is not FulfilmentState.DELIVERED and reason != NOT_RECEIVED:
        raise AfterSaleRefused(
            f"order {order.id} was not delivered: only a refund as not received is possible",
            code=NOT_DELIVERED,
        )
    follows = last_rejected(existing)

    r = AfterSaleRequest(
        **vars(opened_on(order, opening.new_id, Initiator.BUYER, reason, note, policy, now)),
        kind=kind,
        status=_S.PENDING_SELLER,
        lines=snapshot(order, quantities),
        follows_id=follows,
    )
    record = record_step(None, kind, _A.REQUEST, _S.PENDING_SELLER, actor, now, reason, note)
    r = replace(
        r, timeline=(record,), deadline=seller_answers_by(order, policy, now, opening.calendar)
    )

    closed = tuple(
        move(old, _A.SUPERSEDE, _S.CLOSED_FINAL, actor, now, reason=SECOND_REQUEST_SUBMITTED)[0]
        for old in superseded
    )
    if kind is _K.REFUND_ONLY and policy.instant_refund:
        return _refunded_at_once(r, order, ledger, record, closed, now)
    second_time = " (a second request)" if follows else ""
    text = (
        f"New {subject(kind)}{second_time} for order {order.id}; answer by "
        f"{r.deadline:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_shop(r, _N.AFTER_SALE_REQUESTED, text, now),)
    return AfterSaleOutcome(r, order, (record,), notes, None, None, closed)


def _refunded_at_once(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    asked: AfterSaleRecord,
    closed: tuple[AfterSaleRequest, ...],
    now: datetime,
) -> AfterSaleOutcome:
    """R10: a refund-only request in an instant-refund category, paid by the platform at once."""
    why = INSTANT_REFUND_CATEGORY
    decision = Decision(
        DecisionType.APPROVE_REFUND, r.lines, True, None, why, None, now, ActorKind.PLATFORM
    )
    refund, new_ledger, new_order = pay(r, order, ledger, decision, now)
    step = {"reason": why, "decision": decision, "refund": refund}
    paid, record = move(r, _A.INSTANT_REFUND, _S.REFUNDED, INSTANT_REFUNDER, now, **step)  # type: ignore[arg-type]
    text = (
        f"The platform refunded {refund.total} on order {order.id} at once "
        "(instant-refund category)."
    )
    notes = (refunded_note(paid, now), to_shop(paid, _N.AFTER_SALE_REFUNDED, text, now))
    return AfterSaleOutcome(paid, new_order, (asked, record), notes, None, new_ledger, closed)


def _refuse_nothing_free(order: Order, existing: Sequence[AfterSaleRequest]) -> None:
    """Every unit is spoken for: by a request still open or appealable, named (the refund may
    come from it), or by refunds and settlements for good."""
    waiting = [r for r in existing if r.holds_units and (r.is_open or r.status is _S.REJECTED)]
    if waiting:
        r = waiting[0]
        also = " (rejected; the buyer may still appeal it)" if r.status is _S.REJECTED else ""
        raise AfterSaleRefused(
            f"every unit of order {order.id} left to refund is held by request {r.id}, "
            f"{r.status.value}{also}",
            code=ALREADY_REQUESTED,
            line_ids=list(r.covered),
            existing_id=r.id,
        )
    raise AfterSaleRefused(
        f"every unit of order {order.id} is already refunded or requested",
        code=QUANTITY_USED_UP,
        line_ids=[line.line_id for line in order.lines],
    )


# R9, R10: a refund with no buyer's request: the reasons of whoever makes it, and its step.
_WITHOUT_REQUEST = {
    Initiator.SELLER: (SELLER_REFUND_REASONS, _A.SELLER_REFUND),
    Initiator.PLATFORM: (PLATFORM_REFUND_REASONS, _A.PLATFORM_REFUND),
}


def refund_without_request(
    initiator: Initiator,
    order: Order,
    existing: Sequence[AfterSaleRequest],
    ledger: RefundLedger,
    actor: Actor,
    reason: str,
    comment: str | None,
    opening: Opening,
    *,
    lines: Mapping[str, int] | None = None,
    partial_amount: Money | None = None,
) -> AfterSaleOutcome:
    """R9: the seller refunds without a buyer's request (pricing error, shortage, logistics);
    R10: the platform does, without the seller, and the shop is told the final state.

    Every unit still free of requests unless `lines` says which; in full unless `partial_amount`.
    """
    reasons, action = _WITHOUT_REQUEST[initiator]
    require_reason(reasons, reason)
    check_create(action, actor, _K.REFUND_ONLY)
    comment, now = clean_comment(comment), opening.now
    check_existing(order, existing)
    if order.fulfilment_state not in (FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED):
        raise AfterSaleRefused(
            f"order {order.id} is {order.fulfilment_state.value}: before it is handed to the "
            "carrier, cancel it instead",
            code=NOT_SHIPPED,
        )
    if lines is None:
        # Every unit not yet refunded or requested, on any line: a unit free beside an open
        # request is refunded, the requested ones are left to their request.
        quantities = {
            line.line_id: n
            for line in order.lines
            if (n := units_left(order, line.line_id, existing, set())) > 0
        }
        if not quantities:
            _refuse_nothing_free(order, existing)
    else:
        quantities = clean_quantities(order, lines)
        refuse_open_and_used(order, existing, quantities, set())
    decision = Decision(
        DecisionType.APPROVE_REFUND
        if partial_amount is None
        else DecisionType.OFFER_PARTIAL_REFUND,
        snapshot(order, quantities),
        True,
        partial_amount,
        reason,
        comment,
        now,
        actor.kind,
    )
    # The quote itself refuses a partial amount that is not positive or above what is refundable.
    refund_quote(order, ledger, quantities, partial_amount)
    r = AfterSaleRequest(
        **vars(opened_on(order, opening.new_id, initiator, reason, comment, opening.policy, now)),
        kind=_K.REFUND_ONLY,
        status=_S.REFUNDED,
        lines=decision.lines,
        decision=decision,
    )
    refund, new_ledger, new_order = pay(r, order, ledger, decision, now)
    if new_ledger is None:
        raise AfterSaleRefused(
            f"nothing is left to refund on these lines of order {order.id}",
            code=NOTHING_TO_REFUND,
            line_ids=list(quantities),
        )
    record = record_step(None, _K.REFUND_ONLY, action, _S.REFUNDED, actor, now, reason, comment)
    r = replace(r, refund=refund, resolved_at=now, timeline=(record,))
    notes: list[Notification] = [refunded_note(r, now)]
    if initiator is Initiator.PLATFORM:
        text = f"The platform refunded {refund.total} on order {order.id}: {display_text(reason)}."
        notes.append(to_shop(r, _N.AFTER_SALE_REFUNDED, text, now))
    return AfterSaleOutcome(r, new_order, (record,), tuple(notes), None, new_ledger)


refund_by_seller = partial(refund_without_request, Initiator.SELLER)
refund_by_platform = partial(refund_without_request, Initiator.PLATFORM)

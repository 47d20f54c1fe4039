"""Opening an after-sale request: who may ask for what on an order (R1, R5, P1: windows, open
requests, units left), the buyer's request (R1, P1, R5, R10) and the refunds a seller (R9) or the
platform (R10) makes without one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from models import after_sales_errors as refusals
from models import after_sales_reasons as reasons
from models.actors import Actor, ActorKind
from models.after_sale_requests import (
    AfterSaleOutcome,
    AfterSaleRecord,
    AfterSaleRequest,
    Decision,
    LineEligibility,
    Step,
    check_create,
    record_step,
    refunded_note,
)
from models.after_sales_case import AfterSalesCase, pay, snapshot
from models.after_sales_errors import AfterSaleRefused
from models.after_sales_machine import SELLER_REJECTION_ACTIONS, AfterSaleKind, DecisionType
from models.after_sales_machine import AfterSaleAction as _A
from models.after_sales_machine import AfterSaleNotificationKind as _N
from models.after_sales_machine import AfterSaleStatus as _S
from models.commands import PlatformRefund, RefundOrder, RequestAfterSale
from models.notifications import Notification
from models.orders import FulfilmentState, Order
from models.policy import CategoryPolicy, PolicyBook
from models.reasons import clean_comment, require_reason
from models.refund_ledger import clean_quantities, refund_quote
from models.request_kinds import profile_of
from models.requests import Initiator, Opening, TimelineRecord, opened_on, to_shop

_K, _D = AfterSaleKind, DecisionType

# R1: an order with the carrier this long after it was shipped counts as never received.
NOT_RECEIVED_AFTER = timedelta(days=10)
# The platform actor that pays instant refunds (R10), as the expiry worker acts on deadlines.
INSTANT_REFUNDER = Actor(ActorKind.PLATFORM, "instant-refund")


# --- Who may ask for what (R1, R5, P1) ----------------------------------------------------------


def _request_window(
    order: Order, kind: AfterSaleKind, policy: CategoryPolicy, now: datetime
) -> datetime:
    """The end of the buyer's window for this kind, or the refusal that says why there is none."""
    if order.fulfilment_state is FulfilmentState.DELIVERED and order.delivered_at is not None:
        ends = order.delivered_at + policy.return_refund_window
    elif (
        not profile_of(kind).needs_delivery
        and order.fulfilment_state is FulfilmentState.IN_TRANSIT
        and order.shipped_at is not None
        and order.amount_paid.minor > 0
    ):
        expected = order.shipped_at + NOT_RECEIVED_AFTER
        if now < expected:
            raise AfterSaleRefused(
                f"order {order.id} is on its way; if it has not arrived by "
                f"{expected:%Y-%m-%d %H:%M} UTC, ask for a refund as not received",
                code=refusals.NOT_DELIVERED,
            )
        ends = expected + policy.return_refund_window
    else:
        what = "a return or replacement" if profile_of(kind).needs_delivery else "a refund"
        raise AfterSaleRefused(
            f"order {order.id} is {order.fulfilment_state.value}; {what} can be asked for "
            "once it is delivered",
            code=refusals.NOT_DELIVERED,
        )
    if now >= ends:
        raise AfterSaleRefused(
            f"the return/refund window of order {order.id} closed at {ends:%Y-%m-%d %H:%M} UTC",
            code=refusals.WINDOW_PASSED,
            window_ends_at=ends,
        )
    return ends


def last_rejected(existing: Sequence[AfterSaleRequest]) -> str | None:
    """R5: the request a second request follows, the one the seller rejected last."""
    rejections = [
        (record.at, r.id)
        for r in existing
        for record in r.timeline
        if record.action in SELLER_REJECTION_ACTIONS
    ]
    return max(rejections)[1] if rejections else None


def supersedable(case: AfterSalesCase, line_ids: Sequence[str]) -> list[AfterSaleRequest]:
    """R5: the appealable rejections a new buyer request on these lines would close."""
    return [r for r in case.requests if r.status is _S.REJECTED and set(r.covered) & set(line_ids)]


def _holding(case: AfterSalesCase, ignore: set[str]) -> list[AfterSaleRequest]:
    return [r for r in case.requests if r.holds_units and r.id not in ignore]


def units_left(case: AfterSalesCase, line_id: str, ignore: set[str]) -> int:
    held = sum(r.covered.get(line_id, 0) for r in _holding(case, ignore))
    return max(0, case.order.units_left(line_id) - held)  # less units the seller cancelled (C10)


def refuse_open_and_used(case: AfterSalesCase, lines: Mapping[str, int], ignore: set[str]) -> None:
    for line_id in lines:
        if blocking := next((r for r in case.requests if r.is_open and line_id in r.covered), None):
            raise AfterSaleRefused(
                f"line {line_id} of order {case.order.id} already has an open request "
                f"({blocking.id}, {blocking.status.value})",
                code=refusals.ALREADY_REQUESTED,
                line_ids=[line_id],
                existing_id=blocking.id,
            )
    for line_id, quantity in lines.items():
        available = units_left(case, line_id, ignore)
        if quantity > available:
            holder = next((r.id for r in _holding(case, ignore) if line_id in r.covered), None)
            raise AfterSaleRefused(
                f"line {line_id} of order {case.order.id} has {available} left to ask about, "
                f"not {quantity}",
                code=refusals.QUANTITY_USED_UP,
                line_ids=[line_id],
                existing_id=holder,  # the request holding units of the line, if one does
            )


def buyer_may_ask(case: AfterSalesCase, lines: Mapping[str, int]) -> list[AfterSaleRequest]:
    """R5, P1 once the window is open (R1, `_request_window`, asked first: the order the buyer's
    app explains them in); the rejections a request on these lines closes."""
    if sum(r.seller_rejections for r in case.requests) >= 2:
        raise AfterSaleRefused(
            f"the seller rejected two requests on order {case.order.id}; only an appeal is "
            "possible",
            code=refusals.SECOND_REJECTION_ONLY_APPEAL,
        )
    superseded = supersedable(case, list(lines))
    refuse_open_and_used(case, lines, {r.id for r in superseded})
    return superseded


def line_eligibility(
    case: AfterSalesCase, book: PolicyBook, now: datetime
) -> tuple[LineEligibility, ...]:
    """For each line and each kind: may the buyer ask now, how many, until when, or why not."""
    out: list[LineEligibility] = []
    for line in case.order.lines:
        policy = book.for_category(line.category)
        superseded = {r.id for r in supersedable(case, [line.line_id])}
        available = units_left(case, line.line_id, superseded)
        for kind in AfterSaleKind:
            try:
                ends = _request_window(case.order, kind, policy, now)
                buyer_may_ask(case, {line.line_id: 1})
            except AfterSaleRefused as refusal:
                refused = (refusal.code, refusal.message, available, refusal.window_ends_at)
                out.append(LineEligibility(line.line_id, kind, False, *refused))
                continue
            until = f"Up to {available} may be asked about until {ends:%Y-%m-%d %H:%M} UTC."
            out.append(LineEligibility(line.line_id, kind, True, None, until, available, ends))
    return tuple(out)


# --- Opening ---------------------------------------------------------------------------------


def request_by_buyer(
    case: AfterSalesCase, actor: Actor, c: RequestAfterSale, opening: Opening
) -> AfterSaleOutcome:
    """R1, P1: the buyer asks about some lines and quantities; R5 links a second request; R10 pays
    a refund-only request in an instant-refund category at once.

    `opening.policy` is the one for the lines' categories (`PolicyBook.for_order`), kept on the
    request (Y1).
    """
    check_create(_A.REQUEST, actor)
    order, policy, now = case.order, opening.policy, opening.now
    require_reason(profile_of(c.kind).request_reasons, c.reason)
    note = clean_comment(c.note, field="note")
    quantities = clean_quantities(order, dict(c.lines))
    _request_window(order, c.kind, policy, now)  # R1, first: refuses outside the window
    superseded = buyer_may_ask(case, quantities)
    if order.fulfilment_state is not FulfilmentState.DELIVERED and c.reason != reasons.NOT_RECEIVED:
        raise AfterSaleRefused(
            f"order {order.id} was not delivered: only a refund as not received is possible",
            code=refusals.NOT_DELIVERED,
        )

    asked = TimelineRecord(
        now, actor.kind, actor.id, _A.REQUEST, None, _S.PENDING_SELLER, c.reason, note
    )
    record = record_step(c.kind, asked)
    start = opened_on(order, opening, Initiator.BUYER, c.reason, note)
    r = AfterSaleRequest(
        **vars(replace(start, timeline=(record,))),
        kind=c.kind,
        status=_S.PENDING_SELLER,
        lines=snapshot(order, quantities),
        follows_id=last_rejected(case.requests),
        deadline=opening.seller_answers_by(order),
    )

    closed = tuple(
        Step(old, order, case.ledger, actor, now)
        .moved_to(_A.SUPERSEDE, _S.CLOSED_FINAL, reason=reasons.SECOND_REQUEST_SUBMITTED)
        .request
        for old in superseded
    )
    if c.kind is _K.REFUND_ONLY and policy.instant_refund:
        return _refunded_at_once(Step(r, order, case.ledger, INSTANT_REFUNDER, now), record, closed)
    second_time = " (a second request)" if r.follows_id else ""
    text = (
        f"New {r.subject}{second_time} for order {order.id}; answer by "
        f"{r.deadline:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_shop(r, _N.AFTER_SALE_REQUESTED, text, now),)
    return AfterSaleOutcome(r, order, (record,), notes, superseded=closed)


def _refunded_at_once(
    s: Step, asked: AfterSaleRecord, closed: tuple[AfterSaleRequest, ...]
) -> AfterSaleOutcome:
    """R10: a refund-only request in an instant-refund category, paid by the platform at once."""
    r, order, now = s.request, s.order, s.now
    why = reasons.INSTANT_REFUND_CATEGORY
    decision = replace(r.default_decision(now, s.actor.kind), reason=why)  # as asked
    refund, new_ledger, new_order = pay(r, order, s.ledger, decision, now)
    moved = s.moved_to(_A.INSTANT_REFUND, _S.REFUNDED, reason=why, decision=decision, refund=refund)
    paid = moved.request
    text = (
        f"The platform refunded {refund.total} on order {order.id} at once "
        "(instant-refund category)."
    )
    notes = (refunded_note(paid, now), to_shop(paid, _N.AFTER_SALE_REFUNDED, text, now))
    return AfterSaleOutcome(paid, new_order, (asked, *moved.records), notes, new_ledger, closed)


def _refuse_nothing_free(case: AfterSalesCase) -> None:
    """Every unit is spoken for: by a request still open or appealable, named (the refund may
    come from it), or by refunds and settlements for good."""
    held = (r for r in case.requests if r.is_open or r.status is _S.REJECTED)
    if (r := next(held, None)) is not None:
        also = " (rejected; the buyer may still appeal it)" if r.status is _S.REJECTED else ""
        raise AfterSaleRefused(
            f"every unit of order {case.order.id} left to refund is held by request {r.id}, "
            f"{r.status.value}{also}",
            code=refusals.ALREADY_REQUESTED,
            line_ids=list(r.covered),
            existing_id=r.id,
        )
    raise AfterSaleRefused(
        f"every unit of order {case.order.id} is already refunded or requested",
        code=refusals.QUANTITY_USED_UP,
        line_ids=[line.line_id for line in case.order.lines],
    )


# R9, R10: a refund with no buyer's request: who makes it, the reasons they may give, its step.
_WITHOUT_REQUEST = {
    RefundOrder: (Initiator.SELLER, reasons.SELLER_REFUND_REASONS, _A.SELLER_REFUND),
    PlatformRefund: (Initiator.PLATFORM, reasons.PLATFORM_REFUND_REASONS, _A.PLATFORM_REFUND),
}


def refund_without_request(
    case: AfterSalesCase, actor: Actor, c: RefundOrder | PlatformRefund, opening: Opening
) -> AfterSaleOutcome:
    """R9: the seller refunds without a buyer's request (pricing error, shortage, logistics);
    R10: the platform does, without the seller, and the shop is told the final state.

    Every unit still free of requests unless `c.lines` says which; in full unless an amount.
    """
    initiator, catalogue, action = _WITHOUT_REQUEST[type(c)]
    require_reason(catalogue, c.reason)
    check_create(action, actor)
    comment, now = clean_comment(c.comment), opening.now
    order, ledger = case.order, case.ledger
    if order.fulfilment_state not in (FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED):
        raise AfterSaleRefused(
            f"order {order.id} is {order.fulfilment_state.value}: before it is handed to the "
            "carrier, cancel it instead",
            code=refusals.NOT_SHIPPED,
        )
    if c.lines is None:
        # Every unit not yet refunded or requested, on any line: a unit free beside an open
        # request is refunded, the requested ones are left to their request.
        quantities = {
            line.line_id: n
            for line in order.lines
            if (n := units_left(case, line.line_id, set())) > 0
        }
        if not quantities:
            _refuse_nothing_free(case)
    else:
        quantities = clean_quantities(order, dict(c.lines))
        refuse_open_and_used(case, quantities, set())
    decided = _D.APPROVE_REFUND if c.partial_amount is None else _D.OFFER_PARTIAL_REFUND
    chosen = snapshot(order, quantities)
    decision = Decision(decided, chosen, True, c.partial_amount, c.reason, comment, now, actor.kind)
    # The quote itself refuses a partial amount that is not positive or above what is refundable.
    refund_quote(order, ledger, quantities, c.partial_amount)
    r = AfterSaleRequest(
        **vars(opened_on(order, opening, initiator, c.reason, comment)),
        kind=_K.REFUND_ONLY,
        status=_S.REFUNDED,
        lines=decision.lines,
        decision=decision,
    )
    refund, new_ledger, new_order = pay(r, order, ledger, decision, now)
    if new_ledger is None:
        raise AfterSaleRefused(
            f"nothing is left to refund on these lines of order {order.id}",
            code=refusals.NOTHING_TO_REFUND,
            line_ids=list(quantities),
        )
    step = TimelineRecord(now, actor.kind, actor.id, action, None, _S.REFUNDED, c.reason, comment)
    record = record_step(_K.REFUND_ONLY, step)
    r = replace(r, refund=refund, resolved_at=now, timeline=(record,))
    notes: list[Notification] = [refunded_note(r, now)]
    if initiator is Initiator.PLATFORM:
        why = reasons.display_text(c.reason)
        text = f"The platform refunded {refund.total} on order {order.id}: {why}."
        notes.append(to_shop(r, _N.AFTER_SALE_REFUNDED, text, now))
    return AfterSaleOutcome(r, new_order, (record,), tuple(notes), new_ledger)

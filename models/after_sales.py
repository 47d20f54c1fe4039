"""After-sale requests: refund only, return and refund, replacement (R1-R11, P1-P3, Y1).

One explicit state machine for all three kinds (declared in models/after_sales_machine.py),
decided here without I/O. Every function takes the current state and `now` and returns an
`AfterSaleOutcome`: the request as it now is, the order as it now is, the ledger if a refund was
booked, the timeline records it appended and the notifications. Storage writes all of them in one
transaction, or none. Money comes from models/after_sales_ledger.py (`refund_quote`, the ledger).

Every step writes its timeline record through `_record`, which accepts only a step listed in
`TRANSITIONS`, made by one of the actor kinds the step names, for a kind of request the step names.
An action from a state that does not allow it raises `InvalidTransition` (or `NotPending`) naming
the current state, before anything is computed. Who the actor is (the buyer of this order, an agent
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
- Decisions (R7): APPROVE_REFUND and OFFER_PARTIAL_REFUND pay at once and the buyer keeps the
  item; APPROVE_RETURN asks for the item back unless the seller lets the buyer keep it;
  APPROVE_REPLACEMENT (a replacement request only) needs a reason type and asks for the faulty item
  back when the policy says so, unless the seller waives it (buyer keeps item). A partial amount may
  go with APPROVE_REFUND or APPROVE_RETURN, and is capped by what is still refundable when it is
  paid. Return and replacement decisions need a delivered order.
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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from models.actors import Actor, ActorKind
from models.after_sales_errors import (
    ALREADY_REQUESTED,
    NOT_DELIVERED,
    NOT_SHIPPED,
    NOTHING_TO_REFUND,
    QUANTITY_USED_UP,
    SECOND_REJECTION_ONLY_APPEAL,
    WINDOW_PASSED,
    AfterSaleRefused,
    DeadlineNotReached,
    DecisionNotAllowed,
    WindowClosed,
)
from models.after_sales_ledger import (
    RefundBreakdown,
    RefundLedger,
    clean_quantities,
    refund_quote,
)
from models.after_sales_machine import (
    DEADLINE_ACTIONS,
    FINAL_STATUSES,
    NEXT_ACTION_OF_STATUS,
    OPEN_STATUSES,
    REJECT_REASONS,
    REQUEST_REASONS,
    SELLER_REJECTION_ACTIONS,
    TAB_OF_STATUS,
    TRANSITIONS,
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleNotificationKind,
    AfterSaleOutcome,
    AfterSaleRequest,
    AfterSaleStatus,
    AfterSaleTab,
    Appeal,
    DeadlineRule,
    Decision,
    DecisionType,
    Initiator,
    LineEligibility,
    NextAction,
    Rejection,
    Shipment,
    TimelineRecord,
    Transition,
    sources_of,
    transition_for,
)
from models.after_sales_reasons import (
    APPEAL_DECIDED_FOR_BUYER,
    APPEAL_DECIDED_FOR_SELLER,
    APPEAL_REASONS,
    APPEAL_WINDOW_PASSED,
    BUYER_RETURN_WINDOW_PASSED,
    INSTANT_REFUND_CATEGORY,
    NOT_RECEIVED,
    PLATFORM_REFUND_REASONS,
    RECEIPT_REJECT_REASONS,
    REPLACEMENT_APPROVE_REASONS,
    REPLACEMENT_DELIVERED,
    SECOND_REQUEST_SUBMITTED,
    SELLER_RECEIPT_WINDOW_PASSED,
    SELLER_REFUND_REASONS,
    SELLER_RESPONSE_WINDOW_PASSED,
    display_text,
)
from models.errors import InvalidTransition, NotPending, ResponseWindowClosed, ValidationFailed
from models.money import Money
from models.notifications import Notification, Recipient
from models.orders import FulfilmentState, LineItem, Order, PaymentState
from models.policy import CategoryPolicy, PolicyBook
from models.reasons import clean_comment, require_reason

__all__ = [
    "DEADLINE_ACTIONS",
    "FINAL_STATUSES",
    "INSTANT_REFUNDER",
    "NEXT_ACTION_OF_STATUS",
    "NOT_RECEIVED_AFTER",
    "OPEN_STATUSES",
    "REJECT_REASONS",
    "REQUEST_REASONS",
    "SELLER_REJECTION_ACTIONS",
    "TAB_OF_STATUS",
    "TRANSITIONS",
    "AfterSaleAction",
    "AfterSaleKind",
    "AfterSaleNotificationKind",
    "AfterSaleOutcome",
    "AfterSaleRequest",
    "AfterSaleStatus",
    "AfterSaleTab",
    "Appeal",
    "DeadlineRule",
    "Decision",
    "DecisionType",
    "Initiator",
    "LineEligibility",
    "NextAction",
    "RefundBreakdown",
    "RefundLedger",
    "Rejection",
    "Shipment",
    "TimelineRecord",
    "Transition",
    "act_on_deadline",
    "appeal",
    "approve",
    "auto_approve",
    "auto_confirm_receipt",
    "confirm_receipt",
    "decide_for_buyer",
    "decide_for_seller",
    "expire_return",
    "finalize_rejection",
    "line_eligibility",
    "quote_for_request",
    "refund_by_platform",
    "refund_by_seller",
    "refund_quote",
    "reject",
    "reject_on_receipt",
    "replacement_delivered",
    "request_by_buyer",
    "ship_replacement",
    "ship_return",
    "sources_of",
    "transition_for",
    "withdraw",
]

_K = AfterSaleKind
_S = AfterSaleStatus
_A = AfterSaleAction

# R1: an order with the carrier this long after it was shipped counts as never received.
NOT_RECEIVED_AFTER = timedelta(days=10)

CARRIER_MAX_LENGTH = 100


# The platform actor that pays instant refunds (R10), as the expiry worker acts on deadlines.
INSTANT_REFUNDER = Actor(ActorKind.PLATFORM, "instant-refund")


# --- State machine plumbing ---------------------------------------------------------------


def _wrong_state(r: AfterSaleRequest, action: AfterSaleAction) -> InvalidTransition:
    sources = sources_of(action)
    allowed = ", ".join(sorted(s.value for s in sources if s is not None))
    message = (
        f"cannot {action.value} request {r.id}: it is {r.status.value} "
        f"({action.value} is for {allowed})"
    )
    if sources == {_S.PENDING_SELLER}:
        return NotPending(message, current_state=r.status.value, field="requestId")
    return InvalidTransition(message, current_state=r.status.value, field="requestId")


def _start(r: AfterSaleRequest, order: Order, action: AfterSaleAction, actor: Actor) -> None:
    """Check the request may take this action now from its state, by this kind of actor."""
    if order.id != r.order_id:
        raise ValueError(f"{r.id} belongs to order {r.order_id}, not {order.id}")
    edges = [t for t in TRANSITIONS if t.action is action and t.source is r.status]
    if not edges or not any(r.kind in t.kinds for t in edges):
        raise _wrong_state(r, action)
    actors = frozenset().union(*(t.actors for t in edges))
    if actor.kind not in actors:
        raise InvalidTransition(
            f"{action.value} is for {', '.join(sorted(k.value for k in actors))}, "
            f"not {actor.kind.value}",
            current_state=r.status.value,
            field="requestId",
        )


def _check_create(action: AfterSaleAction, actor: Actor, kind: AfterSaleKind) -> None:
    edges = [t for t in TRANSITIONS if t.action is action and t.source is None]
    actors = frozenset().union(*(t.actors for t in edges))
    if actor.kind not in actors:
        raise InvalidTransition(
            f"{action.value} is for {', '.join(sorted(k.value for k in actors))}, "
            f"not {actor.kind.value}",
            current_state="NONE",
        )
    if not any(kind in t.kinds for t in edges):
        raise InvalidTransition(f"{action.value} cannot open a {kind.value}", current_state="NONE")


def _record(
    r: AfterSaleRequest | None,
    kind: AfterSaleKind,
    action: AfterSaleAction,
    target: AfterSaleStatus,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
    comment: str | None = None,
    deadline: datetime | None = None,
) -> TimelineRecord:
    """The record of one step, only if `TRANSITIONS` has it for this actor kind and request kind."""
    source = r.status if r is not None else None
    edge = transition_for(action, source, target)
    if edge is None or actor.kind not in edge.actors or kind not in edge.kinds:
        raise InvalidTransition(
            f"{action.value} from {source.value if source else 'NONE'} to {target.value} "
            f"by {actor.kind.value} is not a step of a {kind.value}",
            current_state=source.value if source else "NONE",
        )
    return TimelineRecord(
        now, actor.kind, actor.id, action, source, target, reason, comment, deadline
    )


def _move(
    r: AfterSaleRequest,
    action: AfterSaleAction,
    target: AfterSaleStatus,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    comment: str | None = None,
    acted_on: datetime | None = None,
    deadline: datetime | None = None,
    **changes: object,
) -> tuple[AfterSaleRequest, TimelineRecord]:
    """The request after one step of `TRANSITIONS`, with the step's record appended."""
    record = _record(r, r.kind, action, target, actor, now, reason, comment, acted_on)
    resolved = now if target in FINAL_STATUSES else None
    moved = replace(
        r,
        status=target,
        deadline=deadline,
        resolved_at=resolved,
        timeline=(*r.timeline, record),
        **changes,  # type: ignore[arg-type]
    )
    return moved, record


def _before_deadline(r: AfterSaleRequest, now: datetime) -> None:
    """The side that must act may do so only while its window is open."""
    if r.deadline is None or now < r.deadline:
        return
    when = r.deadline.isoformat()
    if r.status is _S.PENDING_SELLER:
        raise ResponseWindowClosed(
            f"the seller's response window for {r.id} closed at {when}; the platform approves it",
            deadline=r.deadline,
        )
    codes = {
        _S.AWAITING_BUYER_RETURN: "RETURN_SHIPPING_WINDOW_CLOSED",
        _S.RETURN_IN_TRANSIT: "RECEIPT_WINDOW_CLOSED",
        _S.REJECTED: "APPEAL_WINDOW_CLOSED",
    }
    raise WindowClosed(
        f"the window for {r.id} ({r.status.value}) closed at {when}",
        code=codes[r.status],
        deadline=r.deadline,
    )


def _at_deadline(r: AfterSaleRequest, now: datetime) -> datetime:
    if r.deadline is None or now < r.deadline:
        raise DeadlineNotReached(
            f"{r.id} is {r.status.value}; its deadline is {r.deadline}, not yet reached",
            current_state=r.status.value,
            deadline=r.deadline,
        )
    return r.deadline


# --- Notifications ----------------------------------------------------------------------------

_N = AfterSaleNotificationKind

_SUBJECT = {
    _K.REFUND_ONLY: "refund request",
    _K.RETURN_AND_REFUND: "return and refund request",
    _K.REPLACEMENT: "replacement request",
}


def _notification(
    recipient: Recipient, to: str, r: AfterSaleRequest, kind: _N, text: str, now: datetime
) -> Notification:
    # Notification.kind is typed NotificationKind (cancellations); these kinds belong there too.
    return Notification(recipient, to, kind, r.order_id, r.id, text, now)  # type: ignore[arg-type]


def _to_buyer(r: AfterSaleRequest, kind: _N, text: str, now: datetime) -> Notification:
    return _notification(Recipient.BUYER, r.buyer_id, r, kind, text, now)


def _to_shop(r: AfterSaleRequest, kind: _N, text: str, now: datetime) -> Notification:
    return _notification(Recipient.SHOP, r.shop_id, r, kind, text, now)


def _refunded_note(r: AfterSaleRequest, now: datetime) -> Notification:
    amount = r.refund.total if r.refund else Money.zero(r.currency)
    return _to_buyer(
        r,
        _N.AFTER_SALE_REFUNDED,
        f"A refund of {amount} for order {r.order_id} is on its way.",
        now,
    )


def _outcome_notes(r: AfterSaleRequest, now: datetime, *, shop: bool) -> tuple[Notification, ...]:
    """What the buyer (and, for a platform move, the shop) hears when a request moves on."""
    notes: list[Notification] = []
    if r.status is _S.REFUNDED:
        notes.append(_refunded_note(r, now))
    elif r.status is _S.AWAITING_BUYER_RETURN:
        notes.append(
            _to_buyer(
                r,
                _N.AFTER_SALE_APPROVED,
                f"Your {_SUBJECT[r.kind]} for order {r.order_id} was approved: ship the item "
                f"back by {r.deadline:%Y-%m-%d %H:%M} UTC.",
                now,
            )
        )
    elif r.status is _S.AWAITING_REPLACEMENT_SHIPMENT:
        notes.append(
            _to_buyer(
                r,
                _N.AFTER_SALE_APPROVED,
                f"Your replacement for order {r.order_id} was approved; the seller ships it next.",
                now,
            )
        )
    if shop:
        notes.append(
            _to_shop(
                r,
                _N.AFTER_SALE_APPROVED if r.status is not _S.REFUNDED else _N.AFTER_SALE_REFUNDED,
                f"The platform moved the {_SUBJECT[r.kind]} {r.id} of order {r.order_id} "
                f"to {r.status.value}.",
                now,
            )
        )
    return tuple(notes)


# --- Orders and money -------------------------------------------------------------------------


def _snapshot(order: Order, quantities: Mapping[str, int]) -> tuple[LineItem, ...]:
    return tuple(
        replace(line, quantity=quantities[line.line_id])
        for line in order.lines
        if line.line_id in quantities
    )


def _order_after(order: Order, ledger: RefundLedger) -> Order:
    """The order with what has been refunded on it (fully refunded: payment state REFUNDED)."""
    refunded = ledger.refunded_total
    paid = order.amount_paid
    payment_state = order.payment_state
    if paid.minor > 0 and refunded == paid:
        payment_state = PaymentState.REFUNDED
    return replace(order, refunded=refunded, payment_state=payment_state)


def _refund_breakdown(order: Order, ledger: RefundLedger, decision: Decision) -> RefundBreakdown:
    """What the decision pays now: the same quote as `refund_quote`, a partial amount capped."""
    quantities = decision.quantities
    partial = decision.partial_amount
    if partial is not None:
        refundable = refund_quote(order, ledger, quantities).items
        if refundable.minor == 0:
            return RefundBreakdown.zero(order.currency)
        partial = partial if partial <= refundable else refundable
    return refund_quote(order, ledger, quantities, partial)


def _pay(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, decision: Decision, now: datetime
) -> tuple[RefundBreakdown, RefundLedger | None, Order]:
    if ledger.order_id != order.id:
        raise ValueError(f"the ledger of {ledger.order_id} is not the ledger of order {order.id}")
    refund = _refund_breakdown(order, ledger, decision)
    if refund.total.minor == 0:
        return refund, None, order
    new_ledger = ledger.with_refund(order, r.id, refund, now)
    return refund, new_ledger, _order_after(order, new_ledger)


def quote_for_request(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> RefundBreakdown:
    """What the request paid, or would pay if refunded now, as decided or as asked."""
    if r.refund is not None:
        return r.refund
    decision = r.decision or _default_decision(r, r.requested_at, ActorKind.PLATFORM)
    if decision.type is DecisionType.APPROVE_REPLACEMENT:
        return RefundBreakdown.zero(order.currency)
    return _refund_breakdown(order, ledger, decision)


# --- Who may ask for what (R1, R5, P1) --------------------------------------------------------


def _check_existing(order: Order, existing: Sequence[AfterSaleRequest]) -> None:
    for other in existing:
        if other.order_id != order.id:
            raise ValueError(f"{other.id} belongs to order {other.order_id}, not {order.id}")


def _request_window(
    order: Order, kind: AfterSaleKind, policy: CategoryPolicy, now: datetime
) -> datetime:
    """The end of the buyer's window for this kind, or the refusal that says why there is none."""
    if order.fulfilment_state is FulfilmentState.DELIVERED and order.delivered_at is not None:
        ends = order.delivered_at + policy.return_refund_window
    elif (
        kind is _K.REFUND_ONLY
        and order.fulfilment_state is FulfilmentState.IN_TRANSIT
        and order.shipped_at is not None
        and order.amount_paid.minor > 0
    ):
        expected = order.shipped_at + NOT_RECEIVED_AFTER
        if now < expected:
            raise AfterSaleRefused(
                f"order {order.id} is on its way; if it has not arrived by "
                f"{expected:%Y-%m-%d %H:%M} UTC, ask for a refund as not received",
                code=NOT_DELIVERED,
            )
        ends = expected + policy.return_refund_window
    else:
        what = "a refund" if kind is _K.REFUND_ONLY else "a return or replacement"
        raise AfterSaleRefused(
            f"order {order.id} is {order.fulfilment_state.value}; {what} can be asked for "
            "once it is delivered",
            code=NOT_DELIVERED,
        )
    if now >= ends:
        raise AfterSaleRefused(
            f"the return/refund window of order {order.id} closed at {ends:%Y-%m-%d %H:%M} UTC",
            code=WINDOW_PASSED,
            window_ends_at=ends,
        )
    return ends


def _rejection_events(existing: Sequence[AfterSaleRequest]) -> int:
    return sum(r.seller_rejections for r in existing)


def _last_rejected(existing: Sequence[AfterSaleRequest]) -> str | None:
    """R5: the request a second request follows, the one the seller rejected last."""
    rejections = [
        (record.at, r.id)
        for r in existing
        for record in r.timeline
        if record.action in SELLER_REJECTION_ACTIONS
    ]
    return max(rejections)[1] if rejections else None


def _supersedable(
    existing: Sequence[AfterSaleRequest], line_ids: Sequence[str]
) -> list[AfterSaleRequest]:
    """R5: the appealable rejections a new buyer request on these lines would close."""
    return [r for r in existing if r.status is _S.REJECTED and set(r.covered) & set(line_ids)]


def _held(line_id: str, existing: Sequence[AfterSaleRequest], ignore: set[str]) -> int:
    return sum(r.covered.get(line_id, 0) for r in existing if r.holds_units and r.id not in ignore)


def _available(
    order: Order, line_id: str, existing: Sequence[AfterSaleRequest], ignore: set[str]
) -> int:
    bought = next(line.quantity for line in order.lines if line.line_id == line_id)
    return max(0, bought - _held(line_id, existing, ignore))


def _refuse_open_and_used(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    quantities: Mapping[str, int],
    ignore: set[str],
) -> None:
    for line_id in quantities:
        blocking = [r for r in existing if r.is_open and line_id in r.covered]
        if blocking:
            raise AfterSaleRefused(
                f"line {line_id} of order {order.id} already has an open request "
                f"({blocking[0].id}, {blocking[0].status.value})",
                code=ALREADY_REQUESTED,
                line_ids=[line_id],
                existing_id=blocking[0].id,
            )
    for line_id, quantity in quantities.items():
        available = _available(order, line_id, existing, ignore)
        if quantity > available:
            raise AfterSaleRefused(
                f"line {line_id} of order {order.id} has {available} left to ask about, "
                f"not {quantity}",
                code=QUANTITY_USED_UP,
                line_ids=[line_id],
            )


def _buyer_may_ask(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    kind: AfterSaleKind,
    quantities: Mapping[str, int],
    policy: CategoryPolicy,
    now: datetime,
) -> tuple[datetime, list[AfterSaleRequest]]:
    """R1, R5, P1 in the order the buyer's app explains them; the window end and what it closes."""
    ends = _request_window(order, kind, policy, now)
    if _rejection_events(existing) >= 2:
        raise AfterSaleRefused(
            f"the seller rejected two requests on order {order.id}; only an appeal is possible",
            code=SECOND_REJECTION_ONLY_APPEAL,
        )
    superseded = _supersedable(existing, list(quantities))
    _refuse_open_and_used(order, existing, quantities, {r.id for r in superseded})
    return ends, superseded


def line_eligibility(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    book: PolicyBook,
    now: datetime,
) -> tuple[LineEligibility, ...]:
    """For each line and each kind: may the buyer ask now, how many, until when, or why not."""
    _check_existing(order, existing)
    out: list[LineEligibility] = []
    for line in order.lines:
        policy = book.for_category(line.category)
        superseded = {r.id for r in _supersedable(existing, [line.line_id])}
        available = _available(order, line.line_id, existing, superseded)
        for kind in AfterSaleKind:
            try:
                ends, _ = _buyer_may_ask(order, existing, kind, {line.line_id: 1}, policy, now)
            except AfterSaleRefused as refusal:
                out.append(
                    LineEligibility(
                        line.line_id,
                        kind,
                        False,
                        refusal.code,
                        refusal.message,
                        available,
                        refusal.window_ends_at,
                    )
                )
                continue
            out.append(
                LineEligibility(
                    line.line_id,
                    kind,
                    True,
                    None,
                    f"Up to {available} may be asked about until {ends:%Y-%m-%d %H:%M} UTC.",
                    available,
                    ends,
                )
            )
    return tuple(out)


# --- Opening a request ------------------------------------------------------------------------


def request_by_buyer(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    ledger: RefundLedger,
    actor: Actor,
    kind: AfterSaleKind,
    lines: Mapping[str, int],
    reason: str,
    note: str | None,
    policy: CategoryPolicy,
    now: datetime,
    new_id: str,
) -> AfterSaleOutcome:
    """R1, P1: the buyer asks about some lines and quantities; R5 links a second request; R10 pays
    a refund-only request in an instant-refund category at once.

    `existing` is every after-sale request of the order; `policy` the one for the lines' categories
    (`PolicyBook.for_order`), kept on the request (Y1).
    """
    _check_create(_A.REQUEST, actor, kind)
    require_reason(REQUEST_REASONS[kind], reason)
    note = clean_comment(note, field="note")
    quantities = clean_quantities(order, lines)
    _check_existing(order, existing)
    _, superseded = _buyer_may_ask(order, existing, kind, quantities, policy, now)
    if order.fulfilment_state is not FulfilmentState.DELIVERED and reason != NOT_RECEIVED:
        raise AfterSaleRefused(
            f"order {order.id} was not delivered: only a refund as not received is possible",
            code=NOT_DELIVERED,
        )
    follows = _last_rejected(existing)

    r = AfterSaleRequest(
        id=new_id,
        order_id=order.id,
        shop_id=order.shop_id,
        buyer_id=order.buyer_id,
        kind=kind,
        initiator=Initiator.BUYER,
        status=_S.PENDING_SELLER,
        lines=_snapshot(order, quantities),
        reason=reason,
        note=note,
        currency=order.currency,
        policy=policy,
        requested_at=now,
        follows_id=follows,
    )
    record = _record(None, kind, _A.REQUEST, _S.PENDING_SELLER, actor, now, reason, note)
    r = replace(r, timeline=(record,), deadline=now + policy.seller_response_window)

    closed: list[AfterSaleRequest] = []
    for old in superseded:
        moved, _ = _move(
            old, _A.SUPERSEDE, _S.CLOSED_FINAL, actor, now, reason=SECOND_REQUEST_SUBMITTED
        )
        closed.append(moved)

    if kind is _K.REFUND_ONLY and policy.instant_refund:
        decision = Decision(
            DecisionType.APPROVE_REFUND,
            r.lines,
            True,
            None,
            INSTANT_REFUND_CATEGORY,
            None,
            now,
            ActorKind.PLATFORM,
        )
        refund, new_ledger, new_order = _pay(r, order, ledger, decision, now)
        paid, second = _move(
            r,
            _A.INSTANT_REFUND,
            _S.REFUNDED,
            INSTANT_REFUNDER,
            now,
            reason=INSTANT_REFUND_CATEGORY,
            decision=decision,
            refund=refund,
        )
        notes = (
            _refunded_note(paid, now),
            _to_shop(
                paid,
                _N.AFTER_SALE_REFUNDED,
                f"The platform refunded {refund.total} on order {order.id} at once "
                "(instant-refund category).",
                now,
            ),
        )
        return AfterSaleOutcome(
            paid, new_order, (record, second), notes, None, new_ledger, tuple(closed)
        )

    second_time = " (a second request)" if follows else ""
    notes = (
        _to_shop(
            r,
            _N.AFTER_SALE_REQUESTED,
            f"New {_SUBJECT[kind]}{second_time} for order {order.id}; answer by "
            f"{r.deadline:%Y-%m-%d %H:%M} UTC.",
            now,
        ),
    )
    return AfterSaleOutcome(r, order, (record,), notes, None, None, tuple(closed))


def _initiated_refund(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    ledger: RefundLedger,
    actor: Actor,
    action: AfterSaleAction,
    initiator: Initiator,
    reason: str,
    comment: str | None,
    policy: CategoryPolicy,
    now: datetime,
    new_id: str,
    lines: Mapping[str, int] | None,
    partial_amount: Money | None,
) -> AfterSaleOutcome:
    _check_create(action, actor, _K.REFUND_ONLY)
    comment = clean_comment(comment)
    _check_existing(order, existing)
    if order.fulfilment_state not in (FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED):
        raise AfterSaleRefused(
            f"order {order.id} is {order.fulfilment_state.value}: before it is handed to the "
            "carrier, cancel it instead",
            code=NOT_SHIPPED,
        )
    if lines is None:
        quantities = {
            line.line_id: n
            for line in order.lines
            if (n := _available(order, line.line_id, existing, set())) > 0
        }
        if not quantities:
            raise AfterSaleRefused(
                f"every unit of order {order.id} is already refunded or requested",
                code=QUANTITY_USED_UP,
                line_ids=[line.line_id for line in order.lines],
            )
    else:
        quantities = clean_quantities(order, lines)
    _refuse_open_and_used(order, existing, quantities, set())
    decision = Decision(
        DecisionType.APPROVE_REFUND
        if partial_amount is None
        else DecisionType.OFFER_PARTIAL_REFUND,
        _snapshot(order, quantities),
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
        id=new_id,
        order_id=order.id,
        shop_id=order.shop_id,
        buyer_id=order.buyer_id,
        kind=_K.REFUND_ONLY,
        initiator=initiator,
        status=_S.REFUNDED,
        lines=decision.lines,
        reason=reason,
        note=comment,
        currency=order.currency,
        policy=policy,
        requested_at=now,
        decision=decision,
    )
    refund, new_ledger, new_order = _pay(r, order, ledger, decision, now)
    if new_ledger is None:
        raise AfterSaleRefused(
            f"nothing is left to refund on these lines of order {order.id}",
            code=NOTHING_TO_REFUND,
            line_ids=list(quantities),
        )
    record = _record(None, _K.REFUND_ONLY, action, _S.REFUNDED, actor, now, reason, comment)
    r = replace(r, refund=refund, resolved_at=now, timeline=(record,))
    notes: list[Notification] = [_refunded_note(r, now)]
    if initiator is Initiator.PLATFORM:
        notes.append(
            _to_shop(
                r,
                _N.AFTER_SALE_REFUNDED,
                f"The platform refunded {refund.total} on order {order.id}: "
                f"{display_text(reason)}.",
                now,
            )
        )
    return AfterSaleOutcome(r, new_order, (record,), tuple(notes), None, new_ledger)


def refund_by_seller(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    ledger: RefundLedger,
    actor: Actor,
    reason: str,
    comment: str | None,
    policy: CategoryPolicy,
    now: datetime,
    new_id: str,
    *,
    lines: Mapping[str, int] | None = None,
    partial_amount: Money | None = None,
) -> AfterSaleOutcome:
    """R9: the seller refunds without a buyer's request (pricing error, shortage, logistics).

    Every unit still free of requests unless `lines` says which; in full unless `partial_amount`.
    """
    require_reason(SELLER_REFUND_REASONS, reason)
    return _initiated_refund(
        order,
        existing,
        ledger,
        actor,
        _A.SELLER_REFUND,
        Initiator.SELLER,
        reason,
        comment,
        policy,
        now,
        new_id,
        lines,
        partial_amount,
    )


def refund_by_platform(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    ledger: RefundLedger,
    actor: Actor,
    reason: str,
    comment: str | None,
    policy: CategoryPolicy,
    now: datetime,
    new_id: str,
    *,
    lines: Mapping[str, int] | None = None,
    partial_amount: Money | None = None,
) -> AfterSaleOutcome:
    """R10: the platform refunds without the seller; the shop is told the final state."""
    require_reason(PLATFORM_REFUND_REASONS, reason)
    return _initiated_refund(
        order,
        existing,
        ledger,
        actor,
        _A.PLATFORM_REFUND,
        Initiator.PLATFORM,
        reason,
        comment,
        policy,
        now,
        new_id,
        lines,
        partial_amount,
    )


# --- The seller's answer (R3, R4, R7, P2, P3) -------------------------------------------------


def _default_decision(r: AfterSaleRequest, now: datetime, by: ActorKind) -> Decision:
    """The request as asked: what silence (R3) or a mediator for the buyer (R6) approves."""
    kind_to_type = {
        _K.REFUND_ONLY: DecisionType.APPROVE_REFUND,
        _K.RETURN_AND_REFUND: DecisionType.APPROVE_RETURN,
        _K.REPLACEMENT: DecisionType.APPROVE_REPLACEMENT,
    }
    decision_type = kind_to_type[r.kind]
    return Decision(
        decision_type,
        r.lines,
        decision_type is DecisionType.APPROVE_REFUND,
        None,
        None,
        None,
        now,
        by,
    )


def _needs_return(r: AfterSaleRequest, decision: Decision) -> bool:
    if decision.buyer_keeps_item:
        return False
    if decision.type is DecisionType.APPROVE_RETURN:
        return True
    if decision.type is DecisionType.APPROVE_REPLACEMENT:
        return r.policy.replacement_needs_item_back  # P2, from the request's own policy (Y1)
    return False


def _target_of(r: AfterSaleRequest, decision: Decision, item_back: bool) -> AfterSaleStatus:
    """Where a decision takes the request; `item_back`: the buyer has already shipped it back."""
    if decision.type is DecisionType.APPROVE_REPLACEMENT:
        if _needs_return(r, decision) and not item_back:
            return _S.AWAITING_BUYER_RETURN
        return _S.AWAITING_REPLACEMENT_SHIPMENT
    if _needs_return(r, decision) and not item_back:
        return _S.AWAITING_BUYER_RETURN
    return _S.REFUNDED


def _decision(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    decision_type: DecisionType,
    lines: Mapping[str, int] | None,
    buyer_keeps_item: bool,
    partial_amount: Money | None,
    reason: str | None,
    comment: str | None,
    now: datetime,
) -> Decision:
    if decision_type is DecisionType.APPROVE_REPLACEMENT and r.kind is not _K.REPLACEMENT:
        raise DecisionNotAllowed(
            f"{r.id} asks for money back; a replacement cannot be imposed on the buyer"
        )
    if (
        decision_type in (DecisionType.APPROVE_RETURN, DecisionType.APPROVE_REPLACEMENT)
        and order.fulfilment_state is not FulfilmentState.DELIVERED
    ):
        raise DecisionNotAllowed(
            f"order {order.id} was not delivered: there is nothing to return or replace"
        )
    if decision_type is DecisionType.APPROVE_REPLACEMENT:
        if reason is None:
            raise ValidationFailed("approving a replacement needs a reason type", field="reason")
        require_reason(REPLACEMENT_APPROVE_REASONS, reason)
        if partial_amount is not None:
            raise DecisionNotAllowed("a replacement pays no money; approve a refund instead")
    elif reason is not None:
        raise ValidationFailed(
            f"{decision_type.value} takes no reason type (the decision is the reason)",
            field="reason",
        )
    if decision_type is DecisionType.OFFER_PARTIAL_REFUND and partial_amount is None:
        raise ValidationFailed("a partial refund needs an amount", field="amount")
    comment = clean_comment(comment)

    asked = r.quantities
    quantities = asked if lines is None else clean_quantities(order, lines)
    for line_id, quantity in quantities.items():
        if quantity > asked.get(line_id, 0):
            raise ValidationFailed(
                f"{r.id} asks about {asked.get(line_id, 0)} of line {line_id}; "
                f"{quantity} cannot be approved",
                field="lines",
            )
    if partial_amount is not None:
        refund_quote(
            order, ledger, quantities, partial_amount
        )  # R7: positive, not above refundable
    keeps = buyer_keeps_item or decision_type in (
        DecisionType.APPROVE_REFUND,
        DecisionType.OFFER_PARTIAL_REFUND,
    )
    return Decision(
        decision_type,
        _snapshot(order, quantities),
        keeps,
        partial_amount,
        reason,
        comment,
        now,
        actor.kind,
    )


def _carry_out(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    decision: Decision,
    action: AfterSaleAction,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None,
    comment: str | None,
    acted_on: datetime | None,
    **changes: object,
) -> AfterSaleOutcome:
    """Move the request where the decision takes it, paying the refund if that is where."""
    item_back = r.return_shipment is not None
    target = _target_of(r, decision, item_back)
    new_ledger, new_order = None, order
    extra: dict[str, object] = {"decision": decision, **changes}
    deadline = None
    if target is _S.REFUNDED:
        refund, new_ledger, new_order = _pay(r, order, ledger, decision, now)
        extra["refund"] = refund
    elif target is _S.AWAITING_BUYER_RETURN:
        deadline = now + r.policy.buyer_return_shipping_window
    moved, record = _move(
        r,
        action,
        target,
        actor,
        now,
        reason=reason,
        comment=comment,
        acted_on=acted_on,
        deadline=deadline,
        **extra,
    )
    notes = _outcome_notes(moved, now, shop=actor.kind is ActorKind.PLATFORM)
    return AfterSaleOutcome(moved, new_order, (record,), notes, r.status, new_ledger)


def approve(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    decision: DecisionType,
    now: datetime,
    *,
    lines: Mapping[str, int] | None = None,
    buyer_keeps_item: bool = False,
    partial_amount: Money | None = None,
    reason: str | None = None,
    comment: str | None = None,
) -> AfterSaleOutcome:
    """R7, P2: the seller approves with a decision, maybe for fewer lines, maybe for less money."""
    _start(r, order, _A.APPROVE, actor)
    _before_deadline(r, now)
    d = _decision(
        r,
        order,
        ledger,
        actor,
        decision,
        lines,
        buyer_keeps_item,
        partial_amount,
        reason,
        comment,
        now,
    )
    return _carry_out(
        r,
        order,
        ledger,
        d,
        _A.APPROVE,
        actor,
        now,
        reason=reason or decision.value,
        comment=d.comment,
        acted_on=None,
    )


def auto_approve(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R3: the seller did not answer within the response window; the platform approves as asked."""
    _start(r, order, _A.AUTO_APPROVE, actor)
    deadline = _at_deadline(r, now)
    decision = _default_decision(r, now, actor.kind)
    return _carry_out(
        r,
        order,
        ledger,
        decision,
        _A.AUTO_APPROVE,
        actor,
        now,
        reason=SELLER_RESPONSE_WINDOW_PASSED,
        comment=None,
        acted_on=deadline,
    )


def reject(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    now: datetime,
) -> AfterSaleOutcome:
    """R4, P3: a reason from the kind's catalogue; a comment, required for a replacement (P3)."""
    _start(r, order, _A.REJECT, actor)
    require_reason(REJECT_REASONS[r.kind], reason)
    comment = clean_comment(comment)
    if r.kind is _K.REPLACEMENT and comment is None:
        raise ValidationFailed("rejecting a replacement needs a comment", field="comment")
    _before_deadline(r, now)
    return _rejected(r, order, actor, _A.REJECT, reason, comment, now, on_receipt=False)


def _rejected(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    action: AfterSaleAction,
    reason: str,
    comment: str | None,
    now: datetime,
    *,
    on_receipt: bool,
) -> AfterSaleOutcome:
    appeal_by = now + r.policy.appeal_window
    changes: dict[str, object] = {"rejection": Rejection(reason, comment, now, on_receipt)}
    if on_receipt and r.return_shipment is not None:
        changes["return_shipment"] = replace(r.return_shipment, received_at=now)
    moved, record = _move(
        r,
        action,
        _S.REJECTED,
        actor,
        now,
        reason=reason,
        comment=comment,
        deadline=appeal_by,
        **changes,
    )
    what = "the returned item" if on_receipt else f"your {_SUBJECT[r.kind]}"
    notes = (
        _to_buyer(
            moved,
            _N.AFTER_SALE_REJECTED,
            f"The seller rejected {what} for order {r.order_id}: {display_text(reason)}. "
            f"You may appeal until {appeal_by:%Y-%m-%d %H:%M} UTC.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


def withdraw(r: AfterSaleRequest, order: Order, actor: Actor, now: datetime) -> AfterSaleOutcome:
    """The buyer takes back a request the seller has not answered, or a return not yet shipped."""
    _start(r, order, _A.WITHDRAW, actor)
    _before_deadline(r, now)
    moved, record = _move(r, _A.WITHDRAW, _S.WITHDRAWN, actor, now)
    notes = (
        _to_shop(
            moved,
            _N.AFTER_SALE_WITHDRAWN,
            f"The buyer withdrew the {_SUBJECT[r.kind]} {r.id} for order {r.order_id}.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


# --- Appeals (R5, R6) -------------------------------------------------------------------------


def appeal(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    now: datetime,
) -> AfterSaleOutcome:
    """R5, R6: the buyer appeals a rejection within the appeal window; the platform mediates."""
    _start(r, order, _A.APPEAL, actor)
    require_reason(APPEAL_REASONS, reason)
    comment = clean_comment(comment)
    _before_deadline(r, now)
    moved, record = _move(
        r,
        _A.APPEAL,
        _S.APPEALED,
        actor,
        now,
        reason=reason,
        comment=comment,
        appeal=Appeal(reason, comment, now),
    )
    notes = (
        _to_shop(
            moved,
            _N.APPEAL_OPENED,
            f"The buyer appealed your rejection of {r.id} (order {r.order_id}); "
            "the platform will mediate.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


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
    _start(r, order, _A.DECIDE_FOR_BUYER, actor)
    note = _require_note(note)
    decision = r.decision or _default_decision(r, now, actor.kind)
    out = _carry_out(
        r,
        order,
        ledger,
        decision,
        _A.DECIDE_FOR_BUYER,
        actor,
        now,
        reason=APPEAL_DECIDED_FOR_BUYER,
        comment=note,
        acted_on=None,
        appeal=_decided(r.appeal, True, note, now),
    )
    told = (
        _to_buyer(
            out.request,
            _N.APPEAL_DECIDED,
            f"The platform decided your appeal on order {r.order_id} for you: {note}",
            now,
        ),
    )
    return replace(out, notifications=told + out.notifications)


def decide_for_seller(
    r: AfterSaleRequest, order: Order, actor: Actor, note: str, now: datetime
) -> AfterSaleOutcome:
    """R6: the mediator decides for the seller: the request closes."""
    _start(r, order, _A.DECIDE_FOR_SELLER, actor)
    note = _require_note(note)
    moved, record = _move(
        r,
        _A.DECIDE_FOR_SELLER,
        _S.DECIDED_FOR_SELLER,
        actor,
        now,
        reason=APPEAL_DECIDED_FOR_SELLER,
        comment=note,
        appeal=_decided(r.appeal, False, note, now),
    )
    notes = (
        _to_buyer(
            moved,
            _N.APPEAL_DECIDED,
            f"The platform decided your appeal on order {r.order_id} for the seller: {note}",
            now,
        ),
        _to_shop(
            moved,
            _N.APPEAL_DECIDED,
            f"The platform decided the appeal on {r.id} (order {r.order_id}) for you.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


def finalize_rejection(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R5: the appeal window passed without an appeal; the rejection is final."""
    _start(r, order, _A.FINALIZE_REJECTION, actor)
    deadline = _at_deadline(r, now)
    moved, record = _move(
        r,
        _A.FINALIZE_REJECTION,
        _S.CLOSED_FINAL,
        actor,
        now,
        reason=APPEAL_WINDOW_PASSED,
        acted_on=deadline,
    )
    notes = (
        _to_buyer(
            moved,
            _N.AFTER_SALE_CLOSED,
            f"The rejection of your {_SUBJECT[r.kind]} for order {r.order_id} is final.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


# --- Return shipping (R8, P2) -----------------------------------------------------------------


def _clean_text(value: str, field: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise ValidationFailed(f"{field} is required", field=field)
    if len(cleaned) > CARRIER_MAX_LENGTH:
        raise ValidationFailed(f"{field} is at most {CARRIER_MAX_LENGTH} characters", field=field)
    return cleaned


def ship_return(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    carrier: str,
    tracking_number: str,
    now: datetime,
) -> AfterSaleOutcome:
    """R8: the buyer ships the item back within the return-shipping window."""
    _start(r, order, _A.SHIP_RETURN, actor)
    shipment = Shipment(
        _clean_text(carrier, "carrier"), _clean_text(tracking_number, "trackingNumber"), now
    )
    _before_deadline(r, now)
    confirm_by = now + r.policy.seller_receipt_window
    moved, record = _move(
        r,
        _A.SHIP_RETURN,
        _S.RETURN_IN_TRANSIT,
        actor,
        now,
        comment=f"{shipment.carrier} {shipment.tracking_number}",
        deadline=confirm_by,
        return_shipment=shipment,
    )
    notes = (
        _to_shop(
            moved,
            _N.RETURN_SHIPPED,
            f"The buyer shipped the return for {r.id} (order {r.order_id}) with "
            f"{shipment.carrier}, tracking {shipment.tracking_number}; confirm receipt by "
            f"{confirm_by:%Y-%m-%d %H:%M} UTC.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


def expire_return(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the buyer did not ship the return within the window; the request closes."""
    _start(r, order, _A.EXPIRE_RETURN, actor)
    deadline = _at_deadline(r, now)
    moved, record = _move(
        r,
        _A.EXPIRE_RETURN,
        _S.RETURN_EXPIRED,
        actor,
        now,
        reason=BUYER_RETURN_WINDOW_PASSED,
        acted_on=deadline,
    )
    notes = (
        _to_buyer(
            moved,
            _N.AFTER_SALE_CLOSED,
            f"Your {_SUBJECT[r.kind]} for order {r.order_id} closed: the item was not shipped "
            "back in time.",
            now,
        ),
        _to_shop(
            moved,
            _N.AFTER_SALE_CLOSED,
            f"{r.id} (order {r.order_id}) closed: the buyer did not ship the return in time.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


def _received(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    action: AfterSaleAction,
    now: datetime,
    reason: str | None,
    acted_on: datetime | None,
) -> AfterSaleOutcome:
    decision = r.decision or _default_decision(r, now, actor.kind)
    shipment = r.return_shipment
    received = replace(shipment, received_at=now) if shipment else None
    return _carry_out(
        r,
        order,
        ledger,
        decision,
        action,
        actor,
        now,
        reason=reason,
        comment=None,
        acted_on=acted_on,
        return_shipment=received,
    )


def confirm_receipt(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the seller confirms the return arrived: the refund is paid (or the replacement ships)."""
    _start(r, order, _A.CONFIRM_RECEIPT, actor)
    _before_deadline(r, now)
    return _received(r, order, ledger, actor, _A.CONFIRM_RECEIPT, now, None, None)


def auto_confirm_receipt(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R8: the seller did not confirm within the receipt window; the platform confirms."""
    _start(r, order, _A.AUTO_CONFIRM_RECEIPT, actor)
    deadline = _at_deadline(r, now)
    return _received(
        r,
        order,
        ledger,
        actor,
        _A.AUTO_CONFIRM_RECEIPT,
        now,
        SELLER_RECEIPT_WINDOW_PASSED,
        deadline,
    )


def reject_on_receipt(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    reason: str,
    comment: str | None,
    now: datetime,
) -> AfterSaleOutcome:
    """R8, R4: the returned parcel is not what was agreed; the buyer may appeal (R5)."""
    _start(r, order, _A.REJECT_ON_RECEIPT, actor)
    require_reason(RECEIPT_REJECT_REASONS, reason)
    comment = clean_comment(comment)
    _before_deadline(r, now)
    return _rejected(r, order, actor, _A.REJECT_ON_RECEIPT, reason, comment, now, on_receipt=True)


# --- Replacement shipping (P2) ----------------------------------------------------------------


def ship_replacement(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    carrier: str,
    tracking_number: str,
    now: datetime,
) -> AfterSaleOutcome:
    """P2: the seller ships the new item."""
    _start(r, order, _A.SHIP_REPLACEMENT, actor)
    shipment = Shipment(
        _clean_text(carrier, "carrier"), _clean_text(tracking_number, "trackingNumber"), now
    )
    moved, record = _move(
        r,
        _A.SHIP_REPLACEMENT,
        _S.REPLACEMENT_SHIPPED,
        actor,
        now,
        comment=f"{shipment.carrier} {shipment.tracking_number}",
        replacement_shipment=shipment,
    )
    notes = (
        _to_buyer(
            moved,
            _N.REPLACEMENT_SHIPPED,
            f"Your replacement for order {r.order_id} is on its way with {shipment.carrier}, "
            f"tracking {shipment.tracking_number}.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


def replacement_delivered(
    r: AfterSaleRequest, order: Order, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """P2: the carrier delivered the replacement (a platform event)."""
    _start(r, order, _A.CONFIRM_REPLACEMENT_DELIVERED, actor)
    shipment = r.replacement_shipment
    moved, record = _move(
        r,
        _A.CONFIRM_REPLACEMENT_DELIVERED,
        _S.REPLACED,
        actor,
        now,
        reason=REPLACEMENT_DELIVERED,
        replacement_shipment=replace(shipment, received_at=now) if shipment else None,
    )
    notes = (
        _to_shop(
            moved,
            _N.REPLACEMENT_DELIVERED,
            f"The replacement for {r.id} (order {r.order_id}) was delivered.",
            now,
        ),
    )
    return AfterSaleOutcome(moved, order, (record,), notes, r.status)


# --- The expiry worker ------------------------------------------------------------------------


def act_on_deadline(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """The platform's move on whatever deadline of the request has passed (R3, R5, R8)."""
    action = DEADLINE_ACTIONS.get(r.status)
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

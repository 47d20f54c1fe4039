"""Who may ask for what on an order (R1, R5, P1): windows, open requests, units left."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from models.after_sale_requests import AfterSaleRequest, LineEligibility
from models.after_sales_errors import (
    ALREADY_REQUESTED,
    NOT_DELIVERED,
    QUANTITY_USED_UP,
    SECOND_REJECTION_ONLY_APPEAL,
    WINDOW_PASSED,
    AfterSaleRefused,
)
from models.after_sales_machine import SELLER_REJECTION_ACTIONS, AfterSaleKind, AfterSaleStatus
from models.orders import FulfilmentState, Order
from models.policy import CategoryPolicy, PolicyBook
from models.request_kinds import profile_of

_S = AfterSaleStatus


# R1: an order with the carrier this long after it was shipped counts as never received.
NOT_RECEIVED_AFTER = timedelta(days=10)


def check_existing(order: Order, existing: Sequence[AfterSaleRequest]) -> None:
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
                code=NOT_DELIVERED,
            )
        ends = expected + policy.return_refund_window
    else:
        what = "a return or replacement" if profile_of(kind).needs_delivery else "a refund"
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


def last_rejected(existing: Sequence[AfterSaleRequest]) -> str | None:
    """R5: the request a second request follows, the one the seller rejected last."""
    rejections = [
        (record.at, r.id)
        for r in existing
        for record in r.timeline
        if record.action in SELLER_REJECTION_ACTIONS
    ]
    return max(rejections)[1] if rejections else None


def supersedable(
    existing: Sequence[AfterSaleRequest], line_ids: Sequence[str]
) -> list[AfterSaleRequest]:
    """R5: the appealable rejections a new buyer request on these lines would close."""
    return [r for r in existing if r.status is _S.REJECTED and set(r.covered) & set(line_ids)]


def _held(line_id: str, existing: Sequence[AfterSaleRequest], ignore: set[str]) -> int:
    return sum(r.covered.get(line_id, 0) for r in existing if r.holds_units and r.id not in ignore)


def units_left(
    order: Order, line_id: str, existing: Sequence[AfterSaleRequest], ignore: set[str]
) -> int:
    bought = order.units_left(line_id)  # less units the seller cancelled (C10)
    return max(0, bought - _held(line_id, existing, ignore))


def refuse_open_and_used(
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
        available = units_left(order, line_id, existing, ignore)
        if quantity > available:
            held = [r for r in existing if r.holds_units and r.id not in ignore]
            holder = next((r.id for r in held if line_id in r.covered), None)
            raise AfterSaleRefused(
                f"line {line_id} of order {order.id} has {available} left to ask about, "
                f"not {quantity}",
                code=QUANTITY_USED_UP,
                line_ids=[line_id],
                existing_id=holder,  # the request holding units of the line, if one does
            )


def buyer_may_ask(
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
    superseded = supersedable(existing, list(quantities))
    refuse_open_and_used(order, existing, quantities, {r.id for r in superseded})
    return ends, superseded


def line_eligibility(
    order: Order,
    existing: Sequence[AfterSaleRequest],
    book: PolicyBook,
    now: datetime,
) -> tuple[LineEligibility, ...]:
    """For each line and each kind: may the buyer ask now, how many, until when, or why not."""
    check_existing(order, existing)
    out: list[LineEligibility] = []
    for line in order.lines:
        policy = book.for_category(line.category)
        superseded = {r.id for r in supersedable(existing, [line.line_id])}
        available = units_left(order, line.line_id, existing, superseded)
        for kind in AfterSaleKind:
            try:
                ends, _ = buyer_may_ask(order, existing, kind, {line.line_id: 1}, policy, now)
            except AfterSaleRefused as refusal:
                refused = (refusal.code, refusal.message, available, refusal.window_ends_at)
                out.append(LineEligibility(line.line_id, kind, False, *refused))
                continue
            until = f"Up to {available} may be asked about until {ends:%Y-%m-%d %H:%M} UTC."
            out.append(LineEligibility(line.line_id, kind, True, None, until, available, ends))
    return tuple(out)

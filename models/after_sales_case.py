"""An order's after-sales case: the order, its refund ledger and its after-sale requests.

The case is the aggregate every after-sale step acts on, and it owns the rule that keeps two steps
on one order apart: every step claims the case's ledger (`AfterSalesCase.claim`, written by the
service in the step's transaction even when the step pays nothing), so two steps decided at the
same instant on one order conflict and the loser reruns on the state that won. Money is paid here
too, from the one quote (models/refund_ledger.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from models.actors import ActorKind
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, Decision
from models.after_sales_machine import AfterSaleStatus, DecisionType
from models.orders import LineItem, Order, PaymentState
from models.refund_ledger import RefundBreakdown, RefundLedger, refund_quote

_S = AfterSaleStatus


# --- The case -----------------------------------------------------------------------------


@dataclass
class AfterSalesCase:
    """One order's case as read in a transaction, and as the steps decided so far leave it.

    Steps on one case are decided one after the other (`apply`), each on the state the last one
    left, so a batch of steps on one order never pays the same unit twice.
    """

    order_before: Order
    ledger: RefundLedger  # as read, then as the steps decided so far leave it
    requests_before: list[AfterSaleRequest]
    # P4: the order's replacement orders, by id, as the steps decided so far leave them.
    replacement_orders: dict[str, Order] = field(default_factory=dict)
    order: Order = field(init=False)
    requests: list[AfterSaleRequest] = field(init=False)

    def __post_init__(self) -> None:
        self.order = self.order_before
        self.requests = list(self.requests_before)

    def as_read(self, request_id: str) -> AfterSaleRequest:
        """The request as the transaction read it (what a move compares and sets against)."""
        return next(r for r in self.requests_before if r.id == request_id)

    def replacement_order(self, r: AfterSaleRequest) -> Order | None:
        order_id = r.replacement_order_id
        return self.replacement_orders.get(order_id) if order_id else None

    def apply(self, outcome: AfterSaleOutcome) -> None:
        self.order = outcome.order
        self.replacement_orders |= {placed.id: placed for placed in outcome.new_orders}
        self.replacement_orders |= {after.id: after for _before, after in outcome.moved_orders}
        if outcome.ledger is not None:  # the ledger after this step's refund
            self.ledger = outcome.ledger
        moved = {outcome.request.id: outcome.request} | {r.id: r for r in outcome.superseded}
        self.requests = [moved.pop(r.id, r) for r in self.requests] + list(moved.values())

    @property
    def claim(self) -> RefundLedger:
        """The ledger every step writes, paying or not: the claim on the whole case."""
        return self.ledger


# --- Orders and money -------------------------------------------------------------------------


def snapshot(order: Order, quantities: Mapping[str, int]) -> tuple[LineItem, ...]:
    return tuple(
        replace(line, quantity=quantities[line.line_id])
        for line in order.lines
        if line.line_id in quantities
    )


def _refund_breakdown(order: Order, ledger: RefundLedger, decision: Decision) -> RefundBreakdown:
    """What the decision pays now: the same quote as `refund_quote`, a partial amount capped."""
    partial = decision.partial_amount
    if partial is not None:
        refundable = refund_quote(order, ledger, decision.quantities).items
        if refundable.minor == 0:
            return RefundBreakdown.zero(order.currency)
        partial = min(partial, refundable)
    return refund_quote(order, ledger, decision.quantities, partial)


def pay(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, decision: Decision, now: datetime
) -> tuple[RefundBreakdown, RefundLedger | None, Order]:
    refund = _refund_breakdown(order, ledger, decision)
    if refund.total.minor == 0:
        return refund, None, order
    new_ledger = ledger.with_refund(order, r.id, refund, now)
    # The order with what has been refunded on it (fully refunded: payment state REFUNDED).
    refunded = new_ledger.refunded_total
    fully = order.amount_paid.minor > 0 and refunded == order.amount_paid
    payment_state = PaymentState.REFUNDED if fully else order.payment_state
    return refund, new_ledger, replace(order, refunded=refunded, payment_state=payment_state)


def quote_for_request(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> RefundBreakdown:
    """What the request paid, or would pay if refunded now, as decided or as asked."""
    if r.refund is not None:
        return r.refund
    decision = r.decision or r.default_decision(r.requested_at, ActorKind.PLATFORM)
    if r.status is _S.AWAITING_BUYER_RESPONSE and r.offer is not None:  # R12: what accepting pays
        decision = replace(decision, lines=r.offer.lines, partial_amount=r.offer.amount)
    if decision.type is DecisionType.APPROVE_REPLACEMENT:
        return RefundBreakdown.zero(order.currency)
    return _refund_breakdown(order, ledger, decision)

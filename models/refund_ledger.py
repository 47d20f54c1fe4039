"""The refund ledger of an order, and the one quote every refund is paid from (R7-R10).

The invariant that matters most: whatever is refunded on an order, by any request or cancellation,
never exceeds what was paid, per line and in total. Three things hold it:

- `refund_quote` is the only way an amount is computed, for "what would this pay" as for the real
  refund: each line pays at most its unit price times the quantity and never more than the line
  still has; a partial amount is positive and never above what the chosen lines still have.
- `RefundLedger.with_refund` refuses an entry that would take a line, the shipping or the order past
  what was paid (the guard against two refunds decided on the same stale ledger).
- The ledger is append-only: an entry per refund, named after the request or cancellation it paid.

What was paid is read from the order every time (the unit price times the quantity of each line,
plus the shipping fee, once the order is paid), so a ledger never holds a stale copy of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from models.after_sales_errors import (
    RefundAmountInvalid,
    RefundExceedsPaid,
    RefundExceedsRefundable,
)
from models.errors import ValidationFailed
from models.money import Money, total
from models.orders import FulfilmentState, Order


@dataclass(frozen=True)
class LineRefund:
    line_id: str
    quantity: int
    amount: Money


@dataclass(frozen=True)
class RefundBreakdown:
    """How a refund is made up: per line, the items in all, the shipping, the total."""

    items: Money
    shipping: Money
    lines: tuple[LineRefund, ...] = ()

    @property
    def total(self) -> Money:
        return self.items + self.shipping

    @classmethod
    def zero(cls, currency: str) -> RefundBreakdown:
        return cls(Money.zero(currency), Money.zero(currency))


class LedgerSource(Enum):
    AFTER_SALE = "AFTER_SALE"
    CANCELLATION = "CANCELLATION"


@dataclass(frozen=True)
class LedgerEntry:
    source: LedgerSource
    source_id: str  # the request or cancellation that paid it
    at: datetime
    lines: tuple[LineRefund, ...]
    shipping: Money

    @property
    def items(self) -> Money:
        return total([r.amount for r in self.lines], self.shipping.currency)

    @property
    def total(self) -> Money:
        return self.items + self.shipping


def paid_by_line(order: Order) -> dict[str, Money]:
    """What the buyer paid for each line: the unit price times the quantity, once paid at all."""
    paid, zero = order.amount_paid.minor > 0, Money.zero(order.currency)
    # Units a line cancel voided before any money moved were never paid for (C10).
    return {
        line.line_id: line.subtotal - order.voided(line.line_id) if paid else zero
        for line in order.lines
    }


def paid_shipping(order: Order) -> Money:
    return order.shipping_fee if order.amount_paid.minor > 0 else Money.zero(order.currency)


@dataclass(frozen=True)
class RefundLedger:
    """Every refund paid on one order, per line and for the shipping, in the order of payment."""

    order_id: str
    currency: str
    entries: tuple[LedgerEntry, ...] = ()

    @classmethod
    def for_order(cls, order: Order) -> RefundLedger:
        """The ledger of an order with no after-sale refund yet.

        A cancelled order was refunded in full by its cancellation (models/cancellations.py): that
        refund is the ledger's first entry, so nothing more can be refunded on it. A cancellation
        books its refund only into a ledger that is stored already; otherwise this is its ledger.
        """
        ledger = cls(order.id, order.currency)
        refunded = order.refunded
        if order.fulfilment_state is FulfilmentState.CANCELLED and refunded and refunded.minor:
            source = order.cancelled_by or f"cancellation-of-{order.id}"  # older orders
            ledger = ledger.with_cancellation(order, source, refunded)
        return ledger

    def refunded_line(self, line_id: str) -> Money:
        amounts = [r.amount for e in self.entries for r in e.lines if r.line_id == line_id]
        return total(amounts, self.currency)

    @property
    def refunded_shipping(self) -> Money:
        return total([e.shipping for e in self.entries], self.currency)

    @property
    def refunded_total(self) -> Money:
        return total([e.total for e in self.entries], self.currency)

    def refundable_line(self, order: Order, line_id: str) -> Money:
        return paid_by_line(order)[line_id] - self.refunded_line(line_id)

    def refundable_total(self, order: Order) -> Money:
        return order.amount_paid - self.refunded_total

    def with_refund(
        self,
        order: Order,
        source_id: str,
        refund: RefundBreakdown,
        at: datetime,
        source: LedgerSource = LedgerSource.AFTER_SALE,
    ) -> RefundLedger:
        """The ledger with one more refund, or `RefundExceedsPaid` if it would overdraw anything."""
        _check_same_order(order, self)
        paid = paid_by_line(order)
        for line in refund.lines:
            if line.line_id not in paid:
                raise ValidationFailed(
                    f"order {order.id} has no line {line.line_id}", field="lines"
                )
            if line.amount.minor < 0:
                raise RefundExceedsPaid(f"a refund of {line.amount} on {line.line_id} is negative")
        if refund.shipping.minor < 0:
            raise RefundExceedsPaid("a negative shipping refund")
        if total([r.amount for r in refund.lines], self.currency) != refund.items:
            raise ValidationFailed("the refund's lines do not add up to its items", field="amount")
        entry = LedgerEntry(source, source_id, at, refund.lines, refund.shipping)
        after = RefundLedger(self.order_id, self.currency, (*self.entries, entry))
        # What was paid and what would be refunded: per line, the shipping, the order (implied
        # by the other two; checked all the same).
        caps = [(f"line {ln}", due, after.refunded_line(ln), " for it") for ln, due in paid.items()]
        caps.append(("shipping", paid_shipping(order), after.refunded_shipping, ""))
        caps.append((f"order {order.id}", order.amount_paid, after.refunded_total, ""))
        for what, paid_for, refunded, for_it in caps:
            if paid_for < refunded:
                raise RefundExceedsPaid(
                    f"{what} would be refunded {refunded}; {paid_for} was paid{for_it}"
                )
        return after

    def with_cancellation(
        self, order: Order, cancellation_id: str, refunded: Money, at: datetime | None = None
    ) -> RefundLedger:
        """A cancellation's refund (all still refundable), line by line, then the shipping."""
        left, lines = refunded.minor, []
        for line in order.lines:
            share = min(left, self.refundable_line(order, line.line_id).minor)
            lines.append(LineRefund(line.line_id, line.quantity, Money(share, self.currency)))
            left -= share
        shipping = Money(left, self.currency)
        refund = RefundBreakdown(refunded - shipping, shipping, tuple(lines))  # the shares' sum
        when = at or order.cancelled_at or order.placed_at
        return self.with_refund(order, cancellation_id, refund, when, LedgerSource.CANCELLATION)


def _check_same_order(order: Order, ledger: RefundLedger) -> None:
    if ledger.order_id != order.id or ledger.currency != order.currency:
        raise ValueError(f"the ledger of {ledger.order_id} is not the ledger of order {order.id}")


def _allocate(amount: int, caps: list[int]) -> list[int]:
    """Split `amount` over lines in proportion to their caps, exactly, never above a cap.

    Largest remainder: each line gets the floor of its share, and the minor units left over go one
    each to the lines with the largest remainders (earlier lines first on a tie).
    Needs 0 < amount <= sum(caps), as the quote checks first: then a share with a remainder is
    below its cap, and the units left over (the remainders' sum) are fewer than the lines with one,
    so each of those lines gets at most one unit more and stays within its cap.
    """
    whole = sum(caps)
    shares = [amount * cap // whole for cap in caps]
    left = amount - sum(shares)
    by_remainder = sorted(range(len(caps)), key=lambda i: (-(amount * caps[i] % whole), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def clean_quantities(order: Order, lines: Mapping[str, int]) -> dict[str, int]:
    """Line ids of this order with positive whole quantities, in the order's line order."""
    if not lines:
        raise ValidationFailed("choose at least one line", field="lines")
    known = {line.line_id for line in order.lines}
    for line_id, quantity in lines.items():
        if line_id not in known:
            raise ValidationFailed(f"order {order.id} has no line {line_id!r}", field="lines")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValidationFailed(
                f"the quantity of {line_id} must be a positive whole number", field="lines"
            )
    return {line.line_id: lines[line.line_id] for line in order.lines if line.line_id in lines}


def refund_quote(
    order: Order, ledger: RefundLedger, lines: Mapping[str, int], partial: Money | None = None
) -> RefundBreakdown:
    """What refunding these lines and quantities pays now: per line, items, shipping, total.

    - In full: each line pays its unit price times the quantity, capped by what the line still
      has (an earlier partial refund on the line is never paid twice). The shipping is refunded
      with the refund that leaves nothing of the items refundable (the whole order refunded).
    - Partial (R7): a positive amount no larger than what the chosen lines still have, spread over
      them in proportion, exactly; no shipping.
    """
    _check_same_order(order, ledger)
    quantities = clean_quantities(order, lines)
    currency = order.currency
    refundable = {ln.line_id: ledger.refundable_line(order, ln.line_id).minor for ln in order.lines}
    full: dict[str, int] = {}
    for line_id, quantity in quantities.items():
        # The line's quantity bounds `quantity`: every caller checks units left.
        price = (order.line(line_id).unit_price * quantity).minor
        full[line_id] = max(0, min(price, refundable[line_id]))
    items_full = Money(sum(full.values()), currency)
    amounts, shipping = full, Money.zero(currency)
    if partial is None:
        if items_full.minor == sum(refundable.values()):  # nothing of the items is left after it
            shipping = paid_shipping(order) - ledger.refunded_shipping
    else:
        if partial.currency != currency:
            raise RefundAmountInvalid(
                f"the amount is in {partial.currency}; the order is in {currency}"
            )
        if partial.minor <= 0:
            raise RefundAmountInvalid(f"a partial refund must be positive, not {partial}")
        if items_full < partial:
            raise RefundExceedsRefundable(
                f"{partial} is more than the {items_full} these lines can still refund",
                refundable=items_full,
            )
        shares = _allocate(partial.minor, list(full.values()))
        amounts = dict(zip(full, shares, strict=True))
    refunds = tuple(
        LineRefund(line_id, quantities[line_id], Money(amount, currency))
        for line_id, amount in amounts.items()
    )
    return RefundBreakdown(Money(sum(amounts.values()), currency), shipping, refunds)

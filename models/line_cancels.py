"""C10: the seller cancels some lines or quantities of an order; the rest of the order goes on.

A line cancel is a cancellation like the others (its own id, timeline record, notification,
ticket and live-feed event; tab Completed), made by the seller in one step. Those units are
refunded through the order's refund ledger (what they cost, as `refund_quote` prices them; the
shipping only with the last units), and the order lists them (`Order.cancelled_lines`).

Choices (docs/decisions.md): a seller may cancel lines while the order could still be cancelled
whole (C3: not once handed to the carrier); units left are those bought less those cancelled
before (no after-sale request or refund applies before the hand-over); asking for every unit
left is the whole-order cancel of C7 (the order is cancelled, the shipping refunded).
"""

from __future__ import annotations

from dataclasses import replace

from models import cancellations
from models.after_sales_case import snapshot
from models.cancellation_states import CancellationAction
from models.commands import CancelOrder, CancelOrderLines, Lines
from models.errors import DomainError, ValidationFailed
from models.money import Money
from models.notifications import NotificationKind
from models.orders import CancelledUnits, Order
from models.reasons import SELLER_CANCEL_REASONS
from models.refund_ledger import LedgerSource, refund_quote
from models.requests import Initiator, Opening, Outcome, opened_on, to_buyer


class UnitsNotAvailable(DomainError):
    """C10: more units of a line than are left to cancel."""

    code = "QUANTITY_USED_UP"

    def __init__(self, message: str, *, field: str, line_id: str, available: int) -> None:
        super().__init__(message, field=field)
        self.line_id = line_id
        self.available = available


def chosen_units(order: Order, lines: Lines) -> dict[str, int]:
    """The lines and quantities asked for, checked one by one; errors name `lines[i].<field>`."""
    if not lines:
        raise ValidationFailed("choose at least one line to cancel", field="lines")
    known = {line.line_id for line in order.lines}
    chosen: dict[str, int] = {}
    for i, (line_id, quantity) in enumerate(lines):
        if line_id not in known:
            raise ValidationFailed(
                f"order {order.id} has no line {line_id!r}", field=f"lines[{i}].lineId"
            )
        if line_id in chosen:
            raise ValidationFailed(f"line {line_id} is named twice", field=f"lines[{i}].lineId")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValidationFailed(
                f"the quantity of {line_id} must be a positive whole number, not {quantity}",
                field=f"lines[{i}].quantity",
            )
        left = order.units_left(line_id)
        if quantity > left:
            raise UnitsNotAvailable(
                f"line {line_id} of order {order.id} has {left} unit(s) left to cancel, "
                f"not {quantity}",
                field=f"lines[{i}].quantity",
                line_id=line_id,
                available=left,
            )
        chosen[line_id] = quantity
    return chosen


def cancel_lines_by_seller(
    opening: Opening, at: cancellations.OnOrder, cmd: CancelOrderLines
) -> cancellations.CancellationOutcome:
    """C10: those units cancelled and refunded; every unit left asked for: C7 instead."""
    order, actor, now, reason = at.order, at.actor, at.now, cmd.reason
    action = CancellationAction.SELLER_CANCEL_LINES
    comment = cancellations.seller_cancels(at, action, cmd)
    chosen = chosen_units(order, cmd.lines)
    asked = snapshot(order, chosen)
    if all(chosen.get(line.line_id, 0) == order.units_left(line.line_id) for line in order.lines):
        whole = cancellations.cancel_by_seller(opening, at, CancelOrder(order.id, reason, comment))
        return replace(whole, request=replace(whole.request, lines=asked))

    refund = refund_quote(order, at.ledger, chosen)
    start = opened_on(order, opening, Initiator.SELLER, reason, comment)
    c, record = cancellations.opened(at, action, start, lines=asked, refund=refund)
    new_ledger = None
    if refund.total.minor > 0:
        new_ledger = at.ledger.with_refund(order, c.id, refund, now, LedgerSource.CANCELLATION)
    units = tuple(
        CancelledUnits(
            line_id=r.line_id,
            quantity=r.quantity,
            cancellation_id=c.id,
            reason=reason,
            actor_kind=actor.kind,
            actor_id=actor.id,
            at=now,
            refunded=r.amount,
            voided=order.amount_paid.minor == 0,
        )
        for r in refund.lines
    )
    already = order.refunded or Money.zero(order.currency)
    new_order = replace(
        order,
        cancelled_lines=(*order.cancelled_lines, *units),
        refunded=already + refund.total if refund.total.minor or order.refunded else None,
    )
    what = ", ".join(f"{line.quantity} x {line.title}" for line in asked)
    paid_back = f" A refund of {refund.total} is on its way." if refund.total.minor else ""
    text = (
        f"The seller cancelled {what} of your order {c.order_id} "
        f"({SELLER_CANCEL_REASONS[reason]}).{paid_back} The rest of your order goes on."
    )
    notes = (to_buyer(c, NotificationKind.ORDER_CANCELLED, text, now),)
    return Outcome(c, new_order, (record,), notes, new_ledger)

"""P4: the replacement order an approved replacement places (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models.after_sale_requests import AfterSaleRequest, Decision
from models.money import Money
from models.orders import FulfilmentState, Order, PaymentMethod, PaymentState


def place_replacement_order(
    r: AfterSaleRequest, original: Order, decision: Decision, now: datetime
) -> tuple[Order, Order]:
    """P4: the replacement order (the approved lines at no charge, paid, awaiting shipment) and
    the original order naming it."""
    # Its id is derived from the original, so a rerun of the step that places it names the same
    # order (and a second replacement of the order gets its own).
    order_id = f"{original.id}-R{len(original.replacement_order_ids) + 1}"
    zero = Money.zero(original.currency)
    placed = Order(
        id=order_id,
        shop_id=original.shop_id,
        buyer_id=original.buyer_id,
        lines=tuple(replace(line, unit_price=zero) for line in decision.lines),
        shipping_fee=zero,
        payment_method=PaymentMethod.PREPAID,
        payment_state=PaymentState.PAID,
        fulfilment_state=FulfilmentState.AWAITING_SHIPMENT,
        placed_at=now,
        paid_at=now,
        replacement_of=original.id,
        replacement_request_id=r.id,
    )
    linked = replace(original, replacement_order_ids=(*original.replacement_order_ids, order_id))
    return placed, linked

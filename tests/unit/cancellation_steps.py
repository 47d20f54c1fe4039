"""Where a cancellation step acts, as the unit tests build it: the order with the ledger a stored
order has before any refund (models/refund_ledger.py::RefundLedger.for_order)."""

from __future__ import annotations

from datetime import datetime

from models.actors import Actor
from models.cancellations import OnOrder
from models.orders import Order
from models.refund_ledger import RefundLedger


def on_order(order: Order, actor: Actor, now: datetime) -> OnOrder:
    return OnOrder(order, RefundLedger.for_order(order), actor, now)

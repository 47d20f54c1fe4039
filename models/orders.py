"""Orders: what was bought, how it is paid, and where it is on its way to the buyer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from models.actors import ActorKind
from models.errors import InvalidTransition, ValidationFailed
from models.money import Money, total


class PaymentMethod(Enum):
    PREPAID = "PREPAID"
    CASH_ON_DELIVERY = "CASH_ON_DELIVERY"


class PaymentState(Enum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"  # prepaid order not paid yet
    PAID = "PAID"  # prepaid and paid, or cash collected on delivery
    COLLECT_ON_DELIVERY = "COLLECT_ON_DELIVERY"  # cash on delivery, not delivered yet
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"  # cancelled before any money moved


class FulfilmentState(Enum):
    UNPAID = "UNPAID"
    AWAITING_SHIPMENT = "AWAITING_SHIPMENT"
    IN_TRANSIT = "IN_TRANSIT"  # handed to the carrier or on its way
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class LineItem:
    line_id: str
    sku: str
    title: str
    quantity: int
    unit_price: Money
    category: str

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValidationFailed("quantity must be positive", field="quantity")
        if self.unit_price.minor < 0:
            raise ValidationFailed("unit price cannot be negative", field="unitPrice")

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CancelledUnits:
    """C10: units of one line the seller cancelled while the rest of the order goes on."""

    line_id: str
    quantity: int
    cancellation_id: str
    reason: str
    actor_kind: ActorKind
    actor_id: str
    at: datetime
    refunded: Money  # what the buyer got back for them
    # Cancelled before any money moved (unpaid, or cash on delivery): the buyer never pays for
    # them, so what is paid later (or collected on delivery) leaves them out.
    voided: bool


@dataclass(frozen=True)
class Order:
    id: str
    shop_id: str
    buyer_id: str
    lines: tuple[LineItem, ...]
    shipping_fee: Money
    payment_method: PaymentMethod
    payment_state: PaymentState
    fulfilment_state: FulfilmentState
    placed_at: datetime
    payment_due_at: datetime | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    refunded: Money | None = None
    # The buyer's cancellation request that is waiting for the seller, if any: while it waits
    # the order can be neither shipped nor cancelled another way.
    open_cancellation_id: str | None = None
    # The marketplace lets a buyer ask once: after a rejection, refuse delivery or ask for a return.
    rejected_cancellation_id: str | None = None
    # The cancellation that cancelled the order: its refund is the order's first ledger entry
    # (models/refund_ledger.py, RefundLedger.for_order).
    cancelled_by: str | None = None
    # C10: units the seller cancelled, oldest first; the order goes on with the rest.
    cancelled_lines: tuple[CancelledUnits, ...] = ()
    version: int = 0
    # P4: a replacement order names the order and the request it replaces an item of; the
    # original names its replacement orders (both ways, so either page links to the other).
    replacement_of: str | None = None
    replacement_request_id: str | None = None
    replacement_order_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValidationFailed("an order has at least one line", field="lines")
        currencies = {line.unit_price.currency for line in self.lines} | {
            self.shipping_fee.currency
        }
        if len(currencies) != 1:
            raise ValidationFailed("an order is in one currency", field="lines")

    @property
    def currency(self) -> str:
        return self.shipping_fee.currency

    @property
    def items_total(self) -> Money:
        return total([line.subtotal for line in self.lines], self.currency)

    @property
    def grand_total(self) -> Money:
        return self.items_total + self.shipping_fee

    def voided(self, line_id: str) -> Money:
        """What units of this line cancelled before any money moved would have cost (C10)."""
        return total(
            [
                self.line(line_id).unit_price * u.quantity
                for u in self.cancelled_lines
                if u.line_id == line_id and u.voided
            ],
            self.currency,
        )

    @property
    def amount_due(self) -> Money:
        """What the buyer pays for the order: everything but units voided by a line cancel."""
        voided = total([self.voided(line.line_id) for line in self.lines], self.currency)
        return self.grand_total - voided

    @property
    def amount_paid(self) -> Money:
        """What the buyer has actually paid: nothing until payment or cash collection."""
        if self.payment_state in (PaymentState.PAID, PaymentState.REFUNDED):
            return self.amount_due
        return Money.zero(self.currency)

    def line(self, line_id: str) -> LineItem:
        return next(line for line in self.lines if line.line_id == line_id)

    def cancelled_quantity(self, line_id: str) -> int:
        return sum(u.quantity for u in self.cancelled_lines if u.line_id == line_id)

    def units_left(self, line_id: str) -> int:
        """C10: the units of a line still ordered, those cancelled by line cancels left out."""
        return self.line(line_id).quantity - self.cancelled_quantity(line_id)

    @property
    def categories(self) -> list[str]:
        return [line.category for line in self.lines]

    def _require(self, allowed: set[FulfilmentState], action: str) -> None:
        if self.fulfilment_state not in allowed:
            raise InvalidTransition(
                f"cannot {action}: order {self.id} is {self.fulfilment_state.value}",
                current_state=self.fulfilment_state.value,
                field="orderId",
            )

    def paid(self, now: datetime) -> Order:
        self._require({FulfilmentState.UNPAID}, "record payment")
        return replace(
            self,
            payment_state=PaymentState.PAID,
            fulfilment_state=FulfilmentState.AWAITING_SHIPMENT,
            paid_at=now,
            payment_due_at=None,
        )

    def handed_to_carrier(self, now: datetime, carrier: str, tracking_number: str) -> Order:
        self._require({FulfilmentState.AWAITING_SHIPMENT}, "hand to carrier")
        if self.open_cancellation_id:
            raise InvalidTransition(
                f"order {self.id} has a cancellation request waiting for the seller "
                f"({self.open_cancellation_id}): accept or reject it first",
                current_state="CANCELLATION_PENDING",
                field="orderId",
            )
        return replace(
            self,
            fulfilment_state=FulfilmentState.IN_TRANSIT,
            shipped_at=now,
            carrier=carrier,
            tracking_number=tracking_number,
        )

    def delivered(self, now: datetime) -> Order:
        self._require({FulfilmentState.IN_TRANSIT}, "mark delivered")
        payment_state = (
            PaymentState.PAID
            if self.payment_state is PaymentState.COLLECT_ON_DELIVERY
            else self.payment_state
        )
        return replace(
            self,
            fulfilment_state=FulfilmentState.DELIVERED,
            delivered_at=now,
            payment_state=payment_state,
        )

    def cancelled(self, now: datetime, by: str | None = None) -> tuple[Order, Money]:
        """The order cancelled (by the cancellation `by`), and the refund it owes: everything
        paid (items and shipping) and not refunded yet (units cancelled earlier, C10)."""
        already = self.refunded or Money.zero(self.currency)
        refund = self.amount_paid - already
        payment_state = PaymentState.REFUNDED if refund.minor > 0 else PaymentState.VOIDED
        order = replace(
            self,
            fulfilment_state=FulfilmentState.CANCELLED,
            payment_state=payment_state,
            cancelled_at=now,
            refunded=already + refund if self.refunded else refund,
            open_cancellation_id=None,
            cancelled_by=by,
        )
        return order, refund

"""The order intake: what a marketplace's order system may tell the service about one shop's
orders, and how an order moves when it does. Pure: no storage, no GraphQL.

Placing. A `PlaceOrder` is checked (`placed_order`) and becomes an `Order`; the marketplace's
own order id (`external_id`) is unique within the shop. A repeat of a placement is compared with
what was stored (`placement_of`, `differences`): the same is a no-op, a change is an
`OrderConflict` naming the fields that differ (an order, once placed, changes only by steps).

Moving. The marketplace's steps have an order, the `STAGE_RANK`: placed, paid, handed to the
carrier, in transit, delivered; a cancellation upstream ends the order. `advance` decides one
update from where the order is (`stage_of`) and when it got there:
- a later stage moves the order, through the stages in between (a delivery reported before the
  hand-over hands it over first); each step's time is the update's own, never earlier than the
  stage it leaves, so an order's times stay in order;
- the same stage again is a repeat (no change) unless it is older than the stage's own time
  (a stale copy) or names another carrier or tracking number (a conflict);
- an earlier stage, and anything after a cancellation, is a `StaleUpdate`: nothing moves back
  (delivered, then in transit; paid after cancelled upstream). The service records it;
- a cancellation upstream after the hand-over is refused as a buyer's would be (C3).
The platform's own one-step mutations (recordPayment, handToCarrier, recordDelivery) use
`advance` with `one_step=True`: the next stage only, the order's own refusals as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from models.errors import DomainError, InvalidTransition, OrderNotCancellable, ValidationFailed
from models.money import Money
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState

MAX_BATCH = 500
MAX_LINES = 100
MAX_QUANTITY = 999
# Far above any one price on the shop (10 million in a two-decimal currency); an order's total
# is bounded by the lines: at most MAX_LINES * MAX_QUANTITY * MAX_MINOR, exact in a Python int.
MAX_MINOR = 1_000_000_000
MAX_TEXT = 200
# A marketplace's clock may run a little ahead of ours; a time further ahead is a wrong time.
CLOCK_SKEW = timedelta(minutes=5)
# Unpaid prepaid orders without a deadline of their own get their policy's (C8, Y2), this one
# where no policy is at hand.
DEFAULT_PAYMENT_WINDOW = timedelta(hours=24)
# Categories that use the default policy (Y1) without a policy document of their own; a
# category with a stored policy is known too. Anything else is a typo or a new category the
# platform has not set up: refused rather than silently given the default windows.
DEFAULT_CATEGORIES = frozenset(
    {"general", "beauty", "fashion", "home", "outdoor", "sports", "toys", "books"}
)

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Stage(Enum):
    """Where an order is on the marketplace's way, in order."""

    PLACED = "PLACED"
    PAID = "PAID"
    HANDED_TO_CARRIER = "HANDED_TO_CARRIER"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class OrderStep(Enum):
    """What the marketplace reports about an order."""

    PAID = "PAID"
    HANDED_TO_CARRIER = "HANDED_TO_CARRIER"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED_UPSTREAM = "CANCELLED_UPSTREAM"


STAGE_OF_STEP = {
    OrderStep.PAID: Stage.PAID,
    OrderStep.HANDED_TO_CARRIER: Stage.HANDED_TO_CARRIER,
    OrderStep.IN_TRANSIT: Stage.IN_TRANSIT,
    OrderStep.DELIVERED: Stage.DELIVERED,
    OrderStep.CANCELLED_UPSTREAM: Stage.CANCELLED,
}
STAGE_RANK = {stage: n for n, stage in enumerate(Stage)}
# The stages an order passes through on its way to a later one.
_WAY = (Stage.PAID, Stage.HANDED_TO_CARRIER, Stage.IN_TRANSIT, Stage.DELIVERED)


class StaleUpdate(DomainError):
    """The update would move the order back (or arrived after a cancellation): not applied,
    recorded on the order's intake record."""

    code = "STALE_UPDATE"

    def __init__(self, message: str, *, current_stage: Stage, stage_at: datetime | None) -> None:
        super().__init__(message, field="step")
        self.current_stage = current_stage
        self.stage_at = stage_at


class OrderConflict(DomainError):
    """The marketplace sent an order (or a step) it sent before, changed: nothing was written."""

    code = "ORDER_CONFLICT"

    def __init__(self, message: str, *, order_id: str, fields: tuple[str, ...]) -> None:
        super().__init__(message, field=fields[0] if fields else None)
        self.order_id = order_id
        self.fields = fields


# ---- placing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLine:
    line_id: str
    sku: str
    title: str
    quantity: int
    unit_price_minor: int
    category: str


@dataclass(frozen=True)
class PlaceOrder:
    external_id: str
    buyer_id: str
    currency: str
    lines: tuple[NewLine, ...]
    shipping_fee_minor: int
    payment_method: PaymentMethod
    placed_at: datetime
    paid: bool = False  # prepaid and already paid when placed
    payment_due_at: datetime | None = None
    # The service's own id for the order; None: a new one. Only in-process callers (the demo
    # data, which keeps its ids) set it; the API never does.
    order_id: str | None = None


def _id(value: str, field: str) -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValidationFailed(f"{field} is not a well-formed id", field=field)


def _minor(value: int, field: str, *, positive: bool = False) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(f"{field} is an integer of minor units", field=field)
    low = 1 if positive else 0
    if not low <= value <= MAX_MINOR:
        raise ValidationFailed(f"{field} is {low} to {MAX_MINOR} minor units", field=field)


def _time(value: datetime, field: str, now: datetime) -> None:
    if value.tzinfo is None:
        raise ValidationFailed(f"{field} needs a time zone", field=field)
    if value > now + CLOCK_SKEW:
        raise ValidationFailed(f"{field} is in the future", field=field)


def placed_order(
    cmd: PlaceOrder,
    shop_id: str,
    new_id: str,
    known_categories: frozenset[str],
    now: datetime,
    payment_window: timedelta = DEFAULT_PAYMENT_WINDOW,
) -> Order:
    """The order the command places, or ValidationFailed naming the field at fault. An unpaid
    order the marketplace gives no due time gets `payment_window` (its categories' policy, Y2)."""
    _id(cmd.external_id, "externalId")
    _id(cmd.buyer_id, "buyerId")
    if not _CURRENCY.fullmatch(cmd.currency):
        raise ValidationFailed("currency is an ISO 4217 code such as USD", field="currency")
    if not 1 <= len(cmd.lines) <= MAX_LINES:
        raise ValidationFailed(f"an order has 1 to {MAX_LINES} lines", field="lines")
    _minor(cmd.shipping_fee_minor, "shippingFeeMinor")
    _time(cmd.placed_at, "placedAt", now)
    seen: set[str] = set()
    lines = []
    for n, line in enumerate(cmd.lines):
        at = f"lines[{n}]"
        _id(line.line_id, f"{at}.lineId")
        if line.line_id in seen:
            raise ValidationFailed("line ids repeat within the order", field=f"{at}.lineId")
        seen.add(line.line_id)
        _id(line.sku, f"{at}.sku")
        if not 1 <= len(line.title.strip()) <= MAX_TEXT:
            raise ValidationFailed(f"a title is 1 to {MAX_TEXT} characters", field=f"{at}.title")
        if not isinstance(line.quantity, int) or not 1 <= line.quantity <= MAX_QUANTITY:
            raise ValidationFailed(f"quantity is 1 to {MAX_QUANTITY}", field=f"{at}.quantity")
        _minor(line.unit_price_minor, f"{at}.unitPriceMinor")
        if line.category not in known_categories:
            raise ValidationFailed(
                f"category {line.category!r} is not one the policy knows", field=f"{at}.category"
            )
        lines.append(
            LineItem(
                line.line_id,
                line.sku,
                line.title.strip(),
                line.quantity,
                Money(line.unit_price_minor, cmd.currency),
                line.category,
            )
        )
    cod = cmd.payment_method is PaymentMethod.CASH_ON_DELIVERY
    if cod and cmd.paid:
        raise ValidationFailed("a cash-on-delivery order is paid on delivery", field="paid")
    if cmd.payment_due_at is not None and (cod or cmd.paid):
        raise ValidationFailed("only an unpaid prepaid order has a due time", field="paymentDueAt")
    if cod:
        payment, fulfilment = PaymentState.COLLECT_ON_DELIVERY, FulfilmentState.AWAITING_SHIPMENT
    elif cmd.paid:
        payment, fulfilment = PaymentState.PAID, FulfilmentState.AWAITING_SHIPMENT
    else:
        payment, fulfilment = PaymentState.AWAITING_PAYMENT, FulfilmentState.UNPAID
    unpaid = fulfilment is FulfilmentState.UNPAID
    due = cmd.payment_due_at or cmd.placed_at + payment_window
    if unpaid and due <= cmd.placed_at:
        raise ValidationFailed("paymentDueAt is after placedAt", field="paymentDueAt")
    return Order(
        id=new_id,
        shop_id=shop_id,
        buyer_id=cmd.buyer_id,
        lines=tuple(lines),
        shipping_fee=Money(cmd.shipping_fee_minor, cmd.currency),
        payment_method=cmd.payment_method,
        payment_state=payment,
        fulfilment_state=fulfilment,
        placed_at=cmd.placed_at,
        payment_due_at=due if unpaid else None,
        paid_at=cmd.placed_at if cmd.paid else None,
    )


def placement_of(cmd: PlaceOrder) -> dict[str, Any]:
    """What a placement says, in a form stored beside the order and compared with a repeat
    (the service's own id aside). Keys are the input's field names: a conflict names them."""
    return {
        "buyerId": cmd.buyer_id,
        "currency": cmd.currency,
        "lines": [
            [li.line_id, li.sku, li.title.strip(), li.quantity, li.unit_price_minor, li.category]
            for li in cmd.lines
        ],
        "shippingFeeMinor": cmd.shipping_fee_minor,
        "paymentMethod": cmd.payment_method.value,
        "placedAt": cmd.placed_at.isoformat(timespec="milliseconds"),
        "paid": cmd.paid,
        "paymentDueAt": (
            cmd.payment_due_at.isoformat(timespec="milliseconds") if cmd.payment_due_at else None
        ),
    }


def differences(stored: dict[str, Any], repeat: dict[str, Any]) -> tuple[str, ...]:
    """The fields in which a repeated placement differs from the stored one, in a fixed order."""
    return tuple(k for k in repeat if stored.get(k) != repeat[k])


# ---- moving ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderUpdate:
    step: OrderStep
    at: datetime  # when it happened, by the marketplace's clock
    carrier: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True)
class Advanced:
    """The outcome of one update: the order after it (the same object when unchanged), where it
    now is and since when, and the stages it passed through (empty: a repeat)."""

    order: Order
    stage: Stage
    stage_at: datetime
    passed: tuple[Stage, ...]

    @property
    def changed(self) -> bool:
        return bool(self.passed)


def stage_of(order: Order, recorded: Stage | None = None) -> Stage:
    """Where an order is. `recorded`: the stage its intake record holds, which tells in transit
    from merely handed over (the order's own state has one value for both)."""
    state = order.fulfilment_state
    if state is FulfilmentState.CANCELLED:
        return Stage.CANCELLED
    if state is FulfilmentState.DELIVERED:
        return Stage.DELIVERED
    if state is FulfilmentState.IN_TRANSIT:
        return Stage.IN_TRANSIT if recorded is Stage.IN_TRANSIT else Stage.HANDED_TO_CARRIER
    if state is FulfilmentState.AWAITING_SHIPMENT:
        return Stage.PAID  # paid, or cash on delivery: ready to ship either way
    return Stage.PLACED


def stage_time(order: Order, stage: Stage, recorded_at: datetime | None = None) -> datetime:
    """When the order reached `stage`, from its own times (or the record's, when it has one)."""
    if recorded_at is not None:
        return recorded_at
    times = {
        Stage.PLACED: order.placed_at,
        Stage.PAID: order.paid_at or order.placed_at,
        Stage.HANDED_TO_CARRIER: order.shipped_at,
        Stage.IN_TRANSIT: order.shipped_at,
        Stage.DELIVERED: order.delivered_at,
        Stage.CANCELLED: order.cancelled_at,
    }
    return times[stage] or order.placed_at


def check_update(update: OrderUpdate, now: datetime) -> None:
    """The shape of an update, before any order is read."""
    _time(update.at, "at", now)
    for value, field in ((update.carrier, "carrier"), (update.tracking_number, "trackingNumber")):
        if value is not None and not 1 <= len(value.strip()) <= 64:
            raise ValidationFailed(f"{field} is 1 to 64 characters", field=field)


def _step(order: Order, stage: Stage, update: OrderUpdate, at: datetime) -> Order:
    """The order moved one stage on, by its own rules."""
    if stage is Stage.PAID:
        if order.payment_method is PaymentMethod.CASH_ON_DELIVERY:
            raise InvalidTransition(
                f"order {order.id} is cash on delivery: it is paid on delivery",
                current_state=order.fulfilment_state.value,
                field="step",
            )
        return order.paid(at)
    if stage is Stage.HANDED_TO_CARRIER:
        carrier, tracking = (update.carrier or "").strip(), (update.tracking_number or "").strip()
        if not carrier or not tracking:
            raise ValidationFailed(
                "handing to the carrier names the carrier and the tracking number",
                field="carrier" if not carrier else "trackingNumber",
            )
        return order.handed_to_carrier(at, carrier, tracking)
    if stage is Stage.IN_TRANSIT:
        return order  # the order's state is already IN_TRANSIT; the record tells the difference
    if stage is Stage.DELIVERED:
        return order.delivered(at)
    raise AssertionError(stage)


def _cancel(order: Order, at: datetime) -> Order:
    state = order.fulfilment_state
    if state in (FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED):
        code = "ORDER_IN_TRANSIT" if state is FulfilmentState.IN_TRANSIT else "ORDER_DELIVERED"
        raise OrderNotCancellable(
            f"order {order.id} is {state.value}: it cannot be cancelled any more (C3)",
            code=code,
            fulfilment_state=state.value,
        )
    if order.open_cancellation_id:
        raise InvalidTransition(
            f"order {order.id} has a cancellation request waiting for the seller "
            f"({order.open_cancellation_id}): the marketplace closes it first",
            current_state="CANCELLATION_PENDING",
            field="step",
        )
    cancelled, _refund = order.cancelled(at)
    return cancelled


def _same_shipment(order: Order, update: OrderUpdate) -> tuple[str, ...]:
    differ = []
    if update.carrier is not None and update.carrier.strip() != order.carrier:
        differ.append("carrier")
    if update.tracking_number is not None and update.tracking_number.strip() != (
        order.tracking_number
    ):
        differ.append("trackingNumber")
    return tuple(differ)


def advance(
    order: Order,
    stage: Stage,
    stage_at: datetime,
    update: OrderUpdate,
    *,
    one_step: bool = False,
) -> Advanced:
    """Decide one update (see the module's docstring). Raises StaleUpdate, OrderConflict,
    OrderNotCancellable, InvalidTransition or ValidationFailed; nothing is decided then."""
    target = STAGE_OF_STEP[update.step]
    if one_step:
        return _one_step(order, stage, stage_at, update, target)
    if stage is Stage.CANCELLED and target is not Stage.CANCELLED:
        raise StaleUpdate(
            f"order {order.id} was cancelled: {update.step.value} changes nothing",
            current_stage=stage,
            stage_at=stage_at,
        )
    if STAGE_RANK[target] < STAGE_RANK[stage] and target is not Stage.CANCELLED:
        raise StaleUpdate(
            f"order {order.id} is {stage.value} since {stage_at.isoformat()}: "
            f"{update.step.value} would move it back",
            current_stage=stage,
            stage_at=stage_at,
        )
    if target is stage:
        if update.at < stage_at:
            raise StaleUpdate(
                f"order {order.id} is {stage.value} since {stage_at.isoformat()}, "
                f"after this {update.step.value} of {update.at.isoformat()}",
                current_stage=stage,
                stage_at=stage_at,
            )
        if stage in (Stage.HANDED_TO_CARRIER, Stage.IN_TRANSIT) and (
            differ := _same_shipment(order, update)
        ):
            raise OrderConflict(
                f"order {order.id} is with {order.carrier} ({order.tracking_number}); "
                f"this {update.step.value} names another shipment",
                order_id=order.id,
                fields=differ,
            )
        return Advanced(order, stage, stage_at, ())
    at = max(update.at, stage_at)  # never before the stage it leaves
    if target is Stage.CANCELLED:
        return Advanced(_cancel(order, at), Stage.CANCELLED, at, (Stage.CANCELLED,))
    passed = tuple(s for s in _WAY if STAGE_RANK[stage] < STAGE_RANK[s] <= STAGE_RANK[target])
    moved = order
    for s in passed:
        if s is Stage.PAID and moved.payment_method is PaymentMethod.CASH_ON_DELIVERY:
            continue  # never reached: a cash-on-delivery order is placed ready to ship
        moved = _step(moved, s, update, at)
    return Advanced(moved, target, at, passed)


def _one_step(
    order: Order, stage: Stage, stage_at: datetime, update: OrderUpdate, target: Stage
) -> Advanced:
    """The platform's own mutations: the order's own rule for that one step, as before."""
    if target is Stage.CANCELLED:
        raise ValidationFailed("cancelling goes through the cancellation mutations", field="step")
    if target is Stage.PAID:
        moved = order.paid(update.at)
    elif target is Stage.DELIVERED:
        moved = order.delivered(update.at)
    else:
        moved = _step(order, Stage.HANDED_TO_CARRIER, update, update.at)
    return Advanced(moved, target, update.at, (target,))


@dataclass(frozen=True)
class IntakeEntry:
    """One update the intake received about an order, and what became of it: PLACED, APPLIED,
    REPEATED, or the code it was refused with (STALE_UPDATE, ORDER_CONFLICT, ...)."""

    action: str
    at: datetime  # when it happened, by the sender's clock
    outcome: str
    actor_kind: str
    actor_id: str
    received_at: datetime

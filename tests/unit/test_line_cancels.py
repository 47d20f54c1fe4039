"""C10 decided without I/O (models/line_cancels.py): the seller cancels some lines and
quantities; those units are refunded through the ledger, the rest of the order goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.actors import Actor, ActorKind
from models.cancellations import (
    CancellationAction,
    CancellationStatus,
    OnOrder,
    accept,
    request_by_buyer,
)
from models.commands import AcceptCancellation, CancelOrderLines, RequestCancellation
from models.errors import InvalidTransition, OrderNotCancellable, ValidationFailed
from models.line_cancels import UnitsNotAvailable, cancel_lines_by_seller
from models.money import Money
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.policy import DEFAULT_POLICY
from models.refund_ledger import LedgerSource, RefundLedger
from models.requests import Opening
from tests.unit.cancellation_steps import on_order

PLACED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = PLACED + timedelta(hours=3)
SELLER = Actor(ActorKind.SELLER_AGENT, "agent-7", shop_id="shop-1")
BUYER = Actor(ActorKind.BUYER, "buyer-1")


def order(
    state: FulfilmentState = FulfilmentState.AWAITING_SHIPMENT,
    method: PaymentMethod = PaymentMethod.PREPAID,
) -> Order:
    """25.00 x 1, 10.00 x 2, 7.00 x 3; shipping 4.99."""
    lines = (
        LineItem("l1", "S1", "Mug", 1, Money(2500, "USD"), "home"),
        LineItem("l2", "S2", "Plate", 2, Money(1000, "USD"), "home"),
        LineItem("l3", "S3", "Jar", 3, Money(700, "USD"), "home"),
    )
    cod = method is PaymentMethod.CASH_ON_DELIVERY
    payment = PaymentState.COLLECT_ON_DELIVERY if cod else PaymentState.PAID
    if state is FulfilmentState.UNPAID:
        payment = PaymentState.AWAITING_PAYMENT
    return Order(
        "ord-1", "shop-1", "buyer-1", lines, Money(499, "USD"), method, payment, state, PLACED
    )


def cancel(o: Order, lines: tuple[tuple[str, int], ...], n: int = 1):  # type: ignore[no-untyped-def]
    ledger = RefundLedger.for_order(o)
    return cancel_lines_by_seller(
        Opening(DEFAULT_POLICY, NOW, f"can-{n}"),
        OnOrder(o, ledger, SELLER, NOW),
        CancelOrderLines(o.id, lines, "OUT_OF_STOCK", None),
    )


def test_c10_seller_cancels_two_of_three_units() -> None:
    out = cancel(order(), (("l3", 2),))

    c = out.request
    assert (c.status, c.initiator.value, out.records[0].action) == (
        CancellationStatus.CANCELLED,
        "SELLER",
        CancellationAction.SELLER_CANCEL_LINES,
    )
    assert [(line.line_id, line.quantity) for line in c.lines] == [("l3", 2)]
    assert c.refund is not None and c.refund.total == Money(1400, "USD")
    assert c.refund.shipping == Money(0, "USD")
    assert out.order.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
    assert out.order.units_left("l3") == 1
    assert out.order.refunded == Money(1400, "USD")
    [units] = out.order.cancelled_lines
    assert (units.line_id, units.quantity, units.cancellation_id, units.actor_id) == (
        "l3",
        2,
        "can-1",
        "agent-7",
    )
    assert out.ledger is not None
    [entry] = out.ledger.entries
    assert (entry.source, entry.source_id, entry.total) == (
        LedgerSource.CANCELLATION,
        "can-1",
        Money(1400, "USD"),
    )
    [note] = out.notifications
    assert note.recipient_id == "buyer-1" and "2 x Jar" in note.message


def test_c10_every_unit_left_is_the_whole_order_cancel() -> None:
    first = cancel(order(), (("l2", 1),))
    out = cancel(first.order, (("l1", 1), ("l2", 1), ("l3", 3)), 2)

    assert out.records[0].action is CancellationAction.SELLER_CANCEL
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    total = 2500 + 2000 + 2100 + 499
    assert out.request.refund is not None
    assert out.request.refund.total == Money(total - 1000, "USD")  # shipping included
    assert out.order.refunded == Money(total, "USD")


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ((("l9", 1),), "lines[0].lineId"),
        ((("l1", 1), ("l1", 1)), "lines[1].lineId"),
        ((("l2", 0),), "lines[0].quantity"),
        ((("l2", -1),), "lines[0].quantity"),
        ((), "lines"),
    ],
)
def test_c10_bad_lines_are_refused_naming_the_field(
    lines: tuple[tuple[str, int], ...], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        cancel(order(), lines)
    assert err.value.field == field


def test_c10_more_than_is_left_is_refused_with_what_is_left() -> None:
    first = cancel(order(), (("l3", 2),))
    with pytest.raises(UnitsNotAvailable) as err:
        cancel(first.order, (("l1", 1), ("l3", 2)), 2)
    assert (err.value.code, err.value.field, err.value.line_id, err.value.available) == (
        "QUANTITY_USED_UP",
        "lines[1].quantity",
        "l3",
        1,
    )


@pytest.mark.parametrize("state", [FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED])
def test_c10_not_once_with_the_carrier(state: FulfilmentState) -> None:
    with pytest.raises(OrderNotCancellable):
        cancel(order(state), (("l1", 1),))


def test_c10_only_a_seller_agent_and_not_over_a_waiting_buyer_request() -> None:
    with pytest.raises(InvalidTransition):
        cancel_lines_by_seller(Opening(DEFAULT_POLICY, NOW, "can-1"), OnOrder(order(), RefundLedger.for_order(order()), BUYER, NOW), CancelOrderLines((order()).id, (("l1", 1),), "OUT_OF_STOCK", None))  # fmt: skip
    asked = request_by_buyer(
        Opening(DEFAULT_POLICY, NOW, "can-b"),
        on_order(order(), BUYER, NOW),
        RequestCancellation((order()).id, "CHANGED_MIND", None),
    )
    with pytest.raises(InvalidTransition) as err:
        cancel(asked.order, (("l1", 1),))
    assert err.value.current_state == "CANCELLATION_PENDING"


def test_c10_a_buyers_later_cancel_refunds_only_what_is_left() -> None:
    first = cancel(order(), (("l1", 1),))
    asked = request_by_buyer(
        Opening(DEFAULT_POLICY, NOW, "can-b"),
        on_order(first.order, BUYER, NOW),
        RequestCancellation(first.order.id, "CHANGED_MIND", None),
    )
    out = accept(
        asked.request,
        on_order(asked.order, SELLER, NOW + timedelta(hours=1)),
        AcceptCancellation(asked.request.id),
    )
    assert out.request.refund is not None
    assert out.request.refund.total == Money(2000 + 2100 + 499, "USD")


def test_c10_units_cancelled_before_payment_are_left_out_of_what_is_paid() -> None:
    out = cancel(order(method=PaymentMethod.CASH_ON_DELIVERY), (("l2", 1),))

    assert out.request.refund is not None
    assert out.request.refund.total == Money(0, "USD")
    assert out.ledger is None
    assert out.order.amount_due == Money(2500 + 1000 + 2100 + 499, "USD")
    delivered = out.order.handed_to_carrier(NOW, "UPS", "1Z").delivered(NOW)
    assert delivered.amount_paid == out.order.amount_due


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.lists(st.tuples(st.sampled_from(["l1", "l2", "l3"]), st.integers(1, 3)), max_size=3),
        max_size=5,
    )
)
def test_c10_never_more_refunded_than_paid_nor_more_cancelled_than_bought(
    steps: list[list[tuple[str, int]]],
) -> None:
    o, ledger = order(), RefundLedger.for_order(order())
    for n, asked in enumerate(steps):
        chosen = tuple(dict(asked).items())
        try:
            out = cancel_lines_by_seller(
                Opening(DEFAULT_POLICY, NOW, f"c{n}"),
                OnOrder(o, ledger, SELLER, NOW),
                CancelOrderLines(o.id, chosen, "OUT_OF_STOCK", None),
            )
        except (ValidationFailed, UnitsNotAvailable, OrderNotCancellable):
            continue
        o = out.order
        ledger = out.ledger or ledger
        assert (o.refunded or Money(0, "USD")) <= o.amount_paid
        for line in o.lines:
            assert 0 <= o.units_left(line.line_id) <= line.quantity
    if o.fulfilment_state is not FulfilmentState.CANCELLED:
        assert ledger.refunded_total == (o.refunded or Money(0, "USD"))

"""The order intake's state order, decided by the domain alone: an update moves an order on
(through the stages in between), repeats nothing, and never moves it back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.errors import DomainError, InvalidTransition, OrderNotCancellable, ValidationFailed
from models.order_intake import (
    STAGE_RANK,
    NewLine,
    OrderConflict,
    OrderStep,
    OrderUpdate,
    PlaceOrder,
    Stage,
    StaleUpdate,
    advance,
    differences,
    placed_order,
    placement_of,
    stage_of,
)
from models.orders import FulfilmentState, Order, PaymentMethod, PaymentState

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
KNOWN = frozenset({"outdoor"})


def placement(**changes: object) -> PlaceOrder:
    line = NewLine("l1", "SKU-1", "Tent", 2, 1250, "outdoor")
    base = PlaceOrder("E-1", "buyer-1", "USD", (line,), 499, PaymentMethod.PREPAID, T0)
    return PlaceOrder(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def placed(paid: bool = False) -> Order:
    return placed_order(placement(paid=paid), "shop-1", "ord-1", KNOWN, T0 + timedelta(days=9))


def at_stage(stage: Stage) -> tuple[Order, datetime]:
    """An order brought to `stage` by the intake, one step an hour."""
    order, now = placed(), T0
    if stage is Stage.PLACED:
        return order, now
    if stage is Stage.CANCELLED:
        return advance(
            order, Stage.PLACED, T0, OrderUpdate(OrderStep.CANCELLED_UPSTREAM, T0)
        ).order, T0
    current = Stage.PLACED
    for step in (
        OrderStep.PAID,
        OrderStep.HANDED_TO_CARRIER,
        OrderStep.IN_TRANSIT,
        OrderStep.DELIVERED,
    ):
        now += timedelta(hours=1)
        moved = advance(order, current, now, OrderUpdate(step, now, "UPS", "1Z"))
        order, current = moved.order, moved.stage
        if current is stage:
            break
    return order, now


@pytest.mark.parametrize(("stage", "step"), list(itertools.product(list(Stage), list(OrderStep))))
def test_no_update_moves_an_order_back(stage: Stage, step: OrderStep) -> None:
    order, since = at_stage(stage)
    for when in (since - timedelta(hours=5), since, since + timedelta(hours=5)):
        try:
            result = advance(order, stage, since, OrderUpdate(step, when, "UPS", "1Z"))
        except (StaleUpdate, OrderNotCancellable, InvalidTransition):
            continue  # refused: the order stays where it is
        assert STAGE_RANK[result.stage] >= STAGE_RANK[stage]
        assert result.stage_at >= since  # its times stay in order
        assert stage_of(result.order, result.stage) is result.stage


def test_delivered_then_in_transit_is_stale() -> None:
    order, since = at_stage(Stage.DELIVERED)
    with pytest.raises(StaleUpdate) as refused:
        advance(order, Stage.DELIVERED, since, OrderUpdate(OrderStep.IN_TRANSIT, since))
    assert refused.value.code == "STALE_UPDATE"
    assert refused.value.current_stage is Stage.DELIVERED


def test_a_late_payment_after_an_upstream_cancellation_is_stale() -> None:
    order, since = at_stage(Stage.CANCELLED)
    with pytest.raises(StaleUpdate):
        advance(
            order, Stage.CANCELLED, since, OrderUpdate(OrderStep.PAID, since - timedelta(hours=1))
        )


def test_the_same_stage_older_than_the_stage_is_stale_and_newer_is_a_repeat() -> None:
    order, since = at_stage(Stage.IN_TRANSIT)
    with pytest.raises(StaleUpdate):
        advance(
            order,
            Stage.IN_TRANSIT,
            since,
            OrderUpdate(OrderStep.IN_TRANSIT, since - timedelta(seconds=1)),
        )
    later = advance(
        order,
        Stage.IN_TRANSIT,
        since,
        OrderUpdate(OrderStep.IN_TRANSIT, since + timedelta(hours=1)),
    )
    assert not later.changed and later.order is order


def test_a_delivery_before_the_hand_over_passes_through_paid_and_handed() -> None:
    order = placed()
    result = advance(
        order,
        Stage.PLACED,
        T0,
        OrderUpdate(OrderStep.DELIVERED, T0 + timedelta(days=1), "DHL", "J1"),
    )
    assert result.passed == (Stage.PAID, Stage.HANDED_TO_CARRIER, Stage.IN_TRANSIT, Stage.DELIVERED)
    assert result.order.fulfilment_state is FulfilmentState.DELIVERED
    assert result.order.payment_state is PaymentState.PAID
    assert result.order.delivered_at == T0 + timedelta(days=1)


def test_a_hand_over_without_a_carrier_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        advance(placed(True), Stage.PAID, T0, OrderUpdate(OrderStep.HANDED_TO_CARRIER, T0))
    assert refused.value.field == "carrier"


def test_a_step_reported_earlier_than_the_stage_it_leaves_takes_that_stage_time() -> None:
    order, since = at_stage(Stage.HANDED_TO_CARRIER)
    result = advance(
        order,
        Stage.HANDED_TO_CARRIER,
        since,
        OrderUpdate(OrderStep.DELIVERED, since - timedelta(hours=3)),
    )
    assert result.order.delivered_at == since


def test_c3_an_upstream_cancellation_after_the_hand_over_is_refused() -> None:
    order, since = at_stage(Stage.HANDED_TO_CARRIER)
    with pytest.raises(OrderNotCancellable) as refused:
        advance(
            order, Stage.HANDED_TO_CARRIER, since, OrderUpdate(OrderStep.CANCELLED_UPSTREAM, since)
        )
    assert refused.value.code == "ORDER_IN_TRANSIT"


def test_an_upstream_cancellation_of_a_paid_order_refunds_everything_paid() -> None:
    order = placed(paid=True)
    result = advance(order, Stage.PAID, T0, OrderUpdate(OrderStep.CANCELLED_UPSTREAM, T0))
    assert result.order.payment_state is PaymentState.REFUNDED
    assert result.order.refunded == order.grand_total


def test_another_tracking_number_for_the_same_stage_is_a_conflict() -> None:
    order, since = at_stage(Stage.HANDED_TO_CARRIER)
    with pytest.raises(OrderConflict) as refused:
        advance(
            order,
            Stage.HANDED_TO_CARRIER,
            since,
            OrderUpdate(OrderStep.HANDED_TO_CARRIER, since, "UPS", "other"),
        )
    assert refused.value.fields == ("trackingNumber",)


def test_a_changed_placement_names_every_field_that_differs() -> None:
    before = placement_of(placement())
    after = placement_of(placement(buyer_id="buyer-2", currency="EUR"))
    assert differences(before, after) == ("buyerId", "currency")
    assert differences(before, placement_of(placement())) == ()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "US"}, "currency"),
        ({"shipping_fee_minor": -1}, "shippingFeeMinor"),
        ({"lines": ()}, "lines"),
        ({"lines": (NewLine("l1", "S", "T", 1, 1, "unknown"),)}, "lines[0].category"),
        ({"lines": (NewLine("l1", "S", "T", 1, True, "outdoor"),)}, "lines[0].unitPriceMinor"),
        ({"placed_at": T0.replace(tzinfo=None)}, "placedAt"),
        ({"payment_due_at": T0 - timedelta(hours=1)}, "paymentDueAt"),
    ],
)
def test_a_bad_placement_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as refused:
        placed_order(placement(**changes), "shop-1", "ord-1", KNOWN, T0 + timedelta(days=1))
    assert (refused.value.code, refused.value.field) == ("VALIDATION_FAILED", field)


STEPS = st.lists(
    st.tuples(st.sampled_from(list(OrderStep)), st.integers(min_value=-48, max_value=96)),
    min_size=1,
    max_size=12,
)


@given(STEPS)
def test_any_sequence_of_updates_only_moves_an_order_on_with_its_times_in_order(
    updates: list[tuple[OrderStep, int]],
) -> None:
    order, stage, since = placed(), Stage.PLACED, T0
    for step_, hours in updates:
        update = OrderUpdate(step_, T0 + timedelta(hours=hours), "UPS", "1Z")
        try:
            result = advance(order, stage, since, update)
        except (StaleUpdate, OrderNotCancellable, InvalidTransition, OrderConflict):
            continue
        assert STAGE_RANK[result.stage] >= STAGE_RANK[stage]
        assert result.stage_at >= since
        assert stage_of(result.order, result.stage) is result.stage
        order, stage, since = result.order, result.stage, result.stage_at
    times = [order.placed_at, order.paid_at, order.shipped_at, order.delivered_at]
    known = [t for t in times if t is not None]
    assert known == sorted(known)

"""C1-C9: the cancellation state machine in models/cancellations.py, decided without I/O.

Every test builds its own order and `now` values, so the 1-hour and 48-hour rules run in
microseconds and prove exactly where each window starts and ends.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from models import commands
from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.cancellation_states import TAB_OF_STATUS, TRANSITIONS
from models.cancellations import (
    Cancellation,
    CancellationAction,
    CancellationOutcome,
    CancellationStatus,
    CancellationTab,
    Initiator,
    NextAction,
    accept,
    auto_accept,
    buyer_eligibility,
    cancel_by_seller,
    cancel_by_system,
    reject,
    request_by_buyer,
    withdraw,
)
from models.errors import (
    DomainError,
    DuplicateRequest,
    InvalidTransition,
    NotPending,
    OrderNotCancellable,
    PaymentWindowOpen,
    ResponseWindowClosed,
    ValidationFailed,
)
from models.money import Money
from models.notifications import NotificationKind, Recipient
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.policy import DEFAULT_POLICY, HOUR, CategoryPolicy
from models.reasons import AUTO_ACCEPT_REASON, COMMENT_MAX_LENGTH
from models.requests import Opening
from tests.unit.cancellation_steps import on_order

PLACED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)

BUYER = Actor(ActorKind.BUYER, "buyer-1")
SELLER = Actor(ActorKind.SELLER_AGENT, "agent-7", shop_id="shop-1")
PLATFORM = Actor(ActorKind.PLATFORM, "ops-1")

# Two lines (2 x 25.00 and 1 x 10.00) and 4.99 shipping: 60.00 of items, 64.99 in all.
ITEMS_MINOR = 2 * 2500 + 1000
SHIPPING_MINOR = 499
GRAND_MINOR = ITEMS_MINOR + SHIPPING_MINOR


def make_order(
    state: FulfilmentState = FulfilmentState.AWAITING_SHIPMENT,
    method: PaymentMethod = PaymentMethod.PREPAID,
    *,
    placed_at: datetime = PLACED,
    payment_due_at: datetime | None = None,
    currency: str = "USD",
) -> Order:
    lines = (
        LineItem("ord-1-1", "SKU-1", "Mug", 2, Money(2500, currency), "home"),
        LineItem("ord-1-2", "SKU-2", "Coaster", 1, Money(1000, currency), "home"),
    )
    if state is FulfilmentState.UNPAID:
        payment = PaymentState.AWAITING_PAYMENT
    elif method is PaymentMethod.CASH_ON_DELIVERY and state is not FulfilmentState.DELIVERED:
        payment = PaymentState.COLLECT_ON_DELIVERY
    else:
        payment = PaymentState.PAID
    return Order(
        id="ord-1",
        shop_id="shop-1",
        buyer_id="buyer-1",
        lines=lines,
        shipping_fee=Money(SHIPPING_MINOR, currency),
        payment_method=method,
        payment_state=payment,
        fulfilment_state=state,
        placed_at=placed_at,
        payment_due_at=payment_due_at,
    )


def buyer_asks(
    order: Order,
    now: datetime,
    *,
    policy: CategoryPolicy = DEFAULT_POLICY,
    reason: str = "CHANGED_MIND",
    note: str | None = None,
    new_id: str = "can-1",
) -> CancellationOutcome:
    return request_by_buyer(
        Opening(policy, now, new_id),
        on_order(order, BUYER, now),
        commands.RequestCancellation(order.id, reason, note),
    )


def pending(
    policy: CategoryPolicy = DEFAULT_POLICY, asked_at: datetime | None = None
) -> tuple[Cancellation, Order]:
    """A buyer's request after the unconditional window, waiting for the seller (C2)."""
    now = asked_at or PLACED + 2 * HOUR
    out = buyer_asks(make_order(), now, policy=policy)
    assert out.request.status is CancellationStatus.PENDING
    return out.request, out.order


def buyer_notes(out: CancellationOutcome) -> list:
    return [n for n in out.notifications if n.recipient is Recipient.BUYER]


def shop_notes(out: CancellationOutcome) -> list:
    return [n for n in out.notifications if n.recipient is Recipient.SHOP]


# --- C1 -----------------------------------------------------------------------------------


def test_c1_buyer_cancels_at_once_inside_unconditional_window() -> None:
    order = make_order()
    now = PLACED + HOUR - MS
    out = buyer_asks(order, now)

    c = out.request
    assert c.status is CancellationStatus.CANCELLED
    assert c.initiator is Initiator.BUYER
    assert c.resolved_at == now
    assert c.respond_by is None
    assert out.records[0].from_status is None
    assert out.records[0].action is CancellationAction.CANCEL_AT_ONCE
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.cancelled_at == now
    assert out.order.payment_state is PaymentState.REFUNDED
    assert out.order.refunded == Money(GRAND_MINOR, "USD")
    assert c.refund is not None
    assert c.refund.total == Money(GRAND_MINOR, "USD")
    assert out.order.open_cancellation_id is None


def test_c1_window_end_is_exclusive_and_turns_into_a_request() -> None:
    out = buyer_asks(make_order(), PLACED + HOUR)
    assert out.request.status is CancellationStatus.PENDING
    assert out.records[0].action is CancellationAction.REQUEST


def test_c1_window_comes_from_the_policy() -> None:
    short = CategoryPolicy(unconditional_cancel_window=timedelta(minutes=10))
    long = CategoryPolicy(unconditional_cancel_window=timedelta(hours=3))
    at = PLACED + timedelta(minutes=30)

    assert buyer_asks(make_order(), at, policy=short).request.status is (CancellationStatus.PENDING)
    assert buyer_asks(make_order(), at, policy=long).request.status is (
        CancellationStatus.CANCELLED
    )


def test_c1_a_zero_window_sends_every_paid_cancellation_to_the_seller() -> None:
    # A marketplace that decides the window itself, its clock ahead of ours: the order is
    # stamped a second after our now, and still nothing is cancelled at once here.
    none = CategoryPolicy(unconditional_cancel_window=timedelta(0))
    for at in (PLACED - timedelta(seconds=1), PLACED, PLACED + MS):
        out = buyer_asks(make_order(), at, policy=none)
        assert out.request.status is CancellationStatus.PENDING
        assert out.records[0].action is CancellationAction.REQUEST


def test_c1_cash_on_delivery_cancel_at_once_refunds_nothing() -> None:
    order = make_order(method=PaymentMethod.CASH_ON_DELIVERY)
    assert order.amount_paid == Money(0, "USD")

    out = buyer_asks(order, PLACED + timedelta(minutes=5))

    assert out.request.status is CancellationStatus.CANCELLED
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.payment_state is PaymentState.VOIDED
    assert out.order.refunded == Money(0, "USD")
    refund = out.request.refund
    assert refund is not None
    assert refund.items == Money(0, "USD")
    assert refund.shipping == Money(0, "USD")
    assert "refund" not in buyer_notes(out)[0].message.lower()


def test_c1_unpaid_order_cancels_at_once_with_no_refund_even_after_window() -> None:
    order = make_order(FulfilmentState.UNPAID, payment_due_at=PLACED + 24 * HOUR)
    out = buyer_asks(order, PLACED + 5 * HOUR)

    assert out.request.status is CancellationStatus.CANCELLED
    assert out.records[0].action is CancellationAction.CANCEL_AT_ONCE
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.payment_state is PaymentState.VOIDED
    assert out.order.refunded == Money(0, "USD")
    assert out.request.refund is not None
    assert out.request.refund.total == Money(0, "USD")


def test_c1_eligibility_tells_the_buyer_what_the_button_will_do() -> None:
    order = make_order()
    inside = buyer_eligibility(order, DEFAULT_POLICY, PLACED + HOUR - MS)
    after = buyer_eligibility(order, DEFAULT_POLICY, PLACED + HOUR)

    assert (inside.allowed, inside.at_once) == (True, True)
    assert (after.allowed, after.at_once) == (True, False)
    assert inside.window_ends_at == after.window_ends_at == PLACED + HOUR


# --- C2 -----------------------------------------------------------------------------------


def test_c2_after_window_becomes_request_waiting_for_seller() -> None:
    order = make_order()
    now = PLACED + 2 * HOUR
    out = buyer_asks(order, now, reason="ORDERED_BY_MISTAKE", note="  wrong size  ")

    c = out.request
    assert c.status is CancellationStatus.PENDING
    assert c.tab is CancellationTab.TO_PROCEED
    assert c.reason == "ORDERED_BY_MISTAKE"
    assert c.note == "wrong size"
    assert c.requested_at == now
    assert c.respond_by == now + 48 * HOUR
    assert c.refund is None
    assert c.resolved_at is None
    assert out.order.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
    assert out.order.open_cancellation_id == c.id
    assert out.order.refunded is None
    (note,) = out.notifications
    assert note.recipient is Recipient.SHOP
    assert note.recipient_id == "shop-1"
    assert note.kind is NotificationKind.CANCELLATION_REQUESTED


def test_c2_request_needs_a_buyer_reason_from_the_list() -> None:
    with pytest.raises(ValidationFailed) as err:
        buyer_asks(make_order(), PLACED + 2 * HOUR, reason="BORED")
    assert err.value.field == "reason"


def test_c2_next_action_of_a_pending_request_is_the_sellers_answer() -> None:
    c, _ = pending()
    assert c.next_action == NextAction(ActorKind.SELLER_AGENT, "ACCEPT_OR_REJECT", c.respond_by)


def test_c2_next_action_is_none_once_decided() -> None:
    c, order = pending()
    out = reject(
        c,
        on_order(order, SELLER, c.requested_at + HOUR),
        commands.RejectCancellation(c.id, "CUSTOM_MADE", None),
    )
    assert out.request.next_action is None


def test_c2_second_request_while_one_waits_is_refused() -> None:
    c, order = pending()
    with pytest.raises(DuplicateRequest) as err:
        buyer_asks(order, c.requested_at + HOUR, new_id="can-2")
    assert err.value.existing_id == c.id


def test_c2_buyer_withdraws_a_pending_request() -> None:
    c, order = pending()
    now = c.requested_at + 3 * HOUR
    out = withdraw(c, on_order(order, BUYER, now), commands.WithdrawCancellation(c.id))

    assert out.request.status is CancellationStatus.WITHDRAWN
    assert out.request.tab is CancellationTab.CLOSED
    assert out.request.resolved_at == now
    assert out.request.respond_by == c.respond_by  # kept once decided
    assert out.request.next_action is None
    assert out.records[0].from_status is CancellationStatus.PENDING
    assert out.order.open_cancellation_id is None
    assert out.order.rejected_cancellation_id is None
    assert out.order.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
    (note,) = out.notifications
    assert (note.recipient, note.kind) == (Recipient.SHOP, NotificationKind.CANCELLATION_WITHDRAWN)
    # Withdrawn is not a rejection: the buyer may ask again.
    again = buyer_asks(out.order, now + MS, new_id="can-2")
    assert again.request.status is CancellationStatus.PENDING


def test_c2_seller_cannot_withdraw_the_buyers_request() -> None:
    c, order = pending()
    with pytest.raises(InvalidTransition):
        withdraw(
            c, on_order(order, SELLER, c.requested_at + HOUR), commands.WithdrawCancellation(c.id)
        )


def test_c2_withdraw_is_refused_once_the_response_window_closed() -> None:
    c, order = pending()
    assert c.respond_by is not None
    with pytest.raises(ResponseWindowClosed):
        withdraw(c, on_order(order, BUYER, c.respond_by), commands.WithdrawCancellation(c.id))


def test_c2_comment_longer_than_500_characters_is_refused() -> None:
    ok = buyer_asks(make_order(), PLACED + 2 * HOUR, note="x" * COMMENT_MAX_LENGTH)
    assert ok.request.note == "x" * 500
    with pytest.raises(ValidationFailed) as err:
        buyer_asks(make_order(), PLACED + 2 * HOUR, note="x" * (COMMENT_MAX_LENGTH + 1))
    assert err.value.field == "note"


# --- C3 -----------------------------------------------------------------------------------


def test_c3_in_transit_order_cannot_be_cancelled() -> None:
    order = make_order(FulfilmentState.IN_TRANSIT)
    with pytest.raises(OrderNotCancellable) as err:
        buyer_asks(order, PLACED + timedelta(minutes=5))
    assert err.value.code == "ORDER_IN_TRANSIT"
    assert err.value.fulfilment_state == "IN_TRANSIT"
    assert "carrier" in err.value.message
    assert "refuse the delivery" in err.value.message


def test_c3_delivered_order_cannot_be_cancelled() -> None:
    order = make_order(FulfilmentState.DELIVERED)
    with pytest.raises(OrderNotCancellable) as err:
        buyer_asks(order, PLACED + 30 * HOUR)
    assert err.value.code == "ORDER_DELIVERED"
    assert "return" in err.value.message


def test_c3_order_handed_to_carrier_becomes_uncancellable() -> None:
    order = make_order().handed_to_carrier(PLACED + 10 * HOUR, "UPS", "1Z999")
    assert order.fulfilment_state is FulfilmentState.IN_TRANSIT
    eligibility = buyer_eligibility(order, DEFAULT_POLICY, PLACED + 11 * HOUR)
    assert eligibility.allowed is False
    assert eligibility.code == "ORDER_IN_TRANSIT"
    with pytest.raises(OrderNotCancellable):
        cancel_by_seller(
            Opening(DEFAULT_POLICY, PLACED, "c"),
            on_order(order, SELLER, PLACED),
            commands.CancelOrder(order.id, "OUT_OF_STOCK", None),
        )


def test_c3_already_cancelled_order_cannot_be_cancelled_again() -> None:
    out = buyer_asks(make_order(), PLACED + MS)
    with pytest.raises(OrderNotCancellable) as err:
        buyer_asks(out.order, PLACED + 2 * MS, new_id="can-2")
    assert err.value.code == "ORDER_ALREADY_CANCELLED"


def test_c3_pending_request_blocks_handing_the_order_to_the_carrier() -> None:
    c, order = pending()
    with pytest.raises(InvalidTransition) as err:
        order.handed_to_carrier(c.requested_at + HOUR, "UPS", "1Z999")
    assert err.value.current_state == "CANCELLATION_PENDING"


# --- C4 -----------------------------------------------------------------------------------


def test_c4_accept_cancels_order_and_refunds_everything_paid() -> None:
    c, order = pending()
    now = c.requested_at + 5 * HOUR
    out = accept(c, on_order(order, SELLER, now), commands.AcceptCancellation(c.id))

    new_c = out.request
    assert new_c.status is CancellationStatus.CANCELLED
    assert new_c.tab is CancellationTab.COMPLETED
    assert new_c.resolved_at == now
    assert new_c.respond_by == c.respond_by  # kept once decided
    assert new_c.next_action is None
    assert out.records[0].from_status is CancellationStatus.PENDING
    assert new_c.refund is not None
    assert new_c.refund.items == Money(ITEMS_MINOR, "USD")
    assert new_c.refund.shipping == Money(SHIPPING_MINOR, "USD")
    assert new_c.refund.total == Money(GRAND_MINOR, "USD") == order.amount_paid
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.payment_state is PaymentState.REFUNDED
    assert out.order.refunded == Money(GRAND_MINOR, "USD")
    assert out.order.open_cancellation_id is None
    (note,) = out.notifications
    assert note.recipient is Recipient.BUYER
    assert note.kind is NotificationKind.ORDER_CANCELLED
    assert "64.99 USD" in note.message


def test_c4_accept_of_cash_on_delivery_order_refunds_nothing() -> None:
    asked = buyer_asks(make_order(method=PaymentMethod.CASH_ON_DELIVERY), PLACED + 2 * HOUR)
    assert asked.request.status is CancellationStatus.PENDING
    out = accept(
        asked.request,
        on_order(asked.order, SELLER, PLACED + 3 * HOUR),
        commands.AcceptCancellation(asked.request.id),
    )

    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.payment_state is PaymentState.VOIDED
    assert out.order.refunded == Money(0, "USD")
    assert out.request.refund is not None
    assert out.request.refund.total == Money(0, "USD")


def test_c4_buyer_cannot_accept_their_own_request() -> None:
    c, order = pending()
    with pytest.raises(InvalidTransition) as err:
        accept(c, on_order(order, BUYER, c.requested_at + HOUR), commands.AcceptCancellation(c.id))
    assert "SELLER_AGENT" in err.value.message


def test_c4_accept_of_a_decided_request_is_refused_as_not_pending() -> None:
    c, order = pending()
    done = reject(
        c,
        on_order(order, SELLER, c.requested_at + HOUR),
        commands.RejectCancellation(c.id, "CUSTOM_MADE", None),
    )
    with pytest.raises(NotPending) as err:
        accept(
            done.request,
            on_order(done.order, SELLER, c.requested_at + 2 * HOUR),
            commands.AcceptCancellation(done.request.id),
        )
    assert err.value.current_state == "REJECTED"


# --- C5 -----------------------------------------------------------------------------------


def test_c5_reject_needs_a_reason_from_the_list() -> None:
    c, order = pending()
    now = c.requested_at + HOUR
    with pytest.raises(ValidationFailed) as err:
        reject(
            c,
            on_order(order, SELLER, now),
            commands.RejectCancellation(c.id, "I_DONT_WANT_TO", None),
        )
    assert err.value.field == "reason"
    # A buyer's reason is not a seller's rejection reason either.
    with pytest.raises(ValidationFailed):
        reject(
            c, on_order(order, SELLER, now), commands.RejectCancellation(c.id, "CHANGED_MIND", None)
        )
    # Refused: the request still waits.
    assert c.status is CancellationStatus.PENDING
    assert order.open_cancellation_id == c.id


def test_c5_reject_keeps_the_order_going() -> None:
    c, order = pending()
    now = c.requested_at + HOUR
    out = reject(
        c,
        on_order(order, SELLER, now),
        commands.RejectCancellation(c.id, "AGREED_WITH_BUYER", "  spoke on chat  "),
    )

    new_c = out.request
    assert new_c.status is CancellationStatus.REJECTED
    assert new_c.tab is CancellationTab.CLOSED
    assert new_c.rejection_reason == "AGREED_WITH_BUYER"
    assert new_c.rejection_comment == "spoke on chat"
    assert new_c.refund is None
    assert new_c.resolved_at == now
    assert out.order.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
    assert out.order.payment_state is PaymentState.PAID
    assert out.order.refunded is None
    assert out.order.open_cancellation_id is None
    assert out.order.rejected_cancellation_id == c.id
    # The order goes on: it can be shipped now.
    shipped = out.order.handed_to_carrier(now + HOUR, "UPS", "1Z999")
    assert shipped.fulfilment_state is FulfilmentState.IN_TRANSIT
    (note,) = out.notifications
    assert (note.recipient, note.kind) == (Recipient.BUYER, NotificationKind.CANCELLATION_REJECTED)
    assert "Buyer agreed to keep the order" in note.message


def test_c5_comment_is_optional_and_blank_is_none() -> None:
    c, order = pending()
    out = reject(
        c,
        on_order(order, SELLER, c.requested_at + HOUR),
        commands.RejectCancellation(c.id, "OTHER", "   "),
    )
    assert out.request.rejection_comment is None
    assert out.records[0].comment is None


def test_c5_comment_longer_than_500_characters_is_refused() -> None:
    c, order = pending()
    now = c.requested_at + HOUR
    ok = reject(
        c, on_order(order, SELLER, now), commands.RejectCancellation(c.id, "OTHER", "y" * 500)
    )
    assert ok.request.rejection_comment == "y" * 500
    with pytest.raises(ValidationFailed) as err:
        reject(
            c, on_order(order, SELLER, now), commands.RejectCancellation(c.id, "OTHER", "y" * 501)
        )
    assert err.value.field == "comment"


def test_c5_second_request_after_a_rejection_is_refused() -> None:
    c, order = pending()
    rejected = reject(
        c,
        on_order(order, SELLER, c.requested_at + HOUR),
        commands.RejectCancellation(c.id, "CUSTOM_MADE", None),
    )
    later = c.requested_at + 2 * HOUR
    with pytest.raises(DuplicateRequest) as err:
        buyer_asks(rejected.order, later, new_id="can-2")
    assert err.value.existing_id == c.id
    eligibility = buyer_eligibility(rejected.order, DEFAULT_POLICY, later)
    assert eligibility.allowed is False
    assert eligibility.code == "ALREADY_REQUESTED"


def test_c5_buyer_cannot_reject() -> None:
    c, order = pending()
    with pytest.raises(InvalidTransition):
        reject(
            c,
            on_order(order, BUYER, c.requested_at + HOUR),
            commands.RejectCancellation(c.id, "OTHER", None),
        )


# --- C6 -----------------------------------------------------------------------------------


def test_c6_seller_silence_auto_accepts_after_48h() -> None:
    c, order = pending()
    deadline = c.requested_at + 48 * HOUR
    assert c.respond_by == deadline

    with pytest.raises(InvalidTransition):
        auto_accept(c, on_order(order, EXPIRY_WORKER, deadline - MS))

    out = auto_accept(c, on_order(order, EXPIRY_WORKER, deadline))
    assert out.request.status is CancellationStatus.CANCELLED
    assert out.request.tab is CancellationTab.COMPLETED
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.refunded == Money(GRAND_MINOR, "USD")
    assert out.records[0].actor_kind is ActorKind.PLATFORM
    assert out.records[0].actor_id == "expiry-worker"
    assert out.records[0].action is CancellationAction.AUTO_ACCEPT
    assert out.records[0].reason == AUTO_ACCEPT_REASON
    assert out.records[0].deadline == deadline
    # Both sides learn it happened: the buyer (C9) and the silent shop.
    assert [n.recipient for n in out.notifications] == [Recipient.BUYER, Recipient.SHOP]
    assert {n.kind for n in out.notifications} == {NotificationKind.ORDER_CANCELLED}


def test_c6_response_window_comes_from_the_policy() -> None:
    policy = CategoryPolicy(seller_response_window=timedelta(hours=6))
    c, order = pending(policy)
    deadline = c.requested_at + 6 * HOUR
    assert c.respond_by == deadline
    assert c.policy == policy
    with pytest.raises(InvalidTransition):
        auto_accept(c, on_order(order, EXPIRY_WORKER, deadline - MS))
    out = auto_accept(c, on_order(order, EXPIRY_WORKER, deadline))
    assert out.request.status is CancellationStatus.CANCELLED
    assert out.records[0].deadline == deadline


def test_c6_seller_cannot_decide_after_the_window_closed() -> None:
    c, order = pending()
    assert c.respond_by is not None
    last_moment = c.respond_by - MS

    assert accept(
        c, on_order(order, SELLER, last_moment), commands.AcceptCancellation(c.id)
    ).request.status is (CancellationStatus.CANCELLED)
    assert reject(
        c, on_order(order, SELLER, last_moment), commands.RejectCancellation(c.id, "OTHER", None)
    ).request.status is (CancellationStatus.REJECTED)
    with pytest.raises(ResponseWindowClosed) as err:
        accept(c, on_order(order, SELLER, c.respond_by), commands.AcceptCancellation(c.id))
    assert err.value.deadline == c.respond_by
    with pytest.raises(ResponseWindowClosed):
        reject(
            c,
            on_order(order, SELLER, c.respond_by + HOUR),
            commands.RejectCancellation(c.id, "OTHER", None),
        )


def test_c6_seller_cannot_auto_accept() -> None:
    c, order = pending()
    assert c.respond_by is not None
    with pytest.raises(InvalidTransition) as err:
        auto_accept(c, on_order(order, SELLER, c.respond_by))
    assert "PLATFORM" in err.value.message


def test_c6_auto_accept_of_a_decided_request_is_refused() -> None:
    c, order = pending()
    done = withdraw(
        c, on_order(order, BUYER, c.requested_at + HOUR), commands.WithdrawCancellation(c.id)
    )
    with pytest.raises(NotPending):
        auto_accept(done.request, on_order(done.order, EXPIRY_WORKER, c.requested_at + 49 * HOUR))


# --- C7 -----------------------------------------------------------------------------------


def test_c7_seller_cancel_refunds_and_notifies_buyer() -> None:
    order = make_order()
    now = PLACED + 20 * HOUR
    out = cancel_by_seller(
        Opening(DEFAULT_POLICY, now, "c7"),
        on_order(order, SELLER, now),
        commands.CancelOrder(order.id, "OUT_OF_STOCK", "last one broke"),
    )

    c = out.request
    assert c.status is CancellationStatus.CANCELLED
    assert c.initiator is Initiator.SELLER
    assert c.reason == "OUT_OF_STOCK"
    assert c.note == "last one broke"
    assert c.refund is not None
    assert c.refund.items + c.refund.shipping == Money(GRAND_MINOR, "USD")
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.refunded == Money(GRAND_MINOR, "USD")
    (note,) = out.notifications
    assert note.recipient is Recipient.BUYER
    assert note.recipient_id == "buyer-1"
    assert note.kind is NotificationKind.ORDER_CANCELLED
    assert "Out of stock" in note.message
    assert "64.99 USD" in note.message


def test_c7_seller_cancel_needs_a_reason_from_the_list() -> None:
    with pytest.raises(ValidationFailed):
        cancel_by_seller(
            Opening(DEFAULT_POLICY, PLACED, "c"),
            on_order(make_order(), SELLER, PLACED),
            commands.CancelOrder((make_order()).id, "CHANGED_MIND", None),
        )


def test_c7_seller_cannot_cancel_around_a_pending_buyer_request() -> None:
    c, order = pending()
    with pytest.raises(InvalidTransition) as err:
        cancel_by_seller(
            Opening(DEFAULT_POLICY, PLACED, "c7"),
            on_order(order, SELLER, PLACED),
            commands.CancelOrder(order.id, "OUT_OF_STOCK", None),
        )
    assert err.value.current_state == "CANCELLATION_PENDING"
    assert order.open_cancellation_id == c.id
    assert order.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT


def test_c7_buyer_and_platform_cannot_use_the_seller_cancel() -> None:
    for actor in (BUYER, PLATFORM):
        with pytest.raises(InvalidTransition):
            cancel_by_seller(
                Opening(DEFAULT_POLICY, PLACED, "c"),
                on_order(make_order(), actor, PLACED),
                commands.CancelOrder((make_order()).id, "OUT_OF_STOCK", None),
            )


# --- C8 -----------------------------------------------------------------------------------


def test_c8_system_cancels_unpaid_order_after_payment_window_and_notifies_seller() -> None:
    due = PLACED + 24 * HOUR
    order = make_order(FulfilmentState.UNPAID, payment_due_at=due)
    out = cancel_by_system(
        Opening(DEFAULT_POLICY, due, "c8"),
        on_order(order, PLATFORM, due),
        commands.CancelUnpaidOrder(order.id),
    )

    c = out.request
    assert c.status is CancellationStatus.CANCELLED
    assert c.initiator is Initiator.PLATFORM
    assert out.records[0].actor_kind is ActorKind.PLATFORM
    assert out.order.fulfilment_state is FulfilmentState.CANCELLED
    assert out.order.payment_state is PaymentState.VOIDED
    assert out.order.refunded == Money(0, "USD")
    shop = shop_notes(out)
    assert len(shop) == 1
    assert shop[0].recipient_id == "shop-1"
    assert shop[0].kind is NotificationKind.ORDER_CANCELLED
    assert "not paid in time" in shop[0].message


def test_c8_refused_while_the_buyer_may_still_pay() -> None:
    due = PLACED + 24 * HOUR
    order = make_order(FulfilmentState.UNPAID, payment_due_at=due)
    with pytest.raises(PaymentWindowOpen) as err:
        cancel_by_system(
            Opening(DEFAULT_POLICY, due - MS, "c8"),
            on_order(order, PLATFORM, due - MS),
            commands.CancelUnpaidOrder(order.id),
        )
    assert err.value.payment_due_at == due
    assert order.fulfilment_state is FulfilmentState.UNPAID


def test_c8_refused_for_a_paid_order() -> None:
    with pytest.raises(InvalidTransition) as err:
        cancel_by_system(
            Opening(DEFAULT_POLICY, PLACED, "c8"),
            on_order(make_order(), PLATFORM, PLACED),
            commands.CancelUnpaidOrder((make_order()).id),
        )
    assert err.value.current_state == "AWAITING_SHIPMENT"


def test_c8_only_the_platform_cancels_for_non_payment() -> None:
    order = make_order(FulfilmentState.UNPAID, payment_due_at=PLACED + HOUR)
    for actor in (BUYER, SELLER):
        with pytest.raises(InvalidTransition):
            cancel_by_system(
                Opening(DEFAULT_POLICY, PLACED + 2 * HOUR, "c8"),
                on_order(order, actor, PLACED + 2 * HOUR),
                commands.CancelUnpaidOrder(order.id),
            )
    # The platform's one reason (NON_PAYMENT) is the step's own: its command names no reason.
    out = cancel_by_system(
        Opening(DEFAULT_POLICY, PLACED + 2 * HOUR, "c8"),
        on_order(order, PLATFORM, PLACED + 2 * HOUR),
        commands.CancelUnpaidOrder(order.id),
    )
    assert out.request.reason == "NON_PAYMENT"


# --- C9 -----------------------------------------------------------------------------------


def _every_way_to_cancel() -> dict[str, CancellationOutcome]:
    c, order = pending()
    assert c.respond_by is not None
    unpaid = make_order(FulfilmentState.UNPAID, payment_due_at=PLACED + HOUR)
    return {
        "C1": buyer_asks(make_order(), PLACED + MS),
        "C4": accept(
            c, on_order(order, SELLER, c.requested_at + HOUR), commands.AcceptCancellation(c.id)
        ),
        "C6": auto_accept(c, on_order(order, EXPIRY_WORKER, c.respond_by)),
        "C7": cancel_by_seller(
            Opening(DEFAULT_POLICY, PLACED, "7"),
            on_order(make_order(), SELLER, PLACED),
            commands.CancelOrder((make_order()).id, "PRICING_ERROR", None),
        ),
        "C8": cancel_by_system(
            Opening(DEFAULT_POLICY, PLACED + HOUR, "8"),
            on_order(unpaid, PLATFORM, PLACED + HOUR),
            commands.CancelUnpaidOrder(unpaid.id),
        ),
    }


def test_c9_buyer_is_notified_whenever_the_order_is_cancelled() -> None:
    for rule, out in _every_way_to_cancel().items():
        assert out.order.fulfilment_state is FulfilmentState.CANCELLED, rule
        assert out.request.status is CancellationStatus.CANCELLED, rule
        notes = buyer_notes(out)
        assert len(notes) == 1, rule
        assert notes[0].recipient_id == "buyer-1", rule
        assert notes[0].kind is NotificationKind.ORDER_CANCELLED, rule
        assert notes[0].order_id == "ord-1", rule
        assert notes[0].request_id == out.request.id, rule
        assert notes[0].at == out.records[0].at, rule


def test_c9_refund_in_the_buyers_notice_equals_what_was_paid() -> None:
    for rule, out in _every_way_to_cancel().items():
        refund = out.request.refund
        assert refund is not None, rule
        assert refund.total == out.order.refunded, rule
        assert refund.items.minor + refund.shipping.minor == refund.total.minor, rule
        if refund.total.minor:
            assert str(refund.total) in buyer_notes(out)[0].message, rule


# --- Timeline, tabs and the transition table ----------------------------------------------


def test_c2_timeline_has_one_record_per_transition_with_who_and_why() -> None:
    c, order = pending()
    assert c.respond_by is not None
    (first,) = c.timeline
    assert first.actor_kind is ActorKind.BUYER
    assert first.actor_id == "buyer-1"
    assert first.action is CancellationAction.REQUEST
    assert (first.from_status, first.to_status) == (None, CancellationStatus.PENDING)
    assert first.reason == "CHANGED_MIND"
    assert first.at == c.requested_at
    assert first.deadline is None

    out = auto_accept(c, on_order(order, EXPIRY_WORKER, c.respond_by + HOUR))
    assert len(out.request.timeline) == 2
    assert out.request.timeline[0] == first
    last = out.request.timeline[-1]
    assert last == out.records[0]
    assert (last.from_status, last.to_status) == (
        CancellationStatus.PENDING,
        CancellationStatus.CANCELLED,
    )
    assert last.at == c.respond_by + HOUR
    assert last.deadline == c.respond_by


def test_c5_timeline_record_of_a_rejection_carries_reason_and_comment() -> None:
    c, order = pending()
    out = reject(
        c,
        on_order(order, SELLER, c.requested_at + HOUR),
        commands.RejectCancellation(c.id, "CUSTOM_MADE", "already cut"),
    )
    assert len(out.request.timeline) == 2
    record = out.request.timeline[-1]
    assert record.actor_kind is ActorKind.SELLER_AGENT
    assert record.actor_id == "agent-7"
    assert record.action is CancellationAction.REJECT
    assert record.from_status is CancellationStatus.PENDING
    assert record.to_status is CancellationStatus.REJECTED
    assert record.reason == "CUSTOM_MADE"
    assert record.comment == "already cut"
    assert record.deadline is None


def test_c1_timeline_of_an_immediate_cancel_is_a_single_record() -> None:
    out = buyer_asks(make_order(), PLACED + MS, note="oops")
    (record,) = out.request.timeline
    assert record == out.records[0]
    assert (record.from_status, record.to_status) == (None, CancellationStatus.CANCELLED)
    assert record.comment == "oops"
    assert record.reason == "CHANGED_MIND"


def test_c2_tab_follows_the_status() -> None:
    assert TAB_OF_STATUS == {
        CancellationStatus.PENDING: CancellationTab.TO_PROCEED,
        CancellationStatus.CANCELLED: CancellationTab.COMPLETED,
        CancellationStatus.REJECTED: CancellationTab.CLOSED,
        CancellationStatus.WITHDRAWN: CancellationTab.CLOSED,
    }
    c, order = pending()
    outcomes = [
        accept(
            c, on_order(order, SELLER, c.requested_at + HOUR), commands.AcceptCancellation(c.id)
        ),
        reject(
            c,
            on_order(order, SELLER, c.requested_at + HOUR),
            commands.RejectCancellation(c.id, "OTHER", None),
        ),
        withdraw(
            c, on_order(order, BUYER, c.requested_at + HOUR), commands.WithdrawCancellation(c.id)
        ),
    ]
    for cancellation in [c, *(o.request for o in outcomes)]:
        assert cancellation.tab is TAB_OF_STATUS[cancellation.status]
    assert [o.request.tab for o in outcomes] == [
        CancellationTab.COMPLETED,
        CancellationTab.CLOSED,
        CancellationTab.CLOSED,
    ]


def test_c4_transition_table_names_who_may_make_each_move() -> None:
    expected = {
        CancellationAction.CANCEL_AT_ONCE: (None, CancellationStatus.CANCELLED, ActorKind.BUYER),
        CancellationAction.REQUEST: (None, CancellationStatus.PENDING, ActorKind.BUYER),
        CancellationAction.ACCEPT: (
            CancellationStatus.PENDING,
            CancellationStatus.CANCELLED,
            ActorKind.SELLER_AGENT,
        ),
        CancellationAction.REJECT: (
            CancellationStatus.PENDING,
            CancellationStatus.REJECTED,
            ActorKind.SELLER_AGENT,
        ),
        CancellationAction.AUTO_ACCEPT: (
            CancellationStatus.PENDING,
            CancellationStatus.CANCELLED,
            ActorKind.PLATFORM,
        ),
        CancellationAction.WITHDRAW: (
            CancellationStatus.PENDING,
            CancellationStatus.WITHDRAWN,
            ActorKind.BUYER,
        ),
        CancellationAction.SELLER_CANCEL: (
            None,
            CancellationStatus.CANCELLED,
            ActorKind.SELLER_AGENT,
        ),
        CancellationAction.SYSTEM_CANCEL: (None, CancellationStatus.CANCELLED, ActorKind.PLATFORM),
        CancellationAction.SELLER_CANCEL_LINES: (
            None,
            CancellationStatus.CANCELLED,
            ActorKind.SELLER_AGENT,
        ),
    }
    actual = {t.action: (t.source, t.target, *t.actors) for t in TRANSITIONS}
    assert actual == expected


def test_c4_refused_actions_change_nothing() -> None:
    c, order = pending()
    c_before = dataclasses.asdict(c)
    order_before = dataclasses.asdict(order)
    assert c.respond_by is not None
    refusals = [
        lambda: accept(
            c, on_order(order, BUYER, c.requested_at + HOUR), commands.AcceptCancellation(c.id)
        ),
        lambda: accept(c, on_order(order, SELLER, c.respond_by), commands.AcceptCancellation(c.id)),
        lambda: auto_accept(c, on_order(order, SELLER, c.respond_by)),
        lambda: auto_accept(c, on_order(order, EXPIRY_WORKER, c.requested_at + HOUR)),
        lambda: reject(
            c,
            on_order(order, SELLER, c.requested_at + HOUR),
            commands.RejectCancellation(c.id, "NOPE", None),
        ),
        lambda: reject(
            c,
            on_order(order, SELLER, c.requested_at + HOUR),
            commands.RejectCancellation(c.id, "OTHER", "z" * 501),
        ),
        lambda: withdraw(
            c, on_order(order, SELLER, c.requested_at + HOUR), commands.WithdrawCancellation(c.id)
        ),
        lambda: buyer_asks(order, c.requested_at + HOUR, new_id="can-2"),
        lambda: cancel_by_seller(
            Opening(DEFAULT_POLICY, PLACED, "x"),
            on_order(order, SELLER, PLACED),
            commands.CancelOrder(order.id, "OUT_OF_STOCK", None),
        ),
    ]
    for refuse in refusals:
        with pytest.raises(DomainError):
            refuse()
    assert dataclasses.asdict(c) == c_before
    assert dataclasses.asdict(order) == order_before
    assert c.status is CancellationStatus.PENDING
    assert len(c.timeline) == 1
    assert order.open_cancellation_id == c.id


def test_c4_cancellation_and_order_are_frozen() -> None:
    c, order = pending()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.status = CancellationStatus.CANCELLED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.fulfilment_state = FulfilmentState.CANCELLED  # type: ignore[misc]


def test_c4_accepting_leaves_the_input_objects_as_they_were() -> None:
    c, order = pending()
    out = accept(
        c, on_order(order, SELLER, c.requested_at + HOUR), commands.AcceptCancellation(c.id)
    )
    assert out.request is not c
    assert c.status is CancellationStatus.PENDING
    assert len(c.timeline) == 1
    assert order.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
    assert order.open_cancellation_id == c.id
    assert order.refunded is None


def test_c1_refund_is_exact_in_a_zero_exponent_currency() -> None:
    order = make_order(currency="JPY")
    out = buyer_asks(order, PLACED + MS)
    refund = out.request.refund
    assert refund is not None
    assert refund.items == Money(ITEMS_MINOR, "JPY")
    assert refund.shipping == Money(SHIPPING_MINOR, "JPY")
    assert str(refund.total) == f"{GRAND_MINOR} JPY"

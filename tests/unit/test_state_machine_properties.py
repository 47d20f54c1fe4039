"""C1-C9 as properties: random orders, random actors, random actions at random (forward) times.

Each action goes through the domain functions exactly as the services call them. A raised
DomainError is a refusal: the state stays as it was. After every step the invariants of the
cancellation state machine must hold, whatever happened before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from models import commands
from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.cancellation_states import TAB_OF_STATUS, TRANSITIONS
from models.cancellations import (
    Cancellation,
    CancellationOutcome,
    CancellationStatus,
    accept,
    auto_accept,
    buyer_eligibility,
    cancel_by_seller,
    cancel_by_system,
    reject,
    request_by_buyer,
    withdraw,
)
from models.errors import DomainError
from models.money import Money
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.policy import CategoryPolicy
from models.reasons import (
    BUYER_CANCEL_REASONS,
    CANCELLATION_REJECT_REASONS,
    SELLER_CANCEL_REASONS,
    SYSTEM_CANCEL_REASONS,
)
from models.requests import Opening, Outcome
from tests.unit.cancellation_steps import on_order

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)

ACTORS = {
    ActorKind.BUYER: Actor(ActorKind.BUYER, "buyer-1"),
    ActorKind.SELLER_AGENT: Actor(
        ActorKind.SELLER_AGENT, "agent-1", shop_id="shop-1", permissions=frozenset({"adjustments"})
    ),
    ActorKind.PLATFORM: EXPIRY_WORKER,
    # A system feeding the shop's orders: every request step must refuse it.
    ActorKind.INTEGRATION: Actor(ActorKind.INTEGRATION, "orders-1", shop_id="shop-1"),
}

ACTIONS = (
    "request",
    "accept",
    "reject",
    "withdraw",
    "auto_accept",
    "seller_cancel",
    "system_cancel",
    "pay",
    "hand_to_carrier",
    "delivered",
)

# Requests and decisions come up more often than the order's own moves.
WEIGHTED_ACTIONS = (
    *ACTIONS,
    *["request"] * 4,
    *["accept", "reject", "auto_accept"] * 2,
    "withdraw",
)

_START_STATES = {
    PaymentMethod.PREPAID: [
        FulfilmentState.UNPAID,
        FulfilmentState.AWAITING_SHIPMENT,
        FulfilmentState.IN_TRANSIT,
        FulfilmentState.DELIVERED,
    ],
    PaymentMethod.CASH_ON_DELIVERY: [
        FulfilmentState.AWAITING_SHIPMENT,
        FulfilmentState.IN_TRANSIT,
        FulfilmentState.DELIVERED,
    ],
}


@st.composite
def orders(draw: st.DrawFn) -> Order:
    currency = draw(st.sampled_from(["USD", "JPY", "EUR"]))
    method = draw(st.sampled_from(list(PaymentMethod)))
    # Mostly orders that can still be cancelled, so the interesting moves get exercised.
    state = (
        draw(st.sampled_from(_START_STATES[method]))
        if draw(st.integers(0, 2)) == 0
        else FulfilmentState.AWAITING_SHIPMENT
    )
    placed_at = EPOCH + timedelta(milliseconds=draw(st.integers(0, 365 * 24 * 3600 * 1000)))
    n_lines = draw(st.integers(1, 3))
    lines = tuple(
        LineItem(
            f"line-{n}",
            f"SKU-{n}",
            f"Item {n}",
            draw(st.integers(1, 5)),
            Money(draw(st.integers(0, 200_000)), currency),
            draw(st.sampled_from(["home", "beauty", "food"])),
        )
        for n in range(n_lines)
    )
    if state is FulfilmentState.UNPAID:
        payment = PaymentState.AWAITING_PAYMENT
    elif method is PaymentMethod.CASH_ON_DELIVERY and state is not FulfilmentState.DELIVERED:
        payment = PaymentState.COLLECT_ON_DELIVERY
    else:
        payment = PaymentState.PAID
    due = None
    if state is FulfilmentState.UNPAID and draw(st.booleans()):
        due = placed_at + timedelta(minutes=draw(st.integers(1, 72 * 60)))
    return Order(
        id="ord-1",
        shop_id="shop-1",
        buyer_id="buyer-1",
        lines=lines,
        shipping_fee=Money(draw(st.integers(0, 3_000)), currency),
        payment_method=method,
        payment_state=payment,
        fulfilment_state=state,
        placed_at=placed_at,
        payment_due_at=due,
    )


policies = st.builds(
    CategoryPolicy,
    unconditional_cancel_window=st.integers(1, 180).map(lambda m: timedelta(minutes=m)),
    seller_response_window=st.integers(1, 96).map(lambda h: timedelta(hours=h)),
)

# How far time moves before a step: a few ms to a few days, or exactly to a deadline.
advances = st.one_of(
    st.integers(0, 1_000).map(lambda ms: timedelta(milliseconds=ms)),
    st.integers(0, 3 * 3600).map(lambda s: timedelta(seconds=s)),
    st.integers(0, 100 * 3600).map(lambda s: timedelta(seconds=s)),
    st.sampled_from(["to_deadline", "just_before_deadline"]),
)


@dataclass(frozen=True)
class Step:
    action: str
    actor: ActorKind
    advance: timedelta | str
    pick: int
    reason_index: int
    comment: str | None


# The actor each action is meant for: a step uses it half the time, and a random one otherwise.
RIGHT_ACTOR = {
    "request": ActorKind.BUYER,
    "withdraw": ActorKind.BUYER,
    "accept": ActorKind.SELLER_AGENT,
    "reject": ActorKind.SELLER_AGENT,
    "seller_cancel": ActorKind.SELLER_AGENT,
    "auto_accept": ActorKind.PLATFORM,
    "system_cancel": ActorKind.PLATFORM,
}


@st.composite
def steps(draw: st.DrawFn) -> Step:
    action = draw(st.sampled_from(WEIGHTED_ACTIONS))
    right = RIGHT_ACTOR.get(action, ActorKind.PLATFORM)
    actor = right if draw(st.booleans()) else draw(st.sampled_from(list(ActorKind)))
    return Step(
        action=action,
        actor=actor,
        advance=draw(advances),
        pick=draw(st.integers(0, 7)),
        # Mostly a code from the action's catalogue; sometimes one from no catalogue.
        reason_index=draw(st.integers(0, 8)) if draw(st.integers(0, 7)) else -1,
        comment=draw(
            st.one_of(st.none(), st.text(max_size=20), st.just("x" * 501))
            if draw(st.integers(0, 7)) == 0
            else st.none()
        ),
    )


def _reason(catalogue: Mapping[str, str], index: int) -> str:
    codes = list(catalogue)
    return "NOT_A_REASON" if index < 0 else codes[index % len(codes)]


@dataclass
class World:
    order: Order
    policy: CategoryPolicy
    now: datetime
    paid: Money  # what the buyer has handed over so far, tracked independently of Order
    cancellations: dict[str, Cancellation] = field(default_factory=dict)
    next_id: int = 0

    def pending(self) -> Cancellation | None:
        waiting = [c for c in self.cancellations.values() if c.status is CancellationStatus.PENDING]
        assert len(waiting) <= 1, "at most one request waits at a time"
        return waiting[0] if waiting else None

    def new_id(self) -> str:
        self.next_id += 1
        return f"can-{self.next_id}"


def _advance(world: World, step: Step) -> None:
    if isinstance(step.advance, timedelta):
        world.now += step.advance
        return
    waiting = world.pending()
    if waiting is None or waiting.respond_by is None:
        return
    target = waiting.respond_by if step.advance == "to_deadline" else waiting.respond_by - MS
    world.now = max(world.now, target)


def _target(world: World, pick: int) -> Cancellation | None:
    waiting = world.pending()
    if waiting is not None and pick % 4 != 0:
        return waiting
    if not world.cancellations:
        return None
    existing = list(world.cancellations.values())
    return existing[pick % len(existing)]


def _apply(world: World, step: Step) -> CancellationOutcome | Order | None:
    """Run one step through the domain; return what it produced, or None if nothing to act on."""
    actor = ACTORS[step.actor]
    order, now, policy = world.order, world.now, world.policy
    match step.action:
        case "request":
            reason = _reason(BUYER_CANCEL_REASONS, step.reason_index)
            return request_by_buyer(
                Opening(policy, now, world.new_id()),
                on_order(order, actor, now),
                commands.RequestCancellation(order.id, reason, step.comment),
            )
        case "seller_cancel":
            reason = _reason(SELLER_CANCEL_REASONS, step.reason_index)
            return cancel_by_seller(
                Opening(policy, now, world.new_id()),
                on_order(order, actor, now),
                commands.CancelOrder(order.id, reason, step.comment),
            )
        case "system_cancel":
            reason = _reason(SYSTEM_CANCEL_REASONS, step.reason_index)
            return cancel_by_system(
                Opening(policy, now, world.new_id()),
                on_order(order, actor, now),
                commands.CancelUnpaidOrder(order.id),
            )
        case "pay":
            return order.paid(now)
        case "hand_to_carrier":
            return order.handed_to_carrier(now, "UPS", "1Z999")
        case "delivered":
            return order.delivered(now)
    c = _target(world, step.pick)
    if c is None:
        return None
    match step.action:
        case "accept":
            return accept(c, on_order(order, actor, now), commands.AcceptCancellation(c.id))
        case "reject":
            reason = _reason(CANCELLATION_REJECT_REASONS, step.reason_index)
            return reject(
                c,
                on_order(order, actor, now),
                commands.RejectCancellation(c.id, reason, step.comment),
            )
        case "withdraw":
            return withdraw(c, on_order(order, actor, now), commands.WithdrawCancellation(c.id))
        case "auto_accept":
            return auto_accept(c, on_order(order, actor, now))
    raise AssertionError(step.action)


def _check_expectations(world: World, step: Step, result: CancellationOutcome | Order) -> None:
    """What the step's success says about the rules, beyond the state invariants."""
    if not isinstance(result, Outcome):
        if step.action == "pay" or (
            step.action == "delivered"
            and world.order.payment_method is PaymentMethod.CASH_ON_DELIVERY
        ):
            world.paid = world.order.grand_total
        return
    c = result.request
    [record] = result.records  # a cancellation moves once a step
    transition = TRANSITIONS.only(record.action)
    assert record.actor_kind in transition.actors
    assert record.at == world.now
    if step.action == "request":
        # C1/C2: at once iff unpaid or inside the unconditional window, as the button promised.
        eligibility = buyer_eligibility(world.order, world.policy, world.now)
        at_once = (
            world.order.fulfilment_state is FulfilmentState.UNPAID
            or world.now < world.order.placed_at + world.policy.unconditional_cancel_window
        )
        assert eligibility.allowed
        # C5 and the marketplace: after a rejection the buyer may not ask again.
        assert world.order.rejected_cancellation_id is None
        assert all(
            old.status is not CancellationStatus.REJECTED for old in world.cancellations.values()
        )
        assert eligibility.at_once == at_once
        assert c.status is (CancellationStatus.CANCELLED if at_once else CancellationStatus.PENDING)
        if not at_once:
            assert c.respond_by == world.now + world.policy.seller_response_window
    if step.action == "auto_accept":
        # C6: never before the deadline, and the record names the deadline it acted on.
        before = world.cancellations[c.id]
        assert before.respond_by is not None
        assert world.now >= before.respond_by
        assert record.deadline == before.respond_by
    if step.action in ("accept", "reject", "withdraw"):
        before = world.cancellations[c.id]
        assert before.respond_by is not None
        assert world.now < before.respond_by
    if c.status is CancellationStatus.CANCELLED:
        # C4, C7, C9: everything paid comes back, and the buyer hears of it.
        assert c.refund is not None
        assert c.refund.total == world.paid
        assert result.order.refunded == world.paid
        assert [n.recipient_id for n in result.notifications].count(world.order.buyer_id) == 1
    # C3: nothing handed to the carrier or delivered was ever cancelled.
    if result.order.fulfilment_state is FulfilmentState.CANCELLED:
        assert world.order.fulfilment_state in (
            FulfilmentState.UNPAID,
            FulfilmentState.AWAITING_SHIPMENT,
        )


def _check_invariants(world: World) -> None:
    order = world.order
    for c in world.cancellations.values():
        assert c.timeline, c.id
        assert c.timeline[0].from_status is None
        assert c.timeline[0].at == c.requested_at
        previous: CancellationStatus | None = None
        for record in c.timeline:
            assert record.from_status is previous
            transition = TRANSITIONS.only(record.action)
            assert (transition.source, transition.target) == (
                record.from_status,
                record.to_status,
            )
            assert record.actor_kind in transition.actors
            assert any(
                t.source is record.from_status
                and t.target is record.to_status
                and record.actor_kind in t.actors
                for t in TRANSITIONS
            )
            previous = record.to_status
        assert [r.at for r in c.timeline] == sorted(r.at for r in c.timeline)
        assert c.timeline[-1].to_status is c.status
        assert c.tab is TAB_OF_STATUS[c.status]
        assert (c.next_action is not None) == (c.status is CancellationStatus.PENDING)
        assert (c.resolved_at is None) == (c.status is CancellationStatus.PENDING)
        if c.refund is not None:
            assert c.refund.items.minor >= 0
            assert c.refund.shipping.minor >= 0
            assert c.refund.total <= world.paid

    refunded = order.refunded or Money.zero(order.currency)
    assert Money.zero(order.currency) <= refunded <= world.paid
    assert order.amount_paid <= order.grand_total

    done = [c for c in world.cancellations.values() if c.status is CancellationStatus.CANCELLED]
    assert len(done) <= 1
    assert (order.fulfilment_state is FulfilmentState.CANCELLED) == bool(done)
    if done:
        assert order.cancelled_at == done[0].resolved_at

    waiting = world.pending()
    if waiting is not None:
        assert order.open_cancellation_id == waiting.id
        assert order.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
    else:
        assert order.open_cancellation_id is None

    rejected = [c for c in world.cancellations.values() if c.status is CancellationStatus.REJECTED]
    assert len(rejected) <= 1, "a buyer may ask only once after a rejection"
    if rejected:
        assert order.rejected_cancellation_id == rejected[0].id


@settings(max_examples=200, deadline=None)
@given(
    order=orders(),
    policy=policies,
    first_step_after=st.one_of(
        st.integers(0, 3 * 3600 * 1000), st.integers(3 * 3600 * 1000, 100 * 3600 * 1000)
    ),
    plan=st.lists(steps(), min_size=6, max_size=30),
)
def test_c1_to_c9_invariants_hold_for_any_sequence_of_actions(
    order: Order, policy: CategoryPolicy, first_step_after: int, plan: list[Step]
) -> None:
    paid = (
        order.grand_total
        if order.payment_state is PaymentState.PAID
        else Money.zero(order.currency)
    )
    world = World(order, policy, order.placed_at + timedelta(milliseconds=first_step_after), paid)
    _check_invariants(world)
    for step in plan:
        _advance(world, step)
        # A deep snapshot: a refusal must not have changed the (frozen) inputs in any way.
        snapshot = repr((world.order, world.cancellations))
        try:
            result = _apply(world, step)
        except DomainError as refusal:
            event(f"refused {step.action}: {refusal.code}")
            assert repr((world.order, world.cancellations)) == snapshot
            _check_invariants(world)
            continue
        if result is None:
            continue
        event(f"done {step.action}")
        if isinstance(result, Outcome):
            event(f"to {result.request.status.value}")
        _check_expectations(world, step, result)
        if isinstance(result, Outcome):
            assert result.request.timeline[-1:] == result.records
            old = world.cancellations.get(result.request.id)
            if old is not None:
                assert result.records[0].from_status is old.status
                assert result.request.timeline[:-1] == old.timeline
            else:
                assert result.records[0].from_status is None
                assert len(result.request.timeline) == 1
            world.cancellations[result.request.id] = result.request
            world.order = result.order
        else:
            world.order = result
        _check_invariants(world)

"""What the after-sale property test draws: orders, policies, actors and plans of steps, from
small fixed menus (tests/unit/test_after_sales_properties.py runs them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus, DecisionType
from models.money import Money
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.policy import CategoryPolicy

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

ACTORS = {
    ActorKind.BUYER: Actor(ActorKind.BUYER, "buyer-1"),
    ActorKind.SELLER_AGENT: Actor(
        ActorKind.SELLER_AGENT, "agent-1", shop_id="shop-1", permissions=frozenset({"adjustments"})
    ),
    ActorKind.PLATFORM: EXPIRY_WORKER,
    # A system feeding the shop's orders: every request step must refuse it.
    ActorKind.INTEGRATION: Actor(ActorKind.INTEGRATION, "orders-1", shop_id="shop-1"),
}

# The actor each action is meant for: a step uses it most of the time, and a random one otherwise.
RIGHT_ACTOR = {
    "request": ActorKind.BUYER,
    "withdraw": ActorKind.BUYER,
    "appeal": ActorKind.BUYER,
    "ship_return": ActorKind.BUYER,
    "approve": ActorKind.SELLER_AGENT,
    "reject": ActorKind.SELLER_AGENT,
    "confirm_receipt": ActorKind.SELLER_AGENT,
    "reject_on_receipt": ActorKind.SELLER_AGENT,
    "ship_replacement": ActorKind.SELLER_AGENT,
    "seller_refund": ActorKind.SELLER_AGENT,
    "decide_for_buyer": ActorKind.PLATFORM,
    "decide_for_seller": ActorKind.PLATFORM,
    "replacement_delivered": ActorKind.PLATFORM,
    "deadline": ActorKind.PLATFORM,
    "platform_refund": ActorKind.PLATFORM,
    "delivered": ActorKind.PLATFORM,
    "offer": ActorKind.SELLER_AGENT,
    "answer_offer": ActorKind.BUYER,
    "refund_instead": ActorKind.SELLER_AGENT,
    # P4: the replacement order moves one stage through the order intake; the request follows.
    "replacement_order_moves": ActorKind.INTEGRATION,
}

# "progress": the next action of a live request, by the side that must act (drives flows deep).
PROGRESS = {
    AfterSaleStatus.PENDING_SELLER: ("approve", "approve", "reject", "withdraw", "offer", "offer"),
    AfterSaleStatus.AWAITING_BUYER_RESPONSE: ("answer_offer",),
    AfterSaleStatus.REJECTED: ("appeal", "appeal", "request"),
    AfterSaleStatus.APPEALED: ("decide_for_buyer", "decide_for_seller"),
    AfterSaleStatus.AWAITING_BUYER_RETURN: ("ship_return", "ship_return", "withdraw"),
    AfterSaleStatus.RETURN_IN_TRANSIT: ("confirm_receipt", "confirm_receipt", "reject_on_receipt"),
    AfterSaleStatus.AWAITING_REPLACEMENT_SHIPMENT: (
        "ship_replacement",
        "replacement_order_moves",
        "refund_instead",
    ),
    AfterSaleStatus.REPLACEMENT_SHIPPED: ("replacement_delivered", "replacement_order_moves"),
}

# Requests and answers come up more often than the rest.
WEIGHTED_ACTIONS = (
    *RIGHT_ACTOR,
    *["progress"] * 20,
    *["request"] * 6,
    *["deadline"] * 3,
)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    currency = draw(st.sampled_from(["USD", "JPY", "EUR"]))
    method = draw(st.sampled_from(list(PaymentMethod)))
    state = draw(
        st.sampled_from(
            [FulfilmentState.DELIVERED] * 6
            + [FulfilmentState.IN_TRANSIT, FulfilmentState.AWAITING_SHIPMENT]
        )
    )
    placed_at = EPOCH + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    lines = tuple(
        LineItem(
            f"line-{n}",
            f"SKU-{n}",
            f"Item {n}",
            draw(st.integers(1, 4)),
            Money(draw(st.one_of(st.just(0), st.integers(1, 20_000))), currency),
            "home",
        )
        for n in range(draw(st.integers(1, 3)))
    )
    if method is PaymentMethod.CASH_ON_DELIVERY and state is not FulfilmentState.DELIVERED:
        payment = PaymentState.COLLECT_ON_DELIVERY
    else:
        payment = PaymentState.PAID
    shipped = placed_at + DAY if state is not FulfilmentState.AWAITING_SHIPMENT else None
    return Order(
        id="ord-1",
        shop_id="shop-1",
        buyer_id="buyer-1",
        lines=lines,
        shipping_fee=Money(draw(st.integers(0, 1_000)), currency),
        payment_method=method,
        payment_state=payment,
        fulfilment_state=state,
        placed_at=placed_at,
        paid_at=placed_at,
        shipped_at=shipped,
        carrier="UPS" if shipped else None,
        tracking_number="1Z" if shipped else None,
        delivered_at=placed_at + 3 * DAY if state is FulfilmentState.DELIVERED else None,
    )


def _window(
    typical: list[int], low: int, high: int, unit: timedelta
) -> st.SearchStrategy[timedelta]:
    """Mostly a window categories really use; sometimes any, down to the shortest."""
    some = st.one_of(*[st.sampled_from(typical)] * 6, st.integers(low, high))
    return some.map(lambda n: n * unit)


policies = st.builds(
    CategoryPolicy,
    seller_response_window=_window([24, 48, 72], 1, 96, HOUR),
    return_refund_window=_window([7, 15, 30], 1, 30, DAY),
    buyer_return_shipping_window=_window([5, 7], 1, 10, DAY),
    seller_receipt_window=_window([5, 7], 1, 10, DAY),
    appeal_window=_window([3, 7], 1, 10, DAY),
    instant_refund=st.booleans(),
    replacement_needs_item_back=st.booleans(),
    offer_response_window=_window([24, 48], 1, 96, HOUR),
    offer_silence_accepts=st.booleans(),
    replacement_delivery_window=_window([7, 14], 1, 30, DAY),
)

# How far time moves before a step: nothing, hours, days, or exactly to (or just before) a deadline.
_small = st.integers(0, 2 * 3600).map(lambda s: timedelta(seconds=s))
advances = st.one_of(
    st.just(timedelta(0)),
    _small,
    _small,
    st.integers(0, 2 * 24).map(lambda h: timedelta(hours=h)),
    st.sampled_from(["to_deadline", "just_before_deadline"]),
)


@dataclass(frozen=True)
class Step:
    action: str
    actor: ActorKind
    advance: timedelta | str
    pick: int
    kind: AfterSaleKind
    lines: tuple[tuple[int, int], ...]  # (line index, quantity); empty: all / as asked
    decision: DecisionType
    keeps: bool
    amount: int | None  # minor units of a partial amount
    reason_index: int  # -1: a code from no catalogue
    comment: str | None


# Lines a step picks, as (line index, quantity); empty: every line (a request) or as asked.
LINE_CHOICES: list[tuple[tuple[int, int], ...]] = [
    (),
    (),
    ((0, 1),),
    ((1, 1),),
    ((2, 1),),
    ((0, 2),),
    ((0, 4),),
    ((0, 1), (1, 1)),
    ((1, 2), (2, 1)),
    ((0, 1), (1, 1), (2, 1)),
]
AMOUNTS = [None, None, None, 1, 99, 500, 2_500, 10_000, 0, -5]
COMMENTS = ["because"] * 6 + [None, "see photos", " ", "x" * 501]
REASON_INDEXES = [-1, *range(9), *range(9)]


@st.composite
def steps(draw: st.DrawFn) -> Step:
    """One draw per field, from small fixed menus: a step costs little to generate."""
    action = draw(st.sampled_from(WEIGHTED_ACTIONS))
    other = draw(st.sampled_from([None, None, None, None, *ActorKind]))
    return Step(
        action=action,
        actor=other or RIGHT_ACTOR.get(action, ActorKind.PLATFORM),
        advance=draw(advances),
        pick=draw(st.integers(0, 7)),
        kind=draw(st.sampled_from(list(AfterSaleKind))),
        lines=draw(st.sampled_from(LINE_CHOICES)),
        decision=draw(st.sampled_from(list(DecisionType))),
        keeps=draw(st.booleans()),
        amount=draw(st.sampled_from(AMOUNTS)),
        reason_index=draw(st.sampled_from(REASON_INDEXES)),
        comment=draw(st.sampled_from(COMMENTS)),
    )

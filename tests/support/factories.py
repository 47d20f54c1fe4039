"""Orders as the marketplace hands them to the service, stored through the real storage layer."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from models.money import Money
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.requests import Opening
from storage import orders as order_store
from storage.documents import order_doc
from storage.mongo import Database

_seq = itertools.count(1)


def seller(shop_id: str, adjust: bool = True) -> str:
    return f"seller:agent-7@{shop_id}" + ("+adjustments" if adjust else "")


def buyer(buyer_id: str) -> str:
    return f"buyer:{buyer_id}"


PLATFORM = "platform:ops-1"


def new_buyer_id() -> str:
    return f"buyer-{uuid.uuid4().hex[:8]}"


def build_order(
    shop_id: str,
    buyer_id: str,
    placed_at: datetime,
    *,
    state: FulfilmentState = FulfilmentState.AWAITING_SHIPMENT,
    method: PaymentMethod = PaymentMethod.PREPAID,
    category: str = "general",
    prices: tuple[int, ...] = (2500, 1000),
    shipping: int = 499,
    currency: str = "USD",
) -> Order:
    order_id = f"ord_t{next(_seq):06d}_{uuid.uuid4().hex[:6]}"
    lines = tuple(
        LineItem(f"{order_id}-{n}", f"SKU-{n}", f"Item {n}", 1 + n, Money(p, currency), category)
        for n, p in enumerate(prices)
    )
    if state is FulfilmentState.UNPAID:
        payment = PaymentState.AWAITING_PAYMENT
    elif method is PaymentMethod.CASH_ON_DELIVERY:
        payment = PaymentState.COLLECT_ON_DELIVERY
    else:
        payment = PaymentState.PAID
    order = Order(
        id=order_id,
        shop_id=shop_id,
        buyer_id=buyer_id,
        lines=lines,
        shipping_fee=Money(shipping, currency),
        payment_method=method,
        payment_state=payment,
        fulfilment_state=state,
        placed_at=placed_at,
        payment_due_at=placed_at + timedelta(hours=24) if state is FulfilmentState.UNPAID else None,
    )
    if state in (FulfilmentState.IN_TRANSIT, FulfilmentState.DELIVERED):
        order = replace(order, shipped_at=placed_at, carrier="UPS", tracking_number="1Z")
    if state is FulfilmentState.DELIVERED:
        order = replace(order, delivered_at=placed_at)
    return order


async def place_order(db: Database, *args: object, **kwargs: object) -> Order:
    order = build_order(*args, **kwargs)  # type: ignore[arg-type]
    await order_store.insert_many(db, [order])
    return order


async def pending_requests(db: Database, shop_id: str, requested_at: list[datetime]) -> list[str]:
    """Many waiting cancellation requests at once, one per order, made by the domain and stored
    through the storage layer in one transaction (what the API would write, request by request)."""
    from models import cancellations as domain
    from models import events
    from models.actors import Actor, ActorKind
    from models.commands import RequestCancellation
    from models.policy import DEFAULT_POLICY
    from models.refund_ledger import RefundLedger
    from services.cancellations import KIND, new_cancellation_id
    from storage import cancellations as cancellation_store
    from storage import events as event_log
    from storage import tab_counts

    outcomes = []
    for at in requested_at:
        buyer_id = new_buyer_id()
        order = build_order(shop_id, buyer_id, at - timedelta(hours=2))
        outcomes.append(
            domain.request_by_buyer(
                Opening(DEFAULT_POLICY, at, new_cancellation_id()),
                domain.OnOrder(
                    order, RefundLedger.for_order(order), Actor(ActorKind.BUYER, buyer_id), at
                ),
                RequestCancellation(order.id, "CHANGED_MIND"),
            )
        )

    async def work(session: object) -> None:
        await db.orders.insert_many([order_doc(o.order) for o in outcomes], session=session)
        await cancellation_store.REQUESTS.insert_many(db, [o.request for o in outcomes], session)
        moves = [(shop_id, None, o.request.tab) for o in outcomes]
        await tab_counts.move(db, KIND.section, moves, session)
        await event_log.append_many(
            db, [e for o in outcomes for e in events.of_outcome(o)], session
        )

    await db.transaction(work)
    return [o.request.id for o in outcomes]

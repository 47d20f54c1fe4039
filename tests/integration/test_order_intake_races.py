"""Two processes place the same marketplace orders at once (each its own connection, so nothing
queues them in one process): each order is stored once, and the slower placement answers with
the stored order as a repeat."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models.actors import Actor, ActorKind
from models.clock import SettableClock
from models.order_intake import NewLine, PlaceOrder
from models.orders import PaymentMethod
from services.order_intake import OrderIntake, Placed
from storage.mongo import Database, connect


async def test_a_placement_racing_another_process_is_stored_once(
    db: Database, mongodb_uri: str, clock: SettableClock, shop_id: str
) -> None:
    other_db = connect(mongodb_uri, db.db.name)
    try:
        feeder = Actor(ActorKind.INTEGRATION, "orders-1", shop_id)
        placed_at = clock.now() - timedelta(minutes=5)
        line = NewLine("l1", "SKU-1", "Tent", 1, 1000, "outdoor")
        batch = [
            PlaceOrder(f"R-{n}", "buyer-1", "USD", (line,), 0, PaymentMethod.PREPAID, placed_at)
            for n in range(20)
        ]
        first, second = await asyncio.gather(
            OrderIntake(db, clock).place(feeder, shop_id, batch),
            OrderIntake(other_db, clock).place(feeder, shop_id, batch),
        )
    finally:
        await other_db.close()
    assert await db.orders.count_documents({"shop_id": shop_id}) == 20
    for a, b in zip(first, second, strict=True):
        assert isinstance(a, Placed) and isinstance(b, Placed)
        assert a.order.id == b.order.id
        assert sorted([a.repeated, b.repeated]) == [False, True]
    events = await db.events.count_documents({"shop_id": shop_id, "type": "ORDER"})
    assert events == 20

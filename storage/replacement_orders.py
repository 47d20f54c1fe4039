"""P4: the replacement orders an after-sale step places or moves, in the step's transaction.

A placed replacement order gets its intake record at once, known by its own id (as an order the
platform placed is, storage/order_records.py), so the marketplace's order system moves it with
`updateOrders` like any order of the shop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from models.actors import Actor
from models.orders import Order
from storage import order_records as records
from storage import orders as order_store
from storage.mongo import Database, Session

PLACED = "PLACED"


async def write(
    db: Database,
    actor: Actor,
    placed: Sequence[Order],
    moved: Sequence[tuple[Order, Order]],
    now: datetime,
    session: Session,
) -> None:
    if placed:
        entries = [
            records.new_record(
                o, o.id, None, records.entry(PLACED, o.placed_at, PLACED, actor, now)
            )
            for o in placed
        ]
        await records.insert_placed(db, list(placed), entries, session)
    if moved:
        await order_store.save_many(db, list(moved), session)

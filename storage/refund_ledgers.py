"""The refund ledger of each order (`refund_ledgers`, one document per order).

Every after-sale write and every cancellation that refunds writes the order's ledger document in
the same transaction as the request. Two refunds decided at the same instant on one order both
write this document, so under snapshot transactions one of them gets a WriteConflict, reruns on
the ledger that won, and the domain's quote sees what is left: the ledger never overdraws. Each
write bumps `version`, so an after-sale step that pays nothing still claims the order (two
requests on the same line at the same instant cannot both pass the "already requested" check).
"""

from __future__ import annotations

from pymongo import UpdateOne

from models.orders import Order
from models.refund_ledger import RefundLedger
from storage.after_sale_documents import ledger_entries_doc, ledger_from
from storage.mongo import Database, Session, find_by_ids


async def stored_many(
    db: Database, order_ids: list[str], session: Session | None = None
) -> dict[str, RefundLedger]:
    """The ledgers stored for these orders (an order without one has none here)."""
    docs = await find_by_ids(db.refund_ledgers, order_ids, session)
    return {d["_id"]: ledger_from(d) for d in docs}


async def get_many(
    db: Database, orders: list[Order], session: Session | None = None
) -> dict[str, RefundLedger]:
    """The stored ledger of each order, or the ledger a cancelled order implies."""
    stored = await stored_many(db, [o.id for o in orders], session)
    return {o.id: stored.get(o.id) or RefundLedger.for_order(o) for o in orders}


async def get(db: Database, order: Order, session: Session | None = None) -> RefundLedger:
    return (await get_many(db, [order], session))[order.id]


async def claim_many(db: Database, ledgers: list[RefundLedger], session: Session) -> None:
    """Write each order's ledger as it now is, bumping its version (the per-order claim), in one
    round trip. The `$inc` always changes the document, so two transactions claiming one order
    always conflict, even when they would write the same entries."""
    ops = [
        UpdateOne(
            {"_id": ledger.order_id},
            {
                "$set": {
                    "currency": ledger.currency,
                    "entries": ledger_entries_doc(ledger),
                    "refunded_minor": ledger.refunded_total.minor,
                },
                "$inc": {"version": 1},
            },
            upsert=True,
        )
        for ledger in ledgers
    ]
    if ops:
        await db.refund_ledgers.bulk_write(ops, ordered=False, session=session)

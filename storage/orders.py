"""Orders in MongoDB, each with its refund ledger in its own document.

The order's refund ledger (every refund on it, by request or cancellation) is the order
document's field `refund_ledger`, absent until something is booked in it: an order cancelled
before it had one implies its ledger (RefundLedger.for_order). Every step on an order writes the
order's document in its transaction, its version bumped (`save_many`), whether it changed the
order or pays nothing: two refunds decided at the same instant on one order both write it, so
under snapshot transactions one of them gets a WriteConflict, reruns on the ledger that won, and
the domain's quote sees what is left. The ledger never overdraws, and two requests on the same
line at the same instant cannot both pass the "already requested" check.

Ledgers stored by earlier versions in a `refund_ledgers` collection of their own are moved into
their orders at start (`fold_old_ledgers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.access import Scope
from models.orders import FulfilmentState, Order
from models.refund_ledger import LedgerEntry, RefundLedger
from storage.batch_writes import find_by_ids
from storage.documents import Doc, order_doc, order_from, value_doc, value_from
from storage.keys import ALL, time_bounds
from storage.mongo import Database, Session, fold_collection
from storage.pagination import Page, SortOrder, fetch_page
from storage.request_store import Overdue, overdue, save_changes, whose

NEWEST = SortOrder("NEWEST", "k_placed", -1)
LEDGER = "refund_ledger"
# Where the ledgers were kept before they moved into their orders.
OLD_LEDGERS = "refund_ledgers"


@dataclass(frozen=True)
class OrderFilter:
    fulfilment_state: FulfilmentState | None = None
    buyer_id: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None


async def get(db: Database, order_id: str, session: Session | None = None) -> Order | None:
    return (await get_many(db, [order_id], session)).get(order_id)


async def get_many(
    db: Database, order_ids: list[str], session: Session | None = None
) -> dict[str, Order]:
    docs = await find_by_ids(db.orders, order_ids, session)
    return {d["_id"]: order_from(d) for d in docs}


async def with_ledgers(
    db: Database, order_ids: list[str], session: Session | None = None
) -> dict[str, tuple[Order, RefundLedger]]:
    """These orders (those that exist), each with its ledger, stored or implied."""
    docs = await find_by_ids(db.orders, order_ids, session)
    stored = [(order_from(d), d.get(LEDGER)) for d in docs]
    return {order.id: (order, ledger_of(order, entries)) for order, entries in stored}


def ledger_doc(ledger: RefundLedger) -> list[Doc]:
    """The ledger's entries as stored, their amounts in minor units of the order's currency."""
    return [value_doc(e, currency=ledger.currency) for e in ledger.entries]


def ledger_of(order: Order, entries: list[Doc] | None) -> RefundLedger:
    """The order's ledger from its stored entries; none stored: the ledger the order implies."""
    if entries is None:
        return RefundLedger.for_order(order)
    found = (value_from(LedgerEntry, e, currency=order.currency) for e in entries)
    return RefundLedger(order.id, order.currency, tuple(found))


async def insert_many(db: Database, orders: list[Order]) -> None:
    if orders:
        await db.orders.insert_many([order_doc(o) for o in orders], ordered=False)


def list_query(scope: Scope, f: OrderFilter) -> Doc:
    """Equality on who and which state, one range on the sort key (storage/keys.py)."""
    query = whose(scope, f.buyer_id)
    query["states"] = f.fulfilment_state.value if f.fulfilment_state else ALL
    if f.placed_from or f.placed_to:
        query["k_placed"] = time_bounds(f.placed_from, f.placed_to)
    return query


async def page(
    db: Database, scope: Scope, f: OrderFilter, first: int, after: str | None
) -> tuple[list[Order], Page]:
    result = await fetch_page(db.orders, list_query(scope, f), NEWEST, first, after)
    return [order_from(d) for d in result.docs], result


async def due_for_payment_cancel(db: Database, now: datetime, limit: int) -> Overdue:
    """Ids and deadlines of unpaid orders whose payment window has closed, oldest first
    (the partial `unpaid_due` index)."""
    unpaid = {"fulfilment_state": "UNPAID"}
    return await overdue(db, db.orders, unpaid, "payment_due_at", now, limit)


async def save_many(
    db: Database,
    changes: list[tuple[Order, Order]],
    session: Session,
    ledgers: Mapping[str, RefundLedger] | None = None,
) -> None:
    """Each order from `before` (read in this transaction) to `after`, with its ledger from
    `ledgers` where given, in one round trip (`save_changes`)."""
    books = {order_id: {LEDGER: ledger_doc(ledger)} for order_id, ledger in (ledgers or {}).items()}
    await save_changes(db.orders, order_doc, changes, session, books)


async def fold_old_ledgers(db: Database) -> int:
    """Move the ledgers an earlier version kept in their own collection into their orders (an
    order that has its ledger already keeps it); returns how many moved."""

    def into(d: Doc) -> tuple[Any, Doc, Doc]:
        query = {"_id": d["_id"], LEDGER: {"$exists": False}}
        return db.orders, query, {"$set": {LEDGER: d.get("entries", [])}}

    return await fold_collection(db, OLD_LEDGERS, into)

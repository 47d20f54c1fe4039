"""The after-sale service against the real database: one transaction writes the request, the
requests it closes, the order, the ledger, the counters and the notifications together."""

from __future__ import annotations

from datetime import timedelta

from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus, AfterSaleTab, DecisionType
from models.clock import SettableClock
from models.commands import (
    ActOnAfterSaleDeadlines,
    ApproveAfterSale,
    ConfirmReturnReceived,
    RejectAfterSale,
    RequestAfterSale,
    RequestCancellation,
    ShipReturn,
    chosen_lines,
)
from models.orders import FulfilmentState, PaymentState
from models.refund_ledger import RefundLedger
from services.bootstrap import Services
from storage import orders as order_store
from storage.mongo import Database
from tests.support.after_sale_api import assert_counters_match, seller_of
from tests.support.factories import new_buyer_id, place_order

PLATFORM = Actor(ActorKind.PLATFORM, "ops-1")


async def delivered(db: Database, clock: SettableClock, shop_id: str, **kw: object):
    return await place_order(
        db,
        shop_id,
        new_buyer_id(),
        clock.now() - timedelta(days=1),
        state=FulfilmentState.DELIVERED,
        **kw,
    )


async def test_a_return_from_request_to_refund_books_the_ledger_and_the_order(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    svc = services.after_sales
    order = await delivered(db, clock, shop_id)
    buyer = Actor(ActorKind.BUYER, order.buyer_id)
    line = order.lines[1].line_id  # 2 x 10.00
    r = await svc.handle(
        buyer,
        RequestAfterSale(
            order.id, AfterSaleKind.RETURN_AND_REFUND, chosen_lines({line: 1}), "DEFECTIVE"
        ),
    )
    assert r.status is AfterSaleStatus.PENDING_SELLER and r.tab is AfterSaleTab.TO_PROCEED
    r = await svc.handle(seller_of(shop_id), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN))
    assert r.status is AfterSaleStatus.AWAITING_BUYER_RETURN
    r = await svc.handle(buyer, ShipReturn(r.id, "UPS", "1Z999"))
    r = await svc.handle(seller_of(shop_id), ConfirmReturnReceived(r.id))
    assert r.status is AfterSaleStatus.REFUNDED
    assert r.refund is not None and r.refund.total.minor == 1000
    assert [x.action.value for x in r.timeline] == [
        "REQUEST",
        "APPROVE",
        "SHIP_RETURN",
        "CONFIRM_RECEIPT",
    ]

    stored_order, ledger = (await order_store.with_ledgers(db, [order.id]))[order.id]
    assert stored_order.refunded is not None
    assert stored_order.refunded.minor == 1000
    assert ledger.refunded_line(line).minor == 1000 and len(ledger.entries) == 1
    assert (await svc.get(buyer, r.id)).version == 3
    await assert_counters_match(db, shop_id)


async def test_a_second_request_closes_the_rejection_in_the_same_write(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    svc = services.after_sales
    order = await delivered(db, clock, shop_id)
    buyer = Actor(ActorKind.BUYER, order.buyer_id)
    line = order.lines[0].line_id
    first = await svc.handle(
        buyer,
        RequestAfterSale(order.id, AfterSaleKind.REFUND_ONLY, chosen_lines({line: 1}), "DAMAGED"),
    )
    await svc.handle(seller_of(shop_id), RejectAfterSale(first.id, "NO_EVIDENCE"))
    second = await svc.handle(
        buyer,
        RequestAfterSale(
            order.id, AfterSaleKind.REFUND_ONLY, chosen_lines({line: 1}), "DAMAGED", "photos"
        ),
    )
    assert second.follows_id == first.id
    closed = await svc.get(buyer, first.id)
    assert closed.status is AfterSaleStatus.CLOSED_FINAL
    assert closed.timeline[-1].action.value == "SUPERSEDE"
    await assert_counters_match(db, shop_id)


async def test_a_cancellation_refund_is_booked_in_the_orders_ledger(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await place_order(db, shop_id, new_buyer_id(), clock.now() - timedelta(minutes=5))
    buyer = Actor(ActorKind.BUYER, order.buyer_id)
    c = await services.handle(buyer, RequestCancellation(order.id, "CHANGED_MIND"))
    assert c.refund is not None
    stored, ledger = (await order_store.with_ledgers(db, [order.id]))[order.id]
    assert stored.payment_state is PaymentState.REFUNDED
    assert stored.cancelled_by == c.id
    assert [(e.source.value, e.source_id) for e in ledger.entries] == [("CANCELLATION", c.id)]
    assert ledger.refunded_total == order.grand_total
    assert ledger.refundable_total(stored).minor == 0
    # Booked in the order's own document, written by the cancellation anyway: no other document.
    doc = await db.orders.find_one({"_id": order.id})
    assert [e["source_id"] for e in doc["refund_ledger"]] == [c.id]


async def test_r7_a_cancellation_refund_joins_the_ledger_already_stored(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """A ledger stored before the cancellation (none is today: after-sale steps need a shipped
    order) gets the cancellation's entry written into it, in the same transaction."""
    order = await place_order(db, shop_id, new_buyer_id(), clock.now() - timedelta(minutes=5))
    empty = {order.id: RefundLedger.for_order(order)}
    await db.transaction(
        lambda session: order_store.save_many(db, [(order, order)], session, empty)
    )
    buyer = Actor(ActorKind.BUYER, order.buyer_id)
    c = await services.handle(buyer, RequestCancellation(order.id, "CHANGED_MIND"))
    doc = await db.orders.find_one({"_id": order.id})
    assert doc is not None and [e["source"] for e in doc["refund_ledger"]] == ["CANCELLATION"]
    _, ledger = (await order_store.with_ledgers(db, [order.id]))[order.id]
    assert [e.source_id for e in ledger.entries] == [c.id]
    assert ledger.refunded_total == order.grand_total


async def test_deadline_moves_on_one_order_chain_their_ledger_in_one_batch(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    svc = services.after_sales
    order = await delivered(db, clock, shop_id)
    buyer = Actor(ActorKind.BUYER, order.buyer_id)
    ids = [
        (
            await svc.handle(
                buyer,
                RequestAfterSale(
                    order.id, AfterSaleKind.REFUND_ONLY, chosen_lines({line.line_id: 1}), "DAMAGED"
                ),
            )
        ).id
        for line in order.lines
    ]
    clock.advance(timedelta(hours=48))
    moved = await svc.handle(EXPIRY_WORKER, ActOnAfterSaleDeadlines(tuple(ids)))
    assert {r.status for r in moved} == {AfterSaleStatus.REFUNDED}
    stored, ledger = (await order_store.with_ledgers(db, [order.id]))[order.id]
    assert len(ledger.entries) == 2
    assert ledger.refunded_total == stored.refunded
    assert (
        await svc.handle(EXPIRY_WORKER, ActOnAfterSaleDeadlines(tuple(ids))) == []
    )  # nothing is due twice
    await assert_counters_match(db, shop_id)

"""The deadline worker's after-sale moves (R3, R5, R8): each acted on once, at its deadline, by
the platform, with a record naming the deadline; a seller's decision racing it leaves one move."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.after_sale_requests import AfterSaleRequest
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus, DecisionType
from models.clock import SettableClock
from models.commands import (
    ActOnAfterSaleDeadlines,
    ApproveAfterSale,
    RejectAfterSale,
    RequestAfterSale,
    ShipReturn,
    chosen_lines,
)
from models.errors import DomainError
from models.orders import FulfilmentState
from services.after_sales import AfterSaleService
from services.bootstrap import Services
from services.deadline_worker import DeadlineWorker
from storage.mongo import Database
from tests.support.after_sale_api import assert_counters_match, seller_of
from tests.support.factories import new_buyer_id, place_order

_MS = timedelta(milliseconds=1)


def _worker(services: Services) -> DeadlineWorker:
    return DeadlineWorker(services, interval=0.05, batch_size=50)


async def _requested(
    services: Services, db: Database, clock: SettableClock, shop_id: str, kind: AfterSaleKind
) -> tuple[AfterSaleRequest, Actor]:
    order = await place_order(
        db,
        shop_id,
        new_buyer_id(),
        clock.now() - timedelta(days=1),
        state=FulfilmentState.DELIVERED,
    )
    buyer = Actor(ActorKind.BUYER, order.buyer_id)
    reason = "DAMAGED"
    r = await services.handle(
        buyer, RequestAfterSale(order.id, kind, chosen_lines({order.lines[0].line_id: 1}), reason)
    )
    return r, buyer


async def _expect_move_at_deadline(
    services: Services, clock: SettableClock, r: AfterSaleRequest, buyer: Actor
) -> AfterSaleRequest:
    """Nothing moves a millisecond before the deadline; the platform moves at it, once."""
    assert r.deadline is not None
    worker = _worker(services)
    clock.set(r.deadline - _MS)
    await worker.run_once()
    assert (await services.after_sales.get(buyer, r.id)).status is r.status
    clock.set(r.deadline)
    await worker.run_once()
    await worker.run_once()  # a second pass finds nothing left to do
    moved = await services.after_sales.get(buyer, r.id)
    assert len(moved.timeline) == len(r.timeline) + 1
    record = moved.timeline[-1]
    assert (record.actor_kind, record.actor_id) == (ActorKind.PLATFORM, EXPIRY_WORKER.id)
    assert record.deadline == r.deadline and record.at == r.deadline
    return moved


async def test_r3_worker_approves_a_refund_the_seller_left_unanswered(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    r, buyer = await _requested(services, db, clock, shop_id, AfterSaleKind.REFUND_ONLY)
    moved = await _expect_move_at_deadline(services, clock, r, buyer)
    assert moved.status is AfterSaleStatus.REFUNDED
    assert moved.timeline[-1].action.value == "AUTO_APPROVE"
    assert moved.refund is not None and moved.refund.total.minor == 2500
    await assert_counters_match(db, shop_id)


async def test_r3_worker_approves_a_return_and_asks_for_the_item_back(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    r, buyer = await _requested(services, db, clock, shop_id, AfterSaleKind.RETURN_AND_REFUND)
    moved = await _expect_move_at_deadline(services, clock, r, buyer)
    assert moved.status is AfterSaleStatus.AWAITING_BUYER_RETURN
    assert moved.deadline == clock.now() + r.policy.buyer_return_shipping_window


async def test_r8_worker_closes_a_return_the_buyer_never_shipped(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    r, buyer = await _requested(services, db, clock, shop_id, AfterSaleKind.RETURN_AND_REFUND)
    r = await services.handle(
        seller_of(shop_id), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN)
    )
    moved = await _expect_move_at_deadline(services, clock, r, buyer)
    assert moved.status is AfterSaleStatus.RETURN_EXPIRED
    assert moved.refund is None
    await assert_counters_match(db, shop_id)


async def test_r8_worker_confirms_a_return_the_seller_did_not_confirm(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    r, buyer = await _requested(services, db, clock, shop_id, AfterSaleKind.RETURN_AND_REFUND)
    r = await services.handle(
        seller_of(shop_id), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN)
    )
    r = await services.handle(buyer, ShipReturn(r.id, "UPS", "1Z1"))
    moved = await _expect_move_at_deadline(services, clock, r, buyer)
    assert moved.status is AfterSaleStatus.REFUNDED
    assert moved.timeline[-1].action.value == "AUTO_CONFIRM_RECEIPT"
    assert moved.refund is not None and moved.refund.total.minor == 2500


async def test_r5_worker_makes_an_unappealed_rejection_final(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    r, buyer = await _requested(services, db, clock, shop_id, AfterSaleKind.REFUND_ONLY)
    r = await services.handle(seller_of(shop_id), RejectAfterSale(r.id, "NO_EVIDENCE"))
    moved = await _expect_move_at_deadline(services, clock, r, buyer)
    assert moved.status is AfterSaleStatus.CLOSED_FINAL
    assert moved.timeline[-1].action.value == "FINALIZE_REJECTION"
    await assert_counters_match(db, shop_id)


async def test_r3_worker_racing_a_seller_decision_leaves_one_move(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """The seller answers in the last millisecond of the window (its own clock) while the worker
    acts at the deadline (the service's clock): exactly one of the two moves lands."""
    winners: Counter[bool] = Counter()
    for _ in range(10):
        r, buyer = await _requested(services, db, clock, shop_id, AfterSaleKind.REFUND_ONLY)
        assert r.deadline is not None
        seller_side = AfterSaleService(db, SettableClock(r.deadline - _MS))
        clock.set(r.deadline)

        async def seller_rejects(
            request_id: str = r.id, seller_side: AfterSaleService = seller_side
        ) -> str:
            try:
                await seller_side.handle(
                    seller_of(shop_id), RejectAfterSale(request_id, "NO_EVIDENCE")
                )
                return "seller"
            except DomainError as err:
                return err.code

        async def worker_moves(request_id: str = r.id) -> str:
            done = await services.after_sales.handle(
                EXPIRY_WORKER, ActOnAfterSaleDeadlines((request_id,))
            )
            return "worker" if done else "nothing"

        results = await asyncio.gather(seller_rejects(), worker_moves())
        final = await services.after_sales.get(buyer, r.id)
        assert len(final.timeline) == 2, (results, final.timeline)
        if final.status is AfterSaleStatus.REJECTED:
            assert results == ["seller", "nothing"]
        else:
            assert final.status is AfterSaleStatus.REFUNDED
            assert results == ["NOT_PENDING", "worker"]
        winners[results[0] == "seller"] += 1
    assert sum(winners.values()) == 10
    await assert_counters_match(db, shop_id)

"""The deadline worker: every deadline acted on once, by the platform, with its record."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.embedded_db import EmbeddedDatabase
from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.clock import SettableClock
from models.commands import AcceptCancellation, RejectCancellation, RequestCancellation
from models.errors import DomainError
from models.notifications import Recipient
from models.orders import FulfilmentState
from services.bootstrap import Services, build_services
from services.deadline_worker import DeadlineWorker
from storage import tab_counts
from storage.mongo import Database, connect
from storage.notifications import inbox_key
from tests.support.api_client import GraphQLClient, authorization
from tests.support.factories import PLATFORM, buyer, new_buyer_id, pending_requests, place_order
from tests.support.notices import count_notices

VIEW = """query($id: ID!) { cancellation(id: $id) {
  status tab timeline { action actorKind actorId at deadline reason { code } }
  order { fulfilmentState paymentState }
} }"""


def _worker(services: Services, batch_size: int = 50) -> DeadlineWorker:
    return DeadlineWorker(services, interval=0.05, batch_size=batch_size)


async def _pending(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> tuple[str, str]:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    c = await services.handle(
        Actor(ActorKind.BUYER, buyer_id), RequestCancellation(order.id, "CHANGED_MIND")
    )
    return c.id, buyer_id


async def test_c6_worker_accepts_a_request_the_seller_left_unanswered(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid, buyer_id = await _pending(services, db, clock, shop_id)
    worker = _worker(services)

    clock.advance(timedelta(hours=48) - timedelta(milliseconds=1))
    await worker.run_once()
    early = (await api(VIEW, {"id": cid}, buyer(buyer_id)))["cancellation"]
    clock.advance(timedelta(milliseconds=1))
    await worker.run_once()
    late = (await api(VIEW, {"id": cid}, buyer(buyer_id)))["cancellation"]

    assert early["status"] == "PENDING"
    assert (late["status"], late["tab"], late["order"]["fulfilmentState"]) == (
        "CANCELLED",
        "COMPLETED",
        "CANCELLED",
    )
    record = late["timeline"][-1]
    assert (record["action"], record["actorKind"], record["actorId"]) == (
        "AUTO_ACCEPT",
        "PLATFORM",
        "expiry-worker",
    )
    assert record["deadline"] == record["at"]  # acted on the instant it fell due


async def test_c8_worker_cancels_orders_left_unpaid(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now(), state=FulfilmentState.UNPAID)
    paid = await place_order(db, shop_id, buyer_id, clock.now(), state=FulfilmentState.UNPAID)
    await services.orders.record_payment(Actor(ActorKind.PLATFORM, "psp"), paid.id)

    clock.advance(timedelta(hours=24))
    await _worker(services).run_once()

    view = await api(
        "query($id: ID!) { order(id: $id) { fulfilmentState paymentState cancellations { initiator reason { code } timeline { actorId } } } }",
        {"id": order.id},
        buyer(buyer_id),
    )
    cancelled = view["order"]
    assert (cancelled["fulfilmentState"], cancelled["paymentState"]) == ("CANCELLED", "VOIDED")
    [c] = cancelled["cancellations"]
    assert (c["initiator"], c["reason"]["code"], c["timeline"][0]["actorId"]) == (
        "SYSTEM",
        "NON_PAYMENT",
        "expiry-worker",
    )
    still_paid = await api(
        "query($id: ID!) { order(id: $id) { fulfilmentState } }", {"id": paid.id}, buyer(buyer_id)
    )
    assert still_paid["order"]["fulfilmentState"] == "AWAITING_SHIPMENT"


async def test_c6_deadlines_passed_while_nothing_ran_are_caught_up_with_both_times_recorded(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    ids = [(await _pending(services, db, clock, shop_id))[0] for _ in range(7)]
    deadline = clock.now() + timedelta(hours=48)

    clock.advance(timedelta(days=5))  # nobody ran for days
    worker = _worker(services, batch_size=3)  # several batches in one pass
    moved = await worker.run_once()

    assert moved >= 7
    assert worker.status.lag >= timedelta(days=3)  # it was that far behind when it began
    for cid in ids:
        doc = await db.cancellations.find_one({"_id": cid})
        last = doc["timeline"][-1]
        assert last["action"] == "AUTO_ACCEPT"
        assert abs(last["deadline"] - deadline) < timedelta(seconds=1)
        assert last["at"] - last["deadline"] > timedelta(days=2)
    assert await worker.run_once() == 0
    assert worker.status.lag == timedelta(0)


async def test_c6_two_workers_move_each_overdue_request_once(
    mongodb_uri: str, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    ids = [(await _pending(services, db, clock, shop_id))[0] for _ in range(40)]
    clock.advance(timedelta(hours=49))
    # A second service process: its own client and connection pool on the same database.
    other_db = connect(mongodb_uri, db.db.name)
    other = await build_services(other_db, clock)
    try:
        a, b = _worker(services, batch_size=7), _worker(other, batch_size=5)
        moved_a, moved_b = await asyncio.gather(a.run_once(), b.run_once())
    finally:
        await other_db.close()

    assert moved_a + moved_b == 40  # both drained the backlog; none moved twice
    for cid in ids:
        doc = await db.cancellations.find_one({"_id": cid})
        assert [r["action"] for r in doc["timeline"]] == ["REQUEST", "AUTO_ACCEPT"]
        notes = await count_notices(db, {"inboxes": inbox_key(Recipient.BUYER, doc["buyer_id"])})
        assert notes == 1  # one move, one notification


async def test_c6_race_of_two_workers_and_seller_decisions_over_1000_requests(
    mongodb_uri: str, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    rng = random.Random(4)
    start = clock.now()
    # Deadlines spread over the minute around the moment of the race.
    ids = await pending_requests(
        db, shop_id, [start + timedelta(milliseconds=60 * n) for n in range(1000)]
    )
    clock.set(start + timedelta(hours=48, seconds=30))
    other_db = connect(mongodb_uri, db.db.name)
    other = await build_services(other_db, clock)
    agent = Actor(ActorKind.SELLER_AGENT, "agent-9", shop_id, frozenset({ADJUSTMENTS}))

    async def seller_decisions() -> Counter[str]:
        results: Counter[str] = Counter()
        for cid in rng.sample(ids, 400):
            try:
                if rng.random() < 0.5:
                    await services.handle(agent, AcceptCancellation(cid))
                else:
                    await other.cancellations.handle(agent, RejectCancellation(cid, "OTHER"))
                results["decided"] += 1
            except DomainError as err:
                results[err.code] += 1
        return results

    try:
        _, _, decisions = await asyncio.gather(
            _worker(services, batch_size=100).run_once(),
            _worker(other, batch_size=100).run_once(),
            seller_decisions(),
        )
    finally:
        await other_db.close()

    overdue = {cid for cid, n in zip(ids, range(1000), strict=True) if n * 60 <= 30_000}
    outcomes: Counter[str] = Counter()
    for cid in ids:
        doc = await db.cancellations.find_one({"_id": cid})
        actions = [r["action"] for r in doc["timeline"]]
        assert len(actions) == 2 or (actions == ["REQUEST"] and cid not in overdue), actions
        if cid in overdue:
            assert actions == ["REQUEST", "AUTO_ACCEPT"], (cid, actions)
        outcomes[actions[-1]] += 1
    # Every seller decision on an overdue request lost with a clear error, never a second move.
    assert set(decisions) <= {"decided", "RESPONSE_WINDOW_CLOSED", "NOT_PENDING"}
    assert outcomes["AUTO_ACCEPT"] == len(overdue)
    assert outcomes["ACCEPT"] + outcomes["REJECT"] == decisions["decided"]
    stored = await tab_counts.read(db, shop_id, "cancellations")
    for tab in ("TO_PROCEED", "COMPLETED", "CLOSED"):
        assert stored.get(tab, 0) == await db.cancellations.count_documents(
            {"shop_id": shop_id, "tabs": tab}
        )


async def test_worker_survives_a_database_outage_and_catches_up(tmp_path: Path) -> None:
    clock = SettableClock(_now())
    server = EmbeddedDatabase(tmp_path / "db")
    server.start()
    db = connect(server.uri, "outage", timeout_ms=300)
    try:
        services = await build_services(db, clock)
        shop_id = "shop-outage"
        cid, _ = await _pending(services, db, clock, shop_id)
        worker = _worker(services)
        worker.start()
        await _eventually(lambda: worker.status.last_run_at is not None)

        server.stop()  # the database goes away
        clock.advance(timedelta(hours=49))
        await _eventually(lambda: worker.status.last_error is not None)
        assert worker.status.running, "the worker must not die with the database"

        server.start()  # same port, same files
        await _eventually(lambda: worker.status.total_moves >= 1, timeout=30)
        doc = await db.cancellations.find_one({"_id": cid})
        assert doc["status"] == "CANCELLED"
        assert worker.status.last_error is None
        await worker.stop()
        assert not worker.status.running
    finally:
        await db.close()
        server.stop()


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


async def _eventually(check: Callable[[], bool], timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_worker_status_is_a_query(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    from httpx import ASGITransport, AsyncClient

    from api.app import create_app

    await _pending(services, db, clock, shop_id)
    clock.advance(timedelta(hours=48))
    worker = _worker(services)
    await worker.run_once()
    app = create_app(services, worker=worker)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        response = await http.post(
            "/graphql",
            json={
                "query": "{ deadlineWorker { running lastRunAt lagSeconds totalMoves lastError movesByDeadline { deadline moves } } }"
            },
            headers=authorization(PLATFORM),
        )
    status = response.json()["data"]["deadlineWorker"]
    assert status["lastRunAt"] is not None and status["lastError"] is None
    assert status["lagSeconds"] >= 0
    moves = {m["deadline"]: m["moves"] for m in status["movesByDeadline"]}
    assert moves["seller_response_window"] >= 1
    assert status["totalMoves"] == sum(moves.values())
    without = await api("{ deadlineWorker { running } }", actor=PLATFORM)
    assert without["deadlineWorker"] is None  # this app runs no worker

"""Racing decisions: exactly one transition wins, the losers get a typed error, nothing drifts."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from pymongo import monitoring

from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.clock import SettableClock
from models.commands import AcceptCancellation
from services.bootstrap import Services, build_services
from storage import tab_counts
from storage.mongo import Database, connect
from tests.support.api_client import GraphQLClient
from tests.support.factories import buyer, new_buyer_id, pending_requests, place_order, seller

DECIDE = """
mutation($id: ID!) {
  accept: acceptCancellation(input: {cancellationId: $id}) { __typename }
}"""
REJECT = """
mutation($id: ID!) {
  reject: rejectCancellation(input: {cancellationId: $id, reason: OTHER}) {
    __typename ... on NotPendingError { currentStatus }
  }
}"""
WITHDRAW = """
mutation($id: ID!) {
  withdraw: withdrawCancellation(input: {cancellationId: $id}) { __typename }
}"""
REQUEST = """
mutation($o: ID!) {
  requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) { __typename ... on Cancellation { id } }
}"""


async def test_c4_c5_accept_and_reject_at_the_same_instant_leave_one_outcome(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    rounds = 25
    outcomes: Counter[str] = Counter()
    for _ in range(rounds):
        buyer_id = new_buyer_id()
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        req = await api(REQUEST, {"o": order.id}, buyer(buyer_id))
        cid = req["requestCancellation"]["id"]

        results = await asyncio.gather(
            api(DECIDE, {"id": cid}, seller(shop_id)),
            api(REJECT, {"id": cid}, seller(shop_id)),
            api(WITHDRAW, {"id": cid}, buyer(buyer_id)),
        )

        names = [next(iter(r.values()))["__typename"] for r in results]
        winners = [n for n in names if n == "Cancellation"]
        assert len(winners) == 1, names
        assert sorted(n for n in names if n != "Cancellation") == ["NotPendingError"] * 2
        doc = await db.cancellations.find_one({"_id": cid})
        assert len(doc["timeline"]) == 2  # the request and exactly one decision
        outcomes[doc["status"]] += 1
    assert sum(outcomes.values()) == rounds
    counts = await tab_counts.read(db, shop_id, "cancellations")
    recount = {
        tab: await db.cancellations.count_documents({"shop_id": shop_id, "tabs": tab})
        for tab in ("TO_PROCEED", "COMPLETED", "CLOSED")
    }
    assert {k: v for k, v in counts.items() if v} == {k: v for k, v in recount.items() if v}


async def test_c2_two_requests_racing_on_one_order_make_one_request(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))

    results = await asyncio.gather(
        *[api(REQUEST, {"o": order.id}, buyer(buyer_id)) for _ in range(5)]
    )

    names = Counter(r["requestCancellation"]["__typename"] for r in results)
    assert names == Counter({"Cancellation": 1, "AlreadyRequestedError": 4})
    assert await db.cancellations.count_documents({"order_id": order.id}) == 1


async def test_c6_seller_decision_racing_the_deadline_has_one_winner(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    from models.actors import EXPIRY_WORKER

    ids = []
    for _ in range(10):
        buyer_id = new_buyer_id()
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        ids.append(
            (await api(REQUEST, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]["id"]
        )
    clock.advance(timedelta(hours=48))

    # Two workers and the seller all act on the overdue requests at once.
    worker_a, worker_b, *seller_results = await asyncio.gather(
        services.cancellations.auto_accept_due(EXPIRY_WORKER, limit=1000),
        services.cancellations.auto_accept_due(EXPIRY_WORKER, limit=1000),
        *[api(REJECT, {"id": cid}, seller(shop_id)) for cid in ids],
    )

    moved = [c.id for c in worker_a + worker_b if c.id in ids]
    assert sorted(moved) == sorted(ids)  # each moved once, by one worker
    assert all(r["reject"]["__typename"] != "Cancellation" for r in seller_results)
    for cid in ids:
        doc = await db.cancellations.find_one({"_id": cid})
        assert [r["action"] for r in doc["timeline"]] == ["REQUEST", "AUTO_ACCEPT"]


class _Aborts(monitoring.CommandListener):
    """Counts the transactions the driver aborted (a write conflict makes it abort and retry)."""

    def __init__(self) -> None:
        self.aborts = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "abortTransaction":
            self.aborts += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_c4_many_agents_deciding_one_shops_requests_at_once_queue_instead_of_conflicting(
    mongodb_uri: str, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """Every decision moves the shop's tab counter, so one shop's transactions conflict; in one
    process they queue (storage.mongo.SerialLocks): all land, none is aborted and retried, and
    the counter recounts equal."""
    listener = _Aborts()
    own = connect(mongodb_uri, db.db.name, event_listeners=[listener])
    try:
        services = await build_services(own, clock)
        ids = await pending_requests(db, shop_id, [clock.now() - timedelta(minutes=5)] * 30)
        agent = Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({ADJUSTMENTS}))
        decided = await asyncio.gather(
            *(services.handle(agent, AcceptCancellation(cid)) for cid in ids)
        )
        assert [c.status.value for c in decided] == ["CANCELLED"] * 30
        assert listener.aborts == 0
        assert len(own.serial) == 0
        counts = await tab_counts.read(db, shop_id, "cancellations")
        assert {k: v for k, v in counts.items() if v} == {"COMPLETED": 30}
        assert (
            await db.cancellations.count_documents({"shop_id": shop_id, "tabs": "COMPLETED"}) == 30
        )
    finally:
        await own.close()

"""The database round trips of each write path, counted from the driver's own command events, so
a write path that starts sending more fails here and not only in a benchmark.

Each path is measured once warm (the shop's id cached, the indexes there), in a database of its
own connection, so nothing else's commands are counted. The bounds are what the paths send
today: a path that sends fewer passes; tighten the bound with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from pymongo import monitoring

from api.app import create_app
from models.actors import EXPIRY_WORKER
from models.clock import SettableClock
from models.commands import AutoAcceptCancellations
from services.bootstrap import Services, build_services
from storage.mongo import Database, connect
from tests.support.api_client import GraphQLClient
from tests.support.factories import pending_requests, seller

ACCEPT = """mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) {
  __typename ... on Cancellation { status } } }"""

# What each path sends today, counted by this test: accepting one cancellation 13 (5 find, 3
# update, 3 insert, 1 findAndModify, 1 commitTransaction); a worker batch 14 (one more find),
# for 1 request as for 20. Two of them are the refund's (services/refunds.py): the read of
# whether the shop has a payment integration, and the refunds' insert.
ACCEPT_MUTATION_BOUND = 13
WORKER_BATCH_BOUND = 14


class Commands(monitoring.CommandListener):
    """Every command the driver starts, by name, while `counting`."""

    def __init__(self) -> None:
        self.seen: Counter[str] | None = None

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.seen is not None:
            self.seen[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.seen = Counter()
        try:
            yield self.seen
        finally:
            self.seen = None


@pytest.fixture
async def counted(
    mongodb_uri: str, db: Database, clock: SettableClock
) -> AsyncIterator[tuple[Commands, Services]]:
    """Services on a connection of their own to the tests' database, with a command counter."""
    commands = Commands()
    own = connect(mongodb_uri, db.db.name, event_listeners=[commands])
    try:
        yield commands, await build_services(own, clock)
    finally:
        await own.close()


def _total(seen: Counter[str]) -> int:
    return sum(seen.values())


async def test_accepting_a_cancellation_through_the_api_sends_at_most_its_round_trips(
    counted: tuple[Commands, Services], db: Database, clock: SettableClock, shop_id: str
) -> None:
    commands, services = counted
    first, second = await pending_requests(db, shop_id, [clock.now()] * 2)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = GraphQLClient(http)
        warm = await api(ACCEPT, {"id": first}, seller(shop_id))
        assert warm["acceptCancellation"]["status"] == "CANCELLED"
        with commands.counting() as seen:
            answer = await api(ACCEPT, {"id": second}, seller(shop_id))
    assert answer["acceptCancellation"]["status"] == "CANCELLED"
    assert seen["commitTransaction"] == 1, seen  # one transaction, no rerun
    assert _total(seen) <= ACCEPT_MUTATION_BOUND, dict(seen)


async def test_a_deadline_worker_batch_sends_at_most_its_round_trips_whatever_its_size(
    counted: tuple[Commands, Services], db: Database, clock: SettableClock, shop_id: str
) -> None:
    # C6: the worker accepts a batch of overdue requests in one transaction; what it sends must
    # not grow with the batch (one statement per collection, not one per request).
    commands, services = counted
    overdue = clock.now() - timedelta(hours=49)
    warm = await pending_requests(db, shop_id, [overdue])
    one = await pending_requests(db, shop_id, [overdue])
    many = await pending_requests(db, shop_id, [overdue] * 20)
    await services.handle(EXPIRY_WORKER, AutoAcceptCancellations(tuple(warm)))
    sent: list[Counter[str]] = []
    for batch in (one, many):
        with commands.counting() as seen:
            done = await services.handle(EXPIRY_WORKER, AutoAcceptCancellations(tuple(batch)))
        assert len(done) == len(batch)
        sent.append(seen)
    assert sent[0] == sent[1], sent
    assert sent[1]["commitTransaction"] == 1, sent[1]
    assert _total(sent[1]) <= WORKER_BATCH_BOUND, dict(sent[1])

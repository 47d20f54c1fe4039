"""Every write path's database round trips, counted with the driver's command monitoring against
the real server: a write that gains a round trip fails here, not only in a benchmark.

One use case of each kind of request (opened, then decided) and one batch of each deadline the
worker acts on (three requests), each through `Services.handle` as its entry point calls it. A
cancellation batch's round trips do not grow with its size (one per collection per batch, the
rules pass after it included); an after-sale batch reads each order's requests apart (one query
per order: SecantusDB scans the whole collection for `order_id: {$in: ...}`, see
tests/test_indexes.py). A figure that goes down is good news: lower it in ROUND_TRIPS.

Also: the documents a move writes, by collection (a C6 move, refunding to a payment system or
not; an after-sale move that refunds and one that does not); and accepting a cancellation
through the API, measured warm, and a C6 batch of 1 and of 20 requests, under bounds: a path
that sends fewer passes; tighten the bound with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pymongo import monitoring

from api.app import create_app
from models.actors import ADJUSTMENTS, EXPIRY_WORKER, Actor, ActorKind
from models.after_sales_machine import AfterSaleKind, DecisionType
from models.clock import SettableClock
from models.commands import (
    AcceptCancellation,
    ActOnAfterSaleDeadlines,
    ApprovalTerms,
    ApproveAfterSale,
    AutoAcceptCancellations,
    CancelUnpaidOrders,
    Command,
    RejectAfterSale,
    RejectCancellation,
    RequestAfterSale,
    RequestCancellation,
)
from models.orders import FulfilmentState
from services.bootstrap import Services, build_services
from storage import cancellations as cancellation_store
from storage import orders as order_store
from storage import refunds as refund_store
from storage.mongo import Database, connect
from tests.support.api_client import GraphQLClient
from tests.support.factories import new_buyer_id, pending_requests, place_order, seller

# The round trips of each write path, commitTransaction included. A seller's decision starts
# with the TikTok gate's read of the request's mirror (services/tiktok_decisions.py): every
# service process had it, and since the bootstrap builds the gate the services here have it too.
ROUND_TRIPS = {
    "request a cancellation": 12,
    "accept a cancellation": 12,
    "reject a cancellation": 11,
    "request a refund": 13,
    "approve a refund": 13,
    "request a return": 13,
    "reject a return": 12,
    "request a replacement": 13,
    "approve a replacement": 12,
    "worker: accept overdue cancellations": 12,
    "worker: cancel unpaid orders": 12,
    "worker: act on after-sale deadlines": 15,
}


# What one move writes, by collection, besides the shop's counters (its tab counter and event
# sequence, moved once per shop per transaction) (docs/architecture.md says why each):
# - the request: its status, tab, deadline and timeline record, and the refund a refunding move
#   decided (storage/refunds.py), in the same statement;
# - its order, with its refund ledger (a cancellation cancels it; an approved refund marks it
#   refunded; every after-sale step writes it, paying or not, so two steps on one order cannot
#   both pass on a stale ledger);
# - its ticket: the helpdesk's lists, counts and rules filter on the ticket's status and deadline;
# - one event document: the request's status event, its ticket's change, the refund's
#   instruction to a payment system, if any, and its notification (both recipients' parts) in
#   one (storage/events.py).
C6_MOVE = {"cancellations": 1, "orders": 1, "tickets": 1, "events": 1}
AFTER_SALE_REFUNDING_MOVE = {"after_sales": 1, "orders": 1, "tickets": 1, "events": 1}
AFTER_SALE_MOVE = {"after_sales": 1, "orders": 1, "tickets": 1, "events": 1}
SHOP_COUNTERS = {"tab_counts", "event_sequences"}


@dataclass
class RoundTrips(monitoring.CommandListener):
    """The commands the driver sends while `on`: (command, collection), in order; and the
    documents each insert or update statement writes, by collection."""

    on: bool = False
    sent: list[tuple[str, str]] = field(default_factory=list)
    written: Counter[str] = field(default_factory=Counter)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on:
            target = event.command.get(event.command_name)
            target = target if isinstance(target, str) else ""
            self.sent.append((event.command_name, target))
            cmd = event.command
            self.written[target] += len(cmd.get("documents", ())) + len(cmd.get("updates", ()))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    async def count(self, call: Awaitable[Any]) -> list[tuple[str, str]]:
        self.sent, self.written, self.on = [], Counter(), True
        try:
            await call
        finally:
            self.on = False
        return self.sent


@dataclass
class Counted:
    services: Services
    trips: RoundTrips
    db: Database
    clock: SettableClock


@pytest.fixture
async def counted(mongodb_uri: str, db: Database, clock: SettableClock) -> AsyncIterator[Counted]:
    """The services of a process of their own on the test database, its driver monitored."""
    trips = RoundTrips()
    own = connect(mongodb_uri, db.db.name, event_listeners=[trips])
    try:
        yield Counted(await build_services(own, clock), trips, own, clock)
    finally:
        await own.close()


def _agent(shop_id: str) -> Actor:
    return Actor(ActorKind.SELLER_AGENT, "agent-9", shop_id, frozenset({ADJUSTMENTS}))


def _buyer(buyer_id: str) -> Actor:
    return Actor(ActorKind.BUYER, buyer_id)


async def _pending_cancellation(c: Counted, shop_id: str) -> tuple[Command, str]:
    buyer_id = new_buyer_id()
    order = await place_order(c.db, shop_id, buyer_id, c.clock.now() - timedelta(hours=2))
    return RequestCancellation(order.id, "CHANGED_MIND"), buyer_id


async def _opened_cancellation(c: Counted, shop_id: str) -> str:
    command, buyer_id = await _pending_cancellation(c, shop_id)
    return (await c.services.handle(_buyer(buyer_id), command)).id


async def _delivered(c: Counted, shop_id: str) -> tuple[str, str, str]:
    buyer_id = new_buyer_id()
    placed = c.clock.now() - timedelta(days=2)
    order = await place_order(c.db, shop_id, buyer_id, placed, state=FulfilmentState.DELIVERED)
    return buyer_id, order.id, order.lines[0].line_id


async def _asking(c: Counted, shop_id: str, kind: AfterSaleKind) -> tuple[Command, str]:
    buyer_id, order_id, line_id = await _delivered(c, shop_id)
    return RequestAfterSale(order_id, kind, ((line_id, 1),), "DAMAGED"), buyer_id


async def _opened_after_sale(c: Counted, shop_id: str, kind: AfterSaleKind) -> str:
    command, buyer_id = await _asking(c, shop_id, kind)
    return (await c.services.handle(_buyer(buyer_id), command)).id


# What each case measures: set up (not counted), then the one call counted.
Case = Callable[[Counted, str], Awaitable[tuple[Actor, Command]]]


async def _request_cancellation(c: Counted, shop_id: str) -> tuple[Actor, Command]:
    command, buyer_id = await _pending_cancellation(c, shop_id)
    return _buyer(buyer_id), command


async def _accept_cancellation(c: Counted, shop_id: str) -> tuple[Actor, Command]:
    return _agent(shop_id), AcceptCancellation(await _opened_cancellation(c, shop_id))


async def _reject_cancellation(c: Counted, shop_id: str) -> tuple[Actor, Command]:
    cancellation_id = await _opened_cancellation(c, shop_id)
    return _agent(shop_id), RejectCancellation(cancellation_id, "OTHER")


def _request(kind: AfterSaleKind) -> Case:
    async def case(c: Counted, shop_id: str) -> tuple[Actor, Command]:
        command, buyer_id = await _asking(c, shop_id, kind)
        return _buyer(buyer_id), command

    return case


def _approve(kind: AfterSaleKind, decision: DecisionType, terms: ApprovalTerms) -> Case:
    async def case(c: Counted, shop_id: str) -> tuple[Actor, Command]:
        request_id = await _opened_after_sale(c, shop_id, kind)
        return _agent(shop_id), ApproveAfterSale(request_id, decision, terms)

    return case


async def _reject_return(c: Counted, shop_id: str) -> tuple[Actor, Command]:
    request_id = await _opened_after_sale(c, shop_id, AfterSaleKind.RETURN_AND_REFUND)
    return _agent(shop_id), RejectAfterSale(request_id, "NO_EVIDENCE")


BATCH = 3


async def _overdue_cancellations(c: Counted, shop_id: str, n: int = BATCH) -> Command:
    ids = [await _opened_cancellation(c, shop_id) for _ in range(n)]
    c.clock.advance(timedelta(hours=49))
    return AutoAcceptCancellations(tuple(ids))


async def _unpaid_orders(c: Counted, shop_id: str, n: int = BATCH) -> Command:
    placed = c.clock.now() - timedelta(hours=25)
    orders = [
        await place_order(c.db, shop_id, new_buyer_id(), placed, state=FulfilmentState.UNPAID)
        for _ in range(n)
    ]
    return CancelUnpaidOrders(tuple(o.id for o in orders))


async def _overdue_after_sales(c: Counted, shop_id: str, n: int = BATCH) -> Command:
    ids = [await _opened_after_sale(c, shop_id, AfterSaleKind.REFUND_ONLY) for _ in range(n)]
    c.clock.advance(timedelta(days=30))
    return ActOnAfterSaleDeadlines(tuple(ids))


def _batch(make: Callable[[Counted, str], Awaitable[Command]]) -> Case:
    async def case(c: Counted, shop_id: str) -> tuple[Actor, Command]:
        return EXPIRY_WORKER, await make(c, shop_id)

    return case


CASES: dict[str, Case] = {
    "request a cancellation": _request_cancellation,
    "accept a cancellation": _accept_cancellation,
    "reject a cancellation": _reject_cancellation,
    "request a refund": _request(AfterSaleKind.REFUND_ONLY),
    "approve a refund": _approve(
        AfterSaleKind.REFUND_ONLY, DecisionType.APPROVE_REFUND, ApprovalTerms()
    ),
    "request a return": _request(AfterSaleKind.RETURN_AND_REFUND),
    "reject a return": _reject_return,
    "request a replacement": _request(AfterSaleKind.REPLACEMENT),
    "approve a replacement": _approve(
        AfterSaleKind.REPLACEMENT,
        DecisionType.APPROVE_REPLACEMENT,
        ApprovalTerms(reason="DEFECT_CONFIRMED"),
    ),
    "worker: accept overdue cancellations": _batch(_overdue_cancellations),
    "worker: cancel unpaid orders": _batch(_unpaid_orders),
    "worker: act on after-sale deadlines": _batch(_overdue_after_sales),
}


def _shown(sent: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {coll}".strip() for name, coll in sent)


@pytest.mark.parametrize("name", list(CASES))
async def test_a_write_path_makes_no_more_round_trips_than_it_did(
    counted: Counted, shop_id: str, name: str
) -> None:
    actor, command = await CASES[name](counted, shop_id)
    sent = await counted.trips.count(counted.services.handle(actor, command))
    assert ("commitTransaction", "") in sent  # the write landed, in one transaction
    assert len(sent) == ROUND_TRIPS[name], f"{name}: {len(sent)} round trips: {_shown(sent)}"


@pytest.mark.parametrize("make", [_overdue_cancellations, _unpaid_orders], ids=lambda f: f.__name__)
async def test_a_worker_batch_makes_as_many_round_trips_for_six_as_for_one(
    counted: Counted, make: Callable[..., Awaitable[Command]]
) -> None:
    sizes = []
    for n in (1, 6):
        command = await make(counted, f"shop-batch-{n}-{id(make)}", n)
        sent = await counted.trips.count(counted.services.handle(EXPIRY_WORKER, command))
        sizes.append(Counter(sent))
    assert sizes[0] == sizes[1], f"one: {sizes[0]}; six: {sizes[1]}"


def _per_move(written: Counter[str], n: int) -> dict[str, float]:
    return {k: v / n for k, v in written.items() if v and k not in SHOP_COUNTERS}


async def test_c6_a_deadline_move_writes_its_documents_and_no_more(counted: Counted) -> None:
    """C6 over a batch (the shop pays no refund itself: the platform settles it at once)."""
    n = 4
    command = await _overdue_cancellations(counted, "shop-moves", n)
    await counted.trips.count(counted.services.handle(EXPIRY_WORKER, command))
    assert _per_move(counted.trips.written, n) == C6_MOVE


async def test_c6_a_move_whose_refund_a_payment_system_settles_carries_its_instruction_event(
    counted: Counted,
) -> None:
    """The `refund.instructed` event the shop's payment system is sent rides on the move's event
    document too (storage/events.py)."""
    n = 4
    await refund_store.register(counted.db, "shop-paid-moves", "payments-1", counted.clock.now())
    command = await _overdue_cancellations(counted, "shop-paid-moves", n)
    await counted.trips.count(counted.services.handle(EXPIRY_WORKER, command))
    assert _per_move(counted.trips.written, n) == C6_MOVE


async def test_an_after_sale_refunding_move_writes_its_documents_and_no_more(
    counted: Counted, shop_id: str
) -> None:
    actor, command = await _approve(
        AfterSaleKind.REFUND_ONLY, DecisionType.APPROVE_REFUND, ApprovalTerms()
    )(counted, shop_id)
    await counted.trips.count(counted.services.handle(actor, command))
    assert _per_move(counted.trips.written, 1) == AFTER_SALE_REFUNDING_MOVE


async def test_an_after_sale_move_that_refunds_nothing_writes_its_documents_and_no_more(
    counted: Counted, shop_id: str
) -> None:
    actor, command = await _reject_return(counted, shop_id)
    await counted.trips.count(counted.services.handle(actor, command))
    assert _per_move(counted.trips.written, 1) == AFTER_SALE_MOVE


async def test_c6_one_notification_document_tells_the_buyer_and_the_shop_each_their_own(
    counted: Counted, shop_id: str
) -> None:
    cancellation_id = await _opened_cancellation(counted, shop_id)
    request = await counted.db.cancellations.find_one({"_id": cancellation_id})
    counted.clock.advance(timedelta(hours=49))
    await counted.services.handle(EXPIRY_WORKER, AutoAcceptCancellations((cancellation_id,)))

    orders = counted.services.orders
    buyer_notes, _ = await orders.notifications(_buyer(request["buyer_id"]), 10, None)
    shop_notes, _ = await orders.notifications(_agent(shop_id), 10, None)
    [to_buyer] = [n for n in buyer_notes if n["kind"] == "ORDER_CANCELLED"]
    [to_shop] = [
        n
        for n in shop_notes
        if n["request_id"] == cancellation_id and n["kind"] == "ORDER_CANCELLED"
    ]
    assert to_buyer["_id"] == to_shop["_id"]  # one document
    assert to_buyer["message"].startswith(f"Your order {request['order_id']} was cancelled")
    assert to_shop["message"].startswith(f"Order {request['order_id']} was cancelled")


# Each deadline's scan: the batch it finds, the scan, the batch's ids, the collection it reads.
SCANS = {
    "c6": (
        _overdue_cancellations,
        cancellation_store.due_for_auto_accept,
        "cancellation_ids",
        "cancellations",
    ),
    "c8": (_unpaid_orders, order_store.due_for_payment_cancel, "order_ids", "orders"),
}


@pytest.mark.parametrize("rule", list(SCANS))
async def test_c6_c8_a_batch_found_by_the_worker_scan_reads_no_shop_before_its_transaction(
    counted: Counted, shop_id: str, rule: str
) -> None:
    """The worker's scan reads each due document's shop with its deadline, so the batch queues
    on its shops without reading them again (storage/shops.py)."""
    make, scan, ids, collection = SCANS[rule]
    command = await make(counted, shop_id)
    due = await scan(counted.db, counted.clock.now(), 100_000)
    assert set(getattr(command, ids)) <= {i for i, _ in due}
    sent = await counted.trips.count(counted.services.handle(EXPIRY_WORKER, command))
    assert sent.count(("find", collection)) == 1, _shown(sent)  # the batch's own read


ACCEPT = """mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) {
  __typename ... on Cancellation { status } } }"""

# What each path sends today, counted by this test: accepting one cancellation 11 (5 find, the
# TikTok gate's included, 3 update, 1 insert, 1 findAndModify, 1 commitTransaction); a worker
# batch 11 (no gate: not a seller's decision), for 1 request as for 20. One of them is the
# refund's (services/refunds.py): the read of whether the shop has a payment integration (the
# refund is written with its request).
ACCEPT_MUTATION_BOUND = 11
WORKER_BATCH_BOUND = 11


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
async def commands_counted(
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
    commands_counted: tuple[Commands, Services], db: Database, clock: SettableClock, shop_id: str
) -> None:
    commands, services = commands_counted
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
    commands_counted: tuple[Commands, Services], db: Database, clock: SettableClock, shop_id: str
) -> None:
    # C6: the worker accepts a batch of overdue requests in one transaction; what it sends must
    # not grow with the batch (one statement per collection, not one per request).
    commands, services = commands_counted
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

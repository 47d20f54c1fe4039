"""The event log: every status change writes its event in the same transaction, numbered per shop
in commit order without gaps, whoever made it (an agent, the buyer, the deadline worker)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from models.actors import EXPIRY_WORKER
from models.clock import SettableClock
from models.commands import AutoAcceptCancellations
from models.events import RefundEvent, StatusEvent, TicketEvent
from services.bootstrap import Services
from storage import events as event_log
from storage.mongo import Database, connect
from tests.support.api_client import GraphQLClient
from tests.support.factories import buyer, new_buyer_id, pending_requests, place_order, seller

REQUEST = """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
  __typename ... on Cancellation { id } } }"""
ACCEPT = (
    """mutation($id: ID!) { r: acceptCancellation(input: {cancellationId: $id}) { __typename } }"""
)
REJECT = """mutation($id: ID!) { r: rejectCancellation(input: {cancellationId: $id, reason: OTHER}) { __typename } }"""


async def _request(api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str) -> str:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    data = await api(REQUEST, {"o": order.id}, buyer(buyer_id))
    return data["requestCancellation"]["id"]


async def _all(db: Database, shop_id: str) -> list[event_log.StoredEvent]:
    """The shop's whole log: request events and ticket events, one numbering."""
    return list(await event_log.after(db, shop_id, 0, 10_000))


async def _requests(db: Database, shop_id: str) -> list[event_log.StoredEvent]:
    return [e for e in await _all(db, shop_id) if isinstance(e.event, StatusEvent)]


async def test_h3_each_change_writes_one_event_with_its_move(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _request(api, db, clock, shop_id)
    assert (await api(REJECT, {"id": cid}, seller(shop_id)))["r"]["__typename"] == "Cancellation"

    made, rejected = await _requests(db, shop_id)
    assert (made.seq, rejected.seq) == (1, 3)  # each followed by its ticket's event
    assert await event_log.head(db, shop_id) == 4
    opened, moved = [e.event for e in await _all(db, shop_id) if isinstance(e.event, TicketEvent)]
    assert (opened.action, moved.action, moved.status) == ("OPENED", "REQUEST_MOVED", "RESOLVED")
    assert opened.request_id == moved.request_id == cid
    assert made.event.kind.value == "CANCELLATION" and made.event.request_id == cid
    assert (made.event.from_status, made.event.to_status) == (None, "PENDING")
    assert (made.event.from_tab, made.event.to_tab) == (None, "TO_PROCEED")
    assert made.event.actor_kind.value == "BUYER"
    assert (rejected.event.action, rejected.event.reason) == ("REJECT", "OTHER")
    assert (rejected.event.from_tab, rejected.event.to_tab) == ("TO_PROCEED", "CLOSED")
    assert rejected.event.actor_kind.value == "SELLER_AGENT"


async def test_h3_a_refused_change_writes_no_event(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _request(api, db, clock, shop_id)
    await api(ACCEPT, {"id": cid}, seller(shop_id))
    assert (await api(REJECT, {"id": cid}, seller(shop_id)))["r"]["__typename"] == "NotPendingError"
    assert [e.event.action for e in await _requests(db, shop_id)] == ["REQUEST", "ACCEPT"]


async def test_h3_racing_changes_in_one_shop_are_numbered_without_gaps_or_repeats(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    ids = [await _request(api, db, clock, shop_id) for _ in range(12)]
    results = await asyncio.gather(
        *(api(ACCEPT, {"id": cid}, seller(shop_id)) for cid in ids),
        *(api(REJECT, {"id": cid}, seller(shop_id)) for cid in ids),
    )
    wins = sum(r["r"]["__typename"] == "Cancellation" for r in results)
    assert wins == len(ids)  # one decision per request
    events = await _all(db, shop_id)
    # Each request: its event and its ticket's opening, then its decision and its ticket's move.
    assert [e.seq for e in events] == list(range(1, 4 * len(ids) + 1))
    requests = [e.event for e in events if isinstance(e.event, StatusEvent)]
    decided = [e.request_id for e in requests if e.action in ("ACCEPT", "REJECT")]
    assert sorted(decided) == sorted(ids)
    tickets = [e.event for e in events if isinstance(e.event, TicketEvent)]
    assert sorted(e.action for e in tickets) == ["OPENED"] * 12 + ["REQUEST_MOVED"] * 12


async def test_c6_the_deadline_workers_moves_are_events(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    ids = await pending_requests(db, shop_id, [clock.now() - timedelta(hours=49)] * 5)
    moved = await services.cancellations.handle(EXPIRY_WORKER, AutoAcceptCancellations(tuple(ids)))
    assert len(moved) == 5
    events = await _all(db, shop_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    requests = [e for e in events if isinstance(e.event, StatusEvent)]
    assert len(requests) == 10
    auto = [e.event for e in requests[5:]]
    assert {e.request_id for e in auto} == set(ids)
    assert {(e.action, e.actor_kind.value, e.actor_id) for e in auto} == {
        ("AUTO_ACCEPT", "PLATFORM", "expiry-worker")
    }
    assert len({e.stored_at for e in requests[5:]}) == 1  # one transaction, one write


async def _moved(db: Database, shop_id: str) -> tuple[list[event_log.StoredEvent], int]:
    """The shop's log, and the number of its cancellation's move to CANCELLED."""
    log = await _all(db, shop_id)
    moved = next(
        e for e in log if isinstance(e.event, StatusEvent) and e.event.to_status == "CANCELLED"
    )
    return log, moved.seq


async def _read_and_kept(
    mongodb_uri: str,
    db: Database,
    shop_id: str,
    doc_seq: int,
    before: event_log.StoredEvent,
    last: event_log.StoredEvent,
) -> None:
    """A reader whose cursor stops at `before` gets `last`, the next number, from the document
    numbered `doc_seq`; retention keeps that document until every consumer has passed `last`."""
    from storage import event_consumers, event_retention

    [after_it] = await event_consumers.read(db, shop_id, before.seq, 1)
    assert (after_it.seq, after_it.id) == (last.seq, last.id)
    assert [e.seq for e in await event_log.after(db, shop_id, before.seq, 5)] == [last.seq]

    # Retention, on a database of its own (a prune reaches every shop of its database).
    own = connect(mongodb_uri, f"test_retention_{uuid.uuid4().hex[:8]}")
    try:
        doc = await db.events.find_one({"shop_id": shop_id, "seq": doc_seq})
        await own.events.insert_one({**doc, "stored_at": datetime.now(UTC) - timedelta(days=2)})
        consumer = {"_id": "c", "shop_id": shop_id, "name": "c", "cursor": before.seq}
        await event_consumers.collection(own).insert_one(consumer)
        assert await event_retention.prune(own, datetime.now(UTC)) == 0  # `last` is due
        await event_consumers.collection(own).update_one({}, {"$set": {"cursor": last.seq}})
        assert await event_retention.prune(own, datetime.now(UTC)) == 1
    finally:
        await own.client.drop_database(own.db.name)
        await own.close()


async def test_h3_a_move_writes_one_event_document_carrying_its_tickets_change(
    api: GraphQLClient, mongodb_uri: str, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """The request's event and its ticket's are one document, numbered n and n + 1; a reader
    whose cursor stops between the two still gets the ticket's, and retention keeps the document
    until every consumer has passed both."""
    cid = await _request(api, db, clock, shop_id)
    await api(ACCEPT, {"id": cid}, seller(shop_id))
    log, moved = await _moved(db, shop_id)
    request, ticket = (next(e for e in log if e.seq == moved + i) for i in (0, 1))
    assert isinstance(ticket.event, TicketEvent) and ticket.event.request_id == cid
    assert await db.events.count_documents({"shop_id": shop_id, "seq": moved}) == 1
    assert await db.events.count_documents({"shop_id": shop_id, "seq": ticket.seq}) == 0
    await _read_and_kept(mongodb_uri, db, shop_id, moved, request, ticket)


async def test_h3_a_refunding_move_carries_its_refund_instruction_after_its_tickets_change(
    api: GraphQLClient, mongodb_uri: str, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """A shop whose payment system settles its refunds: the move's document also carries the
    refund instruction, numbered n + 2; a reader whose cursor stops at the ticket's change still
    gets it, and retention keeps the document until every consumer has passed it."""
    from storage import refunds as refund_store

    await refund_store.register(db, shop_id, "payments-1", clock.now())
    cid = await _request(api, db, clock, shop_id)
    await api(ACCEPT, {"id": cid}, seller(shop_id))
    log, moved = await _moved(db, shop_id)
    ticket, refund = (next(e for e in log if e.seq == moved + i) for i in (1, 2))
    assert isinstance(ticket.event, TicketEvent)
    assert isinstance(refund.event, RefundEvent) and refund.event.request_id == cid
    assert refund.event.action == "INSTRUCTED"
    assert await db.events.count_documents({"shop_id": shop_id, "seq": moved}) == 1
    assert await db.events.count_documents({"shop_id": shop_id, "seq": refund.seq}) == 0
    await _read_and_kept(mongodb_uri, db, shop_id, moved, ticket, refund)

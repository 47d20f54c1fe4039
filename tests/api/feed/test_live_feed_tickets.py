"""Helpdesk ticket changes on the live feed (H3 for H1): `ticketEvents` over a real WebSocket on
a real uvicorn. Same log and numbering as `requestEvents`; the shop's team only."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from models.clock import SettableClock
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller
from tests.support.live import EVENTS, Client, serving

TICKET_EVENTS = """subscription($shop: ID, $ticket: ID, $after: String) {
  ticketEvents(shopId: $shop, ticketId: $ticket, after: $after) {
    __typename
    ... on TicketEvent { cursor ticketId requestId kind action detail status assignee tags
      actorKind actorId ruleId at ticket { id assignee notes { text } } }
    ... on UserError { code message field }
  }
}"""
REQUEST = """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
  __typename ... on Cancellation { id } } }"""
REJECT = """mutation($id: ID!) { r: rejectCancellation(input: {cancellationId: $id, reason: OTHER}) { __typename } }"""
ADD_AGENT = (
    """mutation($agent: String!) { addShopAgent(input: {agentId: $agent}) { __typename } }"""
)
ASSIGN = """mutation($t: ID!, $a: String) { assignTicket(input: {ticketId: $t, assignee: $a}) {
  __typename ... on Ticket { assignee } } }"""
NOTE = """mutation($t: ID!, $text: String!) { addTicketNote(input: {ticketId: $t, text: $text}) {
  __typename } }"""
TICKET_OF = """query($shop: ID) { tickets(shopId: $shop, first: 50) {
  edges { node { id requestFacts { id } } } } }"""


@pytest.fixture
async def url(services: Services) -> str:
    async with serving(services) as ws_url:
        yield ws_url


async def _request(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str, buyer_id: str
) -> tuple[str, str]:
    """A buyer's cancellation that waits for the seller, and the ticket it opened."""
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    cid = (await api(REQUEST, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]["id"]
    edges = (await api(TICKET_OF, {}, seller(shop_id)))["tickets"]["edges"]
    [ticket_id] = [e["node"]["id"] for e in edges if e["node"]["requestFacts"]["id"] == cid]
    return cid, ticket_id


async def _ws_mutation(ws: Client, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    await ws.subscribe(document, variables)
    return await ws.next()


async def test_h3_an_agent_assigning_a_ticket_is_seen_by_a_subscriber(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await api(ADD_AGENT, {"agent": "agent-9"}, seller(shop_id))
    async with (
        Client.connect(url, seller(shop_id, adjust=False)) as watcher,
        Client.connect(url, seller(shop_id)) as agent,
    ):
        await watcher.acked()
        await agent.acked()
        await watcher.subscribe(TICKET_EVENTS, {})  # an agent's own shop by default
        await asyncio.sleep(0.2)
        cid, tid = await _request(api, db, clock, shop_id, new_buyer_id())
        assigned = await _ws_mutation(agent, ASSIGN, {"t": tid, "a": "agent-9"})
        assert assigned == {"__typename": "Ticket", "assignee": "agent-9"}
        await _ws_mutation(agent, NOTE, {"t": tid, "text": "Buyer called, wants it fast"})
        await api(REJECT, {"id": cid}, seller(shop_id))
        opened, assign, note, moved = await watcher.take(4)
        await watcher.nothing_more()  # the request's own events are not ticket events

    assert {e["__typename"] for e in (opened, assign, note, moved)} == {"TicketEvent"}
    assert {e["ticketId"] for e in (opened, assign, note, moved)} == {tid}
    assert (opened["action"], opened["status"], opened["actorKind"]) == ("OPENED", "OPEN", "BUYER")
    assert (assign["action"], assign["assignee"], assign["actorId"]) == (
        "ASSIGNED",
        "agent-9",
        "agent-7",
    )
    assert note["action"] == "NOTE_ADDED"
    assert note["ticket"]["notes"] == [{"text": "Buyer called, wants it fast"}]
    assert (moved["action"], moved["status"], moved["requestId"]) == (
        "REQUEST_MOVED",
        "RESOLVED",
        cid,
    )
    cursors = [e["cursor"] for e in (opened, assign, note, moved)]
    assert len(set(cursors)) == 4


async def test_h3_a_buyer_cannot_subscribe_to_ticket_events_nor_see_them(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    me = new_buyer_id()
    async with Client.connect(url, buyer(me)) as ws:
        await ws.acked()
        await ws.subscribe(TICKET_EVENTS, {"shop": shop_id})
        refused = await ws.next()
        await ws.subscribe(EVENTS, {"shop": shop_id})
        await asyncio.sleep(0.2)
        _, tid = await _request(api, db, clock, shop_id, me)
        await api(NOTE, {"t": tid, "text": "internal: refund quickly"}, seller(shop_id))
        [mine] = await ws.take(1)
        await ws.nothing_more()  # neither the ticket's opening nor the internal note
    assert (refused["__typename"], refused["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert mine["__typename"] == "RequestEvent" and mine["change"]["action"] == "REQUEST"


async def test_h3_ticket_events_resume_after_a_cursor_of_either_feed(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    _, first = await _request(api, db, clock, shop_id, new_buyer_id())
    async with Client.connect(url, PLATFORM) as ws:
        await ws.acked()
        await ws.subscribe(TICKET_EVENTS, {"shop": shop_id})
        await asyncio.sleep(0.2)
        await api(NOTE, {"t": first, "text": "one"}, seller(shop_id))
        [seen] = await ws.take(1)
    # Offline: a second request opens its ticket, and the first gets a note.
    second_cid, second = await _request(api, db, clock, shop_id, new_buyer_id())
    await api(NOTE, {"t": first, "text": "two"}, seller(shop_id))

    async with Client.connect(url, PLATFORM) as ws:
        await ws.acked()
        await ws.subscribe(TICKET_EVENTS, {"shop": shop_id, "after": seen["cursor"]})
        await ws.subscribe(
            TICKET_EVENTS, {"shop": shop_id, "after": seen["cursor"], "ticket": first}
        )
        await ws.subscribe(EVENTS, {"shop": shop_id, "after": seen["cursor"]})
        messages = [await ws.receive() for _ in range(4)]
        await ws.nothing_more()
    got: dict[str, list[tuple[str, str | None]]] = {"1": [], "2": [], "3": []}
    for m in messages:
        e = next(iter(m["payload"]["data"].values()))
        key = e.get("ticketId") or e["requestId"]
        got[m["id"]].append((key, e["action"] if "action" in e else e["change"]["action"]))
    assert got == {
        "1": [(second, "OPENED"), (first, "NOTE_ADDED")],  # missed, in order, nothing twice
        "2": [(first, "NOTE_ADDED")],
        "3": [(second_cid, "REQUEST")],  # a ticket event's cursor resumes the request feed too
    }

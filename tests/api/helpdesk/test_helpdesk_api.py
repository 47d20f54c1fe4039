"""H1, H2 through the public GraphQL API, against the real database server: tickets opened with
their requests, worked by agents, decided from, and rules that act on them."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from models.clock import SettableClock
from models.commands import AutoAcceptCancellations
from models.orders import FulfilmentState
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller
from tests.support.helpdesk_api import CREATE_RULE, ERROR

TICKET = """
  id type subject status assignee tags opened_at: openedAt orderId
  notes { authorId text }
  requestFacts { id kind initiator status phase nextDeadline reason { code } amount { minorUnits } categories }
  rulesApplied
  timeline { actorKind actorId action detail ruleId ruleName }
"""
TICKETS = f"""
query($filter: TicketFilterInput, $shop: ID) {{
  tickets(shopId: $shop, filter: $filter, first: 50) {{ edges {{ node {{ {TICKET} }} }} }}
  ticketCounts(shopId: $shop, filter: $filter) {{ all open pending resolved }}
}}"""
TICKET_Q = (
    f"query($id: ID!) {{ ticket(id: $id) {{ {TICKET} cancellation {{ status respondBy }} }} }}"
)
REQUEST = """
mutation($o: ID!) {
  requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
    __typename ... on Cancellation { id status respondBy }
  }
}"""
ACCEPT = """
mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) {
  __typename ... on Cancellation { status } } }"""
REJECT = """
mutation($id: ID!) { rejectCancellation(input: {cancellationId: $id, reason: OTHER}) {
  __typename ... on Cancellation { status } } }"""
SYSTEM_CANCEL = """
mutation($o: ID!) { cancelUnpaidOrder(input: {orderId: $o}) {
  __typename ... on Cancellation { id status } } }"""
ADD_AGENT = """
mutation($agent: String!) { addShopAgent(input: {agentId: $agent}) {
  __typename ... on ShopAgents { agents } } }"""


async def _request(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str, **kw: Any
) -> str:
    buyer_id = kw.pop("buyer_id", None) or new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2), **kw)
    result = (await api(REQUEST, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]
    assert result["__typename"] == "Cancellation", result
    return result["id"]


async def _ticket_of(api: GraphQLClient, shop_id: str, request_id: str) -> dict[str, Any]:
    data = await api(TICKETS, {}, seller(shop_id))
    [found] = [
        e["node"] for e in data["tickets"]["edges"] if e["node"]["requestFacts"]["id"] == request_id
    ]
    return found


async def _system_cancel(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> str:
    order = await place_order(
        db, shop_id, new_buyer_id(), clock.now() - timedelta(hours=25), state=FulfilmentState.UNPAID
    )
    result = (await api(SYSTEM_CANCEL, {"o": order.id}, PLATFORM))["cancelUnpaidOrder"]
    assert result["__typename"] == "Cancellation", result
    return result["id"]


async def _rule(api: GraphQLClient, shop_id: str, rule: dict[str, Any]) -> dict[str, Any]:
    return (await api(CREATE_RULE, {"rule": rule}, seller(shop_id)))["createTicketRule"]


# ---- H1 ------------------------------------------------------------------------------------


async def test_h1_buyer_request_opens_new_cancellation_request_ticket(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    request_id = await _request(api, db, clock, shop_id)

    t = await _ticket_of(api, shop_id, request_id)
    assert (t["type"], t["subject"], t["status"]) == ("REQUEST", "New Cancellation Request", "OPEN")
    assert (t["requestFacts"]["kind"], t["requestFacts"]["status"], t["requestFacts"]["phase"]) == (
        "CANCELLATION",
        "PENDING",
        "WAITING_FOR_SELLER",
    )
    one = (await api(TICKET_Q, {"id": t["id"]}, seller(shop_id, adjust=False)))["ticket"]
    assert one["cancellation"]["status"] == "PENDING"
    assert one["requestFacts"]["nextDeadline"] == one["cancellation"]["respondBy"]
    assert [r["action"] for r in one["timeline"]] == ["OPENED"]
    # The ticket is written with the request, in one transaction: both or neither exist.
    assert await db.tickets.count_documents({"request_id": request_id}) == 1
    # Buyers do not see the shop's helpdesk: to them the ticket is not there.
    body = await api.raw(TICKET_Q, {"id": t["id"]}, buyer(new_buyer_id()))
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


REQUEST_TICKET = "query($id: ID!) { requestTicket(requestId: $id) { id request { id } } }"


async def test_h1_a_requests_ticket_is_found_by_the_request_id_for_the_team_only(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    request_id = await _request(api, db, clock, shop_id)
    t = await _ticket_of(api, shop_id, request_id)

    found = await api(REQUEST_TICKET, {"id": request_id}, seller(shop_id, adjust=False))
    assert found["requestTicket"] == {"id": t["id"], "request": {"id": request_id}}
    # A request that opened no ticket (cancelled at once, C1) has none.
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now())
    at_once = (await api(REQUEST, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]
    none = await api(REQUEST_TICKET, {"id": at_once["id"]}, seller(shop_id))
    assert none["requestTicket"] is None
    # Another shop's agent and the buyer learn nothing: null, as for a request without one.
    for outsider in (seller("shop-elsewhere"), buyer(new_buyer_id())):
        body = await api.raw(REQUEST_TICKET, {"id": request_id}, outsider)
        assert body == {"data": {"requestTicket": None}}


async def test_h1_ticket_closes_itself_when_its_request_is_decided(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    accepted = await _request(api, db, clock, shop_id)
    rejected = await _request(api, db, clock, shop_id)

    await api(ACCEPT, {"id": accepted}, seller(shop_id))
    await api(REJECT, {"id": rejected}, seller(shop_id))

    for request_id, status in ((accepted, "CANCELLED"), (rejected, "REJECTED")):
        t = await _ticket_of(api, shop_id, request_id)
        assert (t["status"], t["requestFacts"]["status"], t["requestFacts"]["phase"]) == (
            "RESOLVED",
            status,
            "FINAL",
        )
        assert t["requestFacts"]["nextDeadline"] is None
        assert t["timeline"][-1]["action"] == "REQUEST_MOVED"
        assert t["timeline"][-1]["detail"] == f"PENDING -> {status}"


async def test_h1_c6_automatic_acceptance_resolves_the_ticket_too(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    from models.actors import EXPIRY_WORKER

    request_id = await _request(api, db, clock, shop_id)
    clock.advance(timedelta(hours=48))
    await services.cancellations.handle(EXPIRY_WORKER, AutoAcceptCancellations((request_id,)))

    t = await _ticket_of(api, shop_id, request_id)
    assert (t["status"], t["timeline"][-1]["actorId"]) == ("RESOLVED", "expiry-worker")


async def test_h1_system_cancellation_opens_notification_ticket(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    request_id = await _system_cancel(api, db, clock, shop_id)

    t = await _ticket_of(api, shop_id, request_id)
    assert (t["type"], t["subject"], t["status"]) == (
        "NOTIFICATION",
        "Order Cancelled by TikTok Shop",
        "OPEN",
    )
    assert (t["requestFacts"]["initiator"], t["requestFacts"]["phase"]) == ("SYSTEM", "FINAL")


async def test_h1_no_ticket_when_nobody_has_anything_to_do(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now())  # inside the 1-hour window
    result = (await api(REQUEST, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]
    assert result["status"] == "CANCELLED"  # C1
    assert await db.tickets.count_documents({"request_id": result["id"]}) == 0


async def test_h1_agents_assign_tag_note_and_list_by_status_assignee_tag_kind(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    first = await _request(api, db, clock, shop_id)
    clock.advance(timedelta(minutes=5))
    second = await _request(api, db, clock, shop_id)
    system = await _system_cancel(api, db, clock, shop_id)
    t1, t2 = [(await _ticket_of(api, shop_id, r))["id"] for r in (first, second)]
    agent = seller(shop_id, adjust=False)  # working a ticket needs no adjustments permission

    refused = await api(
        'mutation($t: ID!) { assignTicket(input: {ticketId: $t, assignee: "agent-9"}) '
        f"{{ __typename {ERROR} }} }}",
        {"t": t1},
        agent,
    )
    assert refused["assignTicket"]["__typename"] == "NotFoundError"  # not an agent of the shop
    assign = (
        "mutation($t: ID!) { assignTicket(input: {ticketId: $t, assignee: null}) { __typename } }"
    )
    # Another shop's agent is told the ticket is not there; the platform sees it but is no agent.
    for outsider, refusal in (
        (seller("shop-elsewhere"), "NotFoundError"),
        (PLATFORM, "ForbiddenError"),
    ):
        assert (await api(assign, {"t": t1}, outsider))["assignTicket"]["__typename"] == refusal
    assert (await api(ADD_AGENT, {"agent": "agent-9"}, seller(shop_id)))["addShopAgent"][
        "agents"
    ] == ["agent-9"]
    work = f"""
    mutation($t: ID!) {{
      a: assignTicket(input: {{ticketId: $t, assignee: "agent-9"}}) {{ __typename }}
      b: tagTicket(input: {{ticketId: $t, tag: "VIP"}}) {{ __typename }}
      c: addTicketNote(input: {{ticketId: $t, text: "Buyer called, wants it fast"}}) {{
        __typename ... on Ticket {{ {TICKET} }} }}
    }}"""
    done = (await api(work, {"t": t2}, agent))["c"]
    assert (done["assignee"], done["tags"]) == ("agent-9", ["vip"])
    assert done["notes"] == [{"authorId": "agent-7", "text": "Buyer called, wants it fast"}]
    assert [r["action"] for r in done["timeline"]] == ["OPENED", "ASSIGNED", "TAGGED", "NOTE_ADDED"]

    async def listed(f: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
        data = await api(TICKETS, {"filter": f}, agent)
        return [e["node"]["requestFacts"]["id"] for e in data["tickets"]["edges"]], data[
            "ticketCounts"
        ]

    # Oldest deadline first; the notification (no deadline) last.
    assert (await listed({}))[0] == [first, second, system]
    assert await listed({"assignee": "agent-9"}) == (
        [second],
        {"all": 1, "open": 1, "pending": 0, "resolved": 0},
    )
    assert (await listed({"unassigned": True}))[0] == [first, system]
    assert (await listed({"tag": "vip", "status": "OPEN", "kind": "CANCELLATION"}))[0] == [second]
    assert (await listed({"tag": "vip", "status": "RESOLVED"}))[0] == []

    resolve = (
        "mutation($t: ID!) { setTicketStatus(input: {ticketId: $t, status: RESOLVED}) "
        "{ __typename ... on Ticket { status } } }"
    )
    await api(resolve, {"t": t1}, agent)
    _, counts = await listed({"kind": "CANCELLATION"})
    assert counts == {"all": 3, "open": 2, "pending": 0, "resolved": 1}
    assert (await listed({"status": "RESOLVED"}))[0] == [first]


async def test_h1_approve_and_reject_from_the_ticket_with_the_request_rules(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    approve = f"""
    mutation($t: ID!) {{ approveFromTicket(input: {{ticketId: $t}}) {{
      __typename ... on Ticket {{ status requestFacts {{ status }} cancellation {{ status }} }}
      ... on NotPendingError {{ currentStatus }} {ERROR} }} }}"""
    reject = f"""
    mutation($t: ID!, $r: String!) {{ rejectFromTicket(input: {{ticketId: $t, reason: $r}}) {{
      __typename ... on Ticket {{ status requestFacts {{ status }} }} {ERROR} }} }}"""
    t = (await _ticket_of(api, shop_id, await _request(api, db, clock, shop_id)))["id"]

    no_permission = await api(approve, {"t": t}, seller(shop_id, adjust=False))
    assert no_permission["approveFromTicket"]["__typename"] == "ForbiddenError"
    bad_reason = await api(reject, {"t": t, "r": "NO_SUCH_REASON"}, seller(shop_id))
    assert bad_reason["rejectFromTicket"]["code"] == "VALIDATION_FAILED"

    ok = (await api(approve, {"t": t}, seller(shop_id)))["approveFromTicket"]
    assert (ok["status"], ok["requestFacts"]["status"], ok["cancellation"]["status"]) == (
        "RESOLVED",
        "CANCELLED",
        "CANCELLED",
    )
    again = (await api(reject, {"t": t, "r": "OTHER"}, seller(shop_id)))["rejectFromTicket"]
    assert again["__typename"] == "NotPendingError"

    t2 = (await _ticket_of(api, shop_id, await _request(api, db, clock, shop_id)))["id"]
    no = (await api(reject, {"t": t2, "r": "CUSTOM_MADE"}, seller(shop_id)))["rejectFromTicket"]
    assert (no["status"], no["requestFacts"]["status"]) == ("RESOLVED", "REJECTED")


async def test_h1_agents_editing_a_ticket_while_its_request_is_decided_lose_nothing(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    tag = "mutation($t: ID!, $g: String!) { tagTicket(input: {ticketId: $t, tag: $g}) { __typename } }"
    note = (
        'mutation($t: ID!) { addTicketNote(input: {ticketId: $t, text: "looking"}) { __typename } }'
    )
    for _ in range(5):
        request_id = await _request(api, db, clock, shop_id)
        t = (await _ticket_of(api, shop_id, request_id))["id"]

        results = await asyncio.gather(
            api(ACCEPT, {"id": request_id}, seller(shop_id)),
            api(tag, {"t": t, "g": "a"}, seller(shop_id)),
            api(tag, {"t": t, "g": "b"}, seller(shop_id, adjust=False)),
            api(note, {"t": t}, seller(shop_id)),
        )

        assert [next(iter(r.values()))["__typename"] for r in results] == [
            "Cancellation",
            "Ticket",
            "Ticket",
            "Ticket",
        ]
        doc = await db.tickets.find_one({"_id": t})
        assert (doc["status"], doc["request_status"]) == ("RESOLVED", "CANCELLED")
        assert sorted(doc["tags"]) == ["a", "b"] and len(doc["notes"]) == 1
        assert Counter(r["action"] for r in doc["timeline"]) == Counter(
            {"OPENED": 1, "REQUEST_MOVED": 1, "TAGGED": 2, "NOTE_ADDED": 1}
        )
        # The four changes, each counted once (the shop has no rule: nothing ran after the
        # request's commit).
        assert doc["version"] == 4

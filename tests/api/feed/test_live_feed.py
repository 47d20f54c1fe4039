"""The live feed in one process: subscriptions over a real WebSocket on a real uvicorn (H3)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.settings import default_settings
from models.actors import EXPIRY_WORKER
from models.clock import SettableClock
from models.commands import AutoAcceptCancellations, RequestCancellation
from resolvers.feed.reading import decode_cursor, encode_cursor
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, ok
from tests.support.api_client import GraphQLClient
from tests.support.factories import (
    PLATFORM,
    buyer,
    new_buyer_id,
    pending_requests,
    place_order,
    seller,
)
from tests.support.live import EVENTS, TAB_COUNTS, Client, serving

REQUEST = """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
  __typename ... on Cancellation { id } } }"""
REJECT = """mutation($id: ID!) { r: rejectCancellation(input: {cancellationId: $id, reason: OTHER}) { __typename } }"""
ACCEPT = (
    """mutation($id: ID!) { r: acceptCancellation(input: {cancellationId: $id}) { __typename } }"""
)


@pytest.fixture
async def url(services: Services) -> str:
    async with serving(services) as ws_url:
        yield ws_url


async def _request(
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    buyer_id: str | None = None,
) -> str:
    buyer_id = buyer_id or new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    data = await api(REQUEST, {"o": order.id}, buyer(buyer_id))
    return data["requestCancellation"]["id"]


async def test_h3_an_agent_sees_each_change_of_the_shop_as_it_happens(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    async with Client.connect(url, seller(shop_id, adjust=False)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})  # an agent's own shop by default
        await asyncio.sleep(0.2)
        cid = await _request(api, db, clock, shop_id)
        await api(REJECT, {"id": cid}, seller(shop_id))
        made, rejected = await ws.take(2)

    assert made["__typename"] == "RequestEvent" and made["requestId"] == cid
    assert made["change"]["fromStatus"] is None and made["change"]["toTab"] == "TO_PROCEED"
    assert made["change"]["actorKind"] == "BUYER"
    assert made["cancellation"]["id"] == cid
    assert rejected["change"] | {"at": None} == {
        "action": "REJECT",
        "fromStatus": "PENDING",
        "toStatus": "REJECTED",
        "fromTab": "TO_PROCEED",
        "toTab": "CLOSED",
        "actorKind": "SELLER_AGENT",
        "actorId": "agent-7",
        "reason": {"code": "OTHER"},
        "at": None,
    }
    assert rejected["cancellation"] == {"id": cid, "status": "REJECTED", "tab": "CLOSED"}
    assert made["cursor"] != rejected["cursor"]


async def test_h3_filters_by_kind_tab_and_request(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    first = await _request(api, db, clock, shop_id)
    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"req": first})
        await ws.subscribe(EVENTS, {"tabs": ["CLOSED"]})
        await ws.subscribe(EVENTS, {"kinds": ["REFUND_ONLY"]})
        await asyncio.sleep(0.2)
        second = await _request(api, db, clock, shop_id)
        await api(ACCEPT, {"id": second}, seller(shop_id))
        await api(REJECT, {"id": first}, seller(shop_id))
        got: dict[str, list[tuple[str, str]]] = {"1": [], "2": [], "3": []}
        for _ in range(2):
            msg = await ws.receive()
            got[msg["id"]].append(
                (
                    msg["payload"]["data"]["requestEvents"]["requestId"],
                    msg["payload"]["data"]["requestEvents"]["change"]["action"],
                )
            )
        await ws.nothing_more()
    assert got == {"1": [(first, "REJECT")], "2": [(first, "REJECT")], "3": []}


async def test_h3_a_buyer_sees_only_their_own_requests(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    me, other = new_buyer_id(), new_buyer_id()
    async with Client.connect(url, buyer(me)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"shop": shop_id})
        await asyncio.sleep(0.2)
        await _request(api, db, clock, shop_id, other)
        mine = await _request(api, db, clock, shop_id, me)
        [event] = await ws.take(1)
        await ws.nothing_more()
    assert (event["requestId"], event["buyerId"]) == (mine, me)


async def test_h3_no_one_sees_another_shops_feed(url: str, shop_id: str) -> None:
    async with Client.connect(url, seller("shop-elsewhere")) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"shop": shop_id})
        refused = await ws.next()
    assert refused["__typename"] == "ForbiddenError" and refused["code"] == "FORBIDDEN"
    async with Client.connect(url, PLATFORM) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        unnamed = await ws.next()
    assert (unnamed["__typename"], unnamed["field"]) == ("ValidationError", "shopId")


@pytest.mark.parametrize("payload", [None, "nobody@all"])
async def test_h3_a_connection_without_a_valid_identity_is_refused(
    url: str, payload: str | None
) -> None:
    async with Client.connect(url, payload) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_h3_resume_after_a_disconnect_gets_exactly_the_missed_events_then_live_ones(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)
        first = await _request(api, db, clock, shop_id)
        [seen] = await ws.take(1)
    # Disconnected: three changes happen meanwhile.
    missed = [await _request(api, db, clock, shop_id) for _ in range(2)]
    await api(ACCEPT, {"id": first}, seller(shop_id))

    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"after": seen["cursor"]})
        replayed = await ws.take(3)
        live_one = await _request(api, db, clock, shop_id)
        [live] = await ws.take(1)
        await ws.nothing_more()
    assert [(e["requestId"], e["change"]["action"]) for e in replayed] == [
        (missed[0], "REQUEST"),
        (missed[1], "REQUEST"),
        (first, "ACCEPT"),
    ]
    assert live["requestId"] == live_one


async def test_h3_a_cursor_older_than_the_kept_events_is_a_typed_error(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    for _ in range(3):
        await _request(api, db, clock, shop_id)
    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)
        await _request(api, db, clock, shop_id)
        [event] = await ws.take(1)
    first_cursor = event["cursor"]
    await _request(api, db, clock, shop_id)
    await _request(api, db, clock, shop_id)
    # What the TTL monitor does when the retention period passes: the oldest events go.
    # (Through the event right after the cursor: a ticket's events share the numbering.)
    gone = decode_cursor(first_cursor, shop_id) + 1
    await db.events.delete_many({"shop_id": shop_id, "seq": {"$lte": gone}})

    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"after": first_cursor})
        expired = await ws.next()
        await ws.subscribe(EVENTS, {"after": "bm90LWEtY3Vyc29y"})
        bad = await ws.next()
        assert await ws.receive() == {"id": "2", "type": "complete"}  # an error ends it
        await ws.subscribe(EVENTS, {"after": encode_cursor(shop_id, 999)})
        ahead = await ws.next()
    assert ws.completed[0] == "1"
    assert (expired["__typename"], expired["code"]) == ("CursorExpiredError", "CURSOR_EXPIRED")
    assert expired["field"] == "after"
    assert (bad["__typename"], bad["field"]) == ("ValidationError", "after")
    assert (ahead["__typename"], ahead["field"]) == ("ValidationError", "after")


async def test_c6_the_deadline_workers_moves_arrive_as_events(
    url: str, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    ids = await pending_requests(db, shop_id, [clock.now() - timedelta(hours=49)] * 3)
    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"tabs": ["COMPLETED"]})
        await asyncio.sleep(0.2)
        await services.cancellations.handle(EXPIRY_WORKER, AutoAcceptCancellations(tuple(ids)))
        events = await ws.take(3)
    assert {e["requestId"] for e in events} == set(ids)
    assert {(e["change"]["action"], e["change"]["actorId"]) for e in events} == {
        ("AUTO_ACCEPT", "expiry-worker")
    }


async def test_h3_tab_counts_once_at_subscribe_then_on_each_change(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _request(api, db, clock, shop_id)
    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(TAB_COUNTS, {})
        now = await ws.next()
        await api(REJECT, {"id": cid}, seller(shop_id))
        after = await ws.next()

    def counts(update: dict) -> dict[str, int]:
        return {c["tab"]: c["count"] for c in update["cancellations"]}

    assert counts(now) == {"ALL": 1, "TO_PROCEED": 1, "COMPLETED": 0, "CLOSED": 0}
    assert counts(after) == {"ALL": 1, "TO_PROCEED": 0, "COMPLETED": 0, "CLOSED": 1}


async def test_h3_legacy_graphql_ws_clients_keep_working_unless_turned_off(
    services: Services, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    async with serving(services) as url, Client.connect(url, seller(shop_id), "graphql-ws") as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.send({"id": "1", "type": "start", "payload": {"query": EVENTS, "variables": {}}})
        await asyncio.sleep(0.2)
        cid = await _request(api, db, clock, shop_id)
        while (msg := await ws.receive())["type"] == "ka":
            pass
        assert msg["type"] == "data"
        assert msg["payload"]["data"]["requestEvents"]["requestId"] == cid

    off = default_settings(graphiql=False, ws_legacy_protocol=False)
    async with serving(services, off) as url:
        with pytest.raises(ConnectionClosed) as closed:
            async with Client.connect(url, seller(shop_id), "graphql-ws") as ws:
                await ws.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_h3_limits_on_subscriptions_per_connection_and_on_the_init_wait(
    services: Services, shop_id: str
) -> None:
    limits = default_settings(graphiql=False, ws_max_subscriptions=2, ws_init_wait_seconds=0.3)
    async with serving(services, limits) as url:
        async with Client.connect(url, seller(shop_id)) as ws:
            await ws.acked()
            for _ in range(3):
                await ws.subscribe(EVENTS, {})
            refused = await ws.receive()
        assert refused["id"] == "3" and refused["type"] == "error"
        assert "limit" in refused["payload"][0]["message"]

        # Connects, then never sends connection_init.
        async with connect(url, subprotocols=["graphql-transport-ws"]) as silent:  # type: ignore[list-item]
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(silent.recv(), 5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            4408,
            "Connection initialisation timeout",
        )


async def test_h3_a_subscriber_that_cannot_keep_up_is_closed_with_the_reason(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    ids = await pending_requests(db, shop_id, [clock.now() - timedelta(hours=49)] * 12)
    small = default_settings(graphiql=False, subscriber_queue=5)
    async with serving(services, small) as url, Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)
        # Twelve events land at once: more than this subscriber may have waiting.
        await services.cancellations.handle(EXPIRY_WORKER, AutoAcceptCancellations(tuple(ids)))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.receive()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013
    assert "too slow" in closed.value.rcvd.reason and "cursor" in closed.value.rcvd.reason


async def test_h3_the_watcher_resumes_after_a_database_restart_and_subscribers_stay(
    tmp_path: Path,
) -> None:
    from api.embedded_db import EmbeddedDatabase
    from models.actors import Actor, ActorKind
    from services.bootstrap import build_services
    from storage.mongo import connect

    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    server = EmbeddedDatabase(tmp_path / "db")
    server.start()
    db = connect(server.uri, "restart", timeout_ms=500)
    shop_id = "shop-restart"

    async def request() -> str:
        buyer_id = new_buyer_id()
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        actor = Actor(ActorKind.BUYER, buyer_id)
        return (await services.handle(actor, RequestCancellation(order.id, "OTHER"))).id

    try:
        services = await build_services(db, clock)
        async with serving(services) as url, Client.connect(url, seller(shop_id)) as ws:
            await ws.acked()
            await ws.subscribe(EVENTS, {})
            await asyncio.sleep(0.2)
            before = await request()
            [first] = await ws.take(1)

            server.stop()  # the database goes away, then comes back on the same files
            await asyncio.sleep(1.5)
            server.start()
            after = [await request() for _ in range(3)]
            events = await ws.take(3, timeout=30)  # the same connection: nobody was dropped
            reconnects, connected = url.feed.status.reconnects, url.feed.status.connected
    finally:
        await db.close()
        server.stop()
    assert first["requestId"] == before
    assert [e["requestId"] for e in events] == after
    assert reconnects >= 1 and connected  # the watcher did lose its stream, and resumed it


async def test_h3_identical_subscriptions_are_executed_once_and_each_caller_keeps_their_view(
    services: Services, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    me = new_buyer_id()
    async with (
        serving(services) as url,
        Client.connect(url, seller(shop_id)) as one,
        Client.connect(url, f"seller:agent-9@{shop_id}") as two,
        Client.connect(url, buyer(me)) as mine,
    ):
        for ws in (one, two, mine):
            await ws.acked()
        await one.subscribe(EVENTS, {})
        await two.subscribe(EVENTS, {})
        await mine.subscribe(EVENTS, {"shop": shop_id})
        await asyncio.sleep(0.3)
        groups = url.broadcasts.groups
        assert len(groups) == 2  # two agents of the shop share one execution; the buyer not
        other = await _request(api, db, clock, shop_id)
        own = await _request(api, db, clock, shop_id, me)
        seen_one, seen_two = await one.take(2), await two.take(2)
        [seen_mine] = await mine.take(1)
        await mine.nothing_more()
    assert [e["requestId"] for e in seen_one] == [other, own] == [e["requestId"] for e in seen_two]
    assert seen_mine["requestId"] == own
    assert not groups  # the last member gone, the group's execution ends


async def test_h3_tab_counts_at_subscribe_are_the_counts_of_that_moment(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    for expected in (1, 2):
        await _request(api, db, clock, shop_id)
        async with Client.connect(url, seller(shop_id)) as ws:
            await ws.acked()
            await ws.subscribe(TAB_COUNTS, {})
            now = await ws.next()
        assert {c["tab"]: c["count"] for c in now["cancellations"]}["TO_PROCEED"] == expected


async def test_h3_a_subscription_without_arguments_works(url: str, shop_id: str) -> None:
    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe("subscription { tabCounts { __typename } }")
        assert (await ws.next())["__typename"] == "TabCountsUpdate"


AFTER_SALE_EVENTS = """subscription($kinds: [RequestKind!]) { requestEvents(kinds: $kinds) {
  __typename ... on RequestEvent { kind requestId change { action fromStatus toStatus toTab }
    cancellation { id } afterSale { id kind status tab } } } }"""
AFTER_SALE_COUNTS = """subscription { tabCounts { __typename ... on TabCountsUpdate {
  afterSales { tab count } } } }"""


async def test_h3_refunds_returns_and_replacements_are_on_the_feed_with_their_counts(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    async with Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(AFTER_SALE_EVENTS, {"kinds": ["RETURN_AND_REFUND"]})
        await ws.subscribe(AFTER_SALE_COUNTS, {})
        first = await ws.receive()  # the counts, once at subscribe
        await asyncio.sleep(0.2)
        made = await ok(
            api,
            "requestAfterSale",
            ask(order, "RETURN_AND_REFUND", "DAMAGED", {0: 1}),
            buyer(order.buyer_id),
        )
        got = {}
        for _ in range(2):
            msg = await ws.receive()
            got[msg["id"]] = msg["payload"]["data"]
        await ws.nothing_more()

    def counts(update: dict) -> dict[str, int]:
        return {c["tab"]: c["count"] for c in update["tabCounts"]["afterSales"]}

    assert counts(first["payload"]["data"]) == {
        "ALL": 0, "TO_PROCEED": 0, "IN_PROCESS": 0, "COMPLETED": 0, "CLOSED": 0
    }  # fmt: skip
    assert counts(got["2"])["TO_PROCEED"] == 1 and counts(got["2"])["ALL"] == 1
    event = got["1"]["requestEvents"]
    assert event["kind"] == "RETURN_AND_REFUND" and event["requestId"] == made["id"]
    assert event["change"] == {
        "action": "REQUEST", "fromStatus": None, "toStatus": "PENDING_SELLER", "toTab": "TO_PROCEED"
    }  # fmt: skip
    assert event["cancellation"] is None
    assert event["afterSale"] == {
        "id": made["id"], "kind": "RETURN_AND_REFUND", "status": "PENDING_SELLER",
        "tab": "TO_PROCEED",
    }  # fmt: skip


async def test_h3_a_subscriber_joining_a_shared_tab_count_stream_gets_the_counts_at_once(
    url: str, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    # Two agents of one shop, same document: one shared execution (feed/sharing.py). The one
    # who comes second must still get the counts at subscribe, not only at the next change.
    await _request(api, db, clock, shop_id)
    async with (
        Client.connect(url, seller(shop_id)) as first,
        Client.connect(url, seller(shop_id)) as second,
    ):
        await first.acked()
        await first.subscribe(TAB_COUNTS, {})
        await first.next()
        await second.acked()
        await second.subscribe(TAB_COUNTS, {})
        joined = await second.next()
    counts = {c["tab"]: c["count"] for c in joined["cancellations"]}
    assert counts == {"ALL": 1, "TO_PROCEED": 1, "COMPLETED": 0, "CLOSED": 0}

"""The live feed in operation: its metrics move, and a shutdown closes subscriptions with 1001."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from websockets.exceptions import ConnectionClosed

from api.settings import default_settings
from models.actors import EXPIRY_WORKER
from models.clock import SettableClock
from models.commands import AutoAcceptCancellations
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import buyer, new_buyer_id, pending_requests, place_order, seller
from tests.support.live import EVENTS, Client, serving

REQUEST = """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
  __typename ... on Cancellation { id } } }"""
SUBSCRIPTIONS = "aftersales_subscriptions"
DELIVERED = "aftersales_feed_events_delivered_total"
DROPPED = "aftersales_feed_events_dropped_total"
QUEUED = "aftersales_feed_events_queued_total"
MODES = pytest.mark.parametrize("shared", [True, False], ids=["shared", "unshared"])


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check() and loop.time() < deadline:
        await asyncio.sleep(0.02)


async def _three_requests(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """A buyer's three cancellation requests in the shop: three events on its feed."""
    buyer_id = new_buyer_id()
    for _ in range(3):
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        await api(REQUEST, {"o": order.id}, buyer(buyer_id))


@MODES
async def test_h3_metrics_count_open_subscriptions_and_delivered_events(
    services: Services,
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    shared: bool,
) -> None:
    settings = default_settings(graphiql=False, ws_shared_execution=shared)
    open_before = _sample(SUBSCRIPTIONS)
    async with serving(services, settings) as url:
        async with Client.connect(url, seller(shop_id)) as ws:
            await ws.acked()
            await ws.subscribe(EVENTS, {})
            await _until(lambda: _sample(SUBSCRIPTIONS) == open_before + 1)
            assert _sample(SUBSCRIPTIONS) == open_before + 1
            await asyncio.sleep(0.2)
            delivered_before = _sample(DELIVERED)
            await _three_requests(api, db, clock, shop_id)
            events = await ws.take(3)
            assert [e["__typename"] for e in events] == ["RequestEvent"] * 3
            assert _sample(DELIVERED) == delivered_before + 3
            metrics_url = url.replace("ws://", "http://").replace("/graphql", "/metrics")
            async with httpx.AsyncClient() as http:
                text = (await http.get(metrics_url)).text
            assert f"{DELIVERED} {delivered_before + 3}" in text
            assert f"{SUBSCRIPTIONS} {open_before + 1}" in text
        await _until(lambda: _sample(SUBSCRIPTIONS) == open_before)
        assert _sample(SUBSCRIPTIONS) == open_before  # the disconnect ended it


async def test_h3_shared_feed_messages_go_straight_to_a_socket_that_keeps_up(
    services: Services, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """On the uvicorn the service runs on, feed/socket_writer.py's direct path is the one taken:
    the events are delivered and none waited in a queue."""
    settings = default_settings(graphiql=False)
    async with serving(services, settings) as url, Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)
        delivered, queued = _sample(DELIVERED), _sample(QUEUED)
        await _three_requests(api, db, clock, shop_id)
        events = await ws.take(3)
        assert [e["__typename"] for e in events] == ["RequestEvent"] * 3
        assert _sample(DELIVERED) == delivered + 3
        assert _sample(QUEUED) == queued


@MODES
async def test_h3_a_subscriber_cut_off_as_too_slow_counts_its_events_as_dropped(
    services: Services, db: Database, clock: SettableClock, shop_id: str, shared: bool
) -> None:
    ids = await pending_requests(db, shop_id, [clock.now() - timedelta(hours=49)] * 12)
    small = default_settings(graphiql=False, subscriber_queue=5, ws_shared_execution=shared)
    dropped_before = _sample(DROPPED, reason="slow_consumer")
    async with serving(services, small) as url, Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)
        await services.cancellations.handle(
            EXPIRY_WORKER, AutoAcceptCancellations(tuple(ids))
        )  # twelve at once
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    # At least the event that found the queue full; the ones waiting in it too.
    assert _sample(DROPPED, reason="slow_consumer") > dropped_before


@MODES
async def test_h3_shutdown_closes_subscriptions_with_going_away_and_how_to_resume(
    services: Services, shop_id: str, shared: bool
) -> None:
    settings = default_settings(graphiql=False, ws_shared_execution=shared)
    async with serving(services, settings) as url, Client.connect(url, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.2)
        stopping = asyncio.create_task(url.stop())  # as on SIGTERM
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.receive()
        await stopping
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001
    assert "restarting" in closed.value.rcvd.reason
    assert "resume from the last cursor" in closed.value.rcvd.reason


async def test_h3_legacy_graphql_ws_subscriptions_are_counted_and_closed_with_going_away(
    services: Services, api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    open_before = _sample(SUBSCRIPTIONS)
    settings = default_settings(graphiql=False)
    async with (
        serving(services, settings) as url,
        Client.connect(url, seller(shop_id), "graphql-ws") as ws,
    ):
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.send({"id": "1", "type": "start", "payload": {"query": EVENTS, "variables": {}}})
        await _until(lambda: _sample(SUBSCRIPTIONS) == open_before + 1)
        delivered = _sample(DELIVERED)
        await _three_requests(api, db, clock, shop_id)
        data = []
        while len(data) < 3:
            msg = await ws.receive()
            if msg["type"] == "data":
                data.append(msg)
        assert _sample(DELIVERED) == delivered + 3
        stopping = asyncio.create_task(url.stop())  # as on SIGTERM
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.receive()
        await stopping
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert "resume from the last cursor" in closed.value.rcvd.reason
    await _until(lambda: _sample(SUBSCRIPTIONS) == open_before)

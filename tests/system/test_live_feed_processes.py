"""Two service processes (real uvicorn, separate processes, free ports) on one database: a change
made on one reaches subscribers on the other, resumes cross processes, the deadline worker's
moves arrive as events; with clients nobody here wrote (gql; graphql-ws from npm on node)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from gql import Client as GqlClient
from gql import gql
from gql.transport.websockets import WebsocketsTransport

from storage.mongo import Database
from tests.support.api_client import GraphQLClient, authorization
from tests.support.clients import node_subscriber
from tests.support.factories import buyer, new_buyer_id, pending_requests, place_order, seller
from tests.support.live import EVENTS, Client
from tests.support.processes import free_port, start_service, wait_for_line

pytestmark = pytest.mark.slow

REQUEST = """mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: CHANGED_MIND}) {
  __typename ... on Cancellation { id } } }"""
ACCEPT = (
    """mutation($id: ID!) { r: acceptCancellation(input: {cancellationId: $id}) { __typename } }"""
)


@dataclass
class Service:
    proc: subprocess.Popen[str]
    port: int

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def two_services(
    mongodb_uri: str, db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, Service]]:
    """A: no deadline worker; B: a worker passing every 0.2 s."""
    started = []
    for worker in ("false", "true"):
        port = free_port()
        proc = start_service(
            {
                "MONGODB_URI": mongodb_uri,
                "AFTERSALES_DATABASE": db.db.name,
                "AFTERSALES_PORT": str(port),
                "AFTERSALES_DEMO_DATA": "false",
                "AFTERSALES_GRAPHIQL": "false",
                "AFTERSALES_WORKER_ENABLED": worker,
                "AFTERSALES_WORKER_INTERVAL_SECONDS": "0.2",
            },
            tmp_path_factory.mktemp("service"),
        )
        started.append(Service(proc, port))
    try:
        for s in started:
            wait_for_line(s.proc, "Uvicorn running")
        yield started[0], started[1]
    finally:
        for s in started:
            s.proc.terminate()
        for s in started:
            s.proc.wait(timeout=30)


@pytest.fixture
async def on_b(two_services: tuple[Service, Service]) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=two_services[1].http, timeout=30) as http:
        yield GraphQLClient(http)


async def _request(api: GraphQLClient, db: Database, shop_id: str) -> str:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, datetime.now(UTC) - timedelta(hours=2))
    data = await api(REQUEST, {"o": order.id}, buyer(buyer_id))
    return data["requestCancellation"]["id"]


async def test_h3_a_change_made_on_one_process_reaches_a_subscriber_on_the_other(
    two_services: tuple[Service, Service], on_b: GraphQLClient, db: Database, shop_id: str
) -> None:
    a, _ = two_services
    async with Client.connect(a.ws, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.3)
        cid = await _request(on_b, db, shop_id)
        await on_b(ACCEPT, {"id": cid}, seller(shop_id))
        made, accepted = await ws.take(2)
    assert (made["requestId"], made["change"]["action"]) == (cid, "REQUEST")
    assert (accepted["requestId"], accepted["change"]["action"]) == (cid, "ACCEPT")
    assert accepted["cancellation"]["status"] == "CANCELLED"


async def test_h3_reconnecting_to_another_process_with_the_cursor_gets_exactly_what_was_missed(
    two_services: tuple[Service, Service], on_b: GraphQLClient, db: Database, shop_id: str
) -> None:
    a, b = two_services
    async with Client.connect(a.ws, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {})
        await asyncio.sleep(0.3)
        first = await _request(on_b, db, shop_id)
        [seen] = await ws.take(1)
    missed = [await _request(on_b, db, shop_id) for _ in range(3)]
    await on_b(ACCEPT, {"id": first}, seller(shop_id))

    async with Client.connect(b.ws, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"after": seen["cursor"]})
        replayed = await ws.take(4)
        async with httpx.AsyncClient(base_url=a.http, timeout=30) as http:
            live_one = await _request(GraphQLClient(http), db, shop_id)
        [live] = await ws.take(1)
        await ws.nothing_more()
    assert [(e["requestId"], e["change"]["action"]) for e in replayed] == [
        *((m, "REQUEST") for m in missed),
        (first, "ACCEPT"),
    ]
    assert live["requestId"] == live_one


async def test_c6_a_worker_on_one_process_moves_requests_and_the_other_process_tells(
    two_services: tuple[Service, Service], db: Database, shop_id: str
) -> None:
    a, _ = two_services
    async with Client.connect(a.ws, seller(shop_id)) as ws:
        await ws.acked()
        await ws.subscribe(EVENTS, {"tabs": ["COMPLETED"]})
        await asyncio.sleep(0.3)
        ids = await pending_requests(db, shop_id, [datetime.now(UTC) - timedelta(hours=49)] * 4)
        events = await ws.take(4, timeout=20)
    assert {e["requestId"] for e in events} == set(ids)
    assert {(e["change"]["action"], e["change"]["actorKind"]) for e in events} == {
        ("AUTO_ACCEPT", "PLATFORM")
    }


@pytest.mark.parametrize(
    "protocol",
    [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL],
    ids=["graphql-transport-ws", "legacy-graphql-ws"],
)
async def test_h3_the_python_gql_client_receives_the_feed(
    two_services: tuple[Service, Service],
    on_b: GraphQLClient,
    db: Database,
    shop_id: str,
    protocol: str,
) -> None:
    a, _ = two_services
    transport = WebsocketsTransport(
        url=a.ws,
        init_payload=authorization(seller(shop_id)),
        subprotocols=[protocol],
    )
    received: list[dict] = []
    async with GqlClient(transport=transport) as session:

        async def listen() -> None:
            async for result in session.subscribe(gql(EVENTS), variable_values={}):
                received.append(result["requestEvents"])
                if len(received) == 2:
                    return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)
        cid = await _request(on_b, db, shop_id)
        await on_b(ACCEPT, {"id": cid}, seller(shop_id))
        await asyncio.wait_for(listener, 20)
    assert [(e["requestId"], e["change"]["action"]) for e in received] == [
        (cid, "REQUEST"),
        (cid, "ACCEPT"),
    ]


async def test_h3_the_npm_graphql_ws_client_on_node_receives_the_feed(
    two_services: tuple[Service, Service], on_b: GraphQLClient, db: Database, shop_id: str
) -> None:
    a, _ = two_services
    node = await node_subscriber(a.ws, seller(shop_id), EVENTS, {}, count=2)
    await node.ready()
    await asyncio.sleep(0.5)  # the subscribe message follows the acknowledgement
    cid = await _request(on_b, db, shop_id)
    await on_b(ACCEPT, {"id": cid}, seller(shop_id))
    results = await node.results()
    events = [r["data"]["requestEvents"] for r in results]
    assert [(e["requestId"], e["change"]["action"]) for e in events] == [
        (cid, "REQUEST"),
        (cid, "ACCEPT"),
    ]
    assert events[1]["cancellation"]["status"] == "CANCELLED"

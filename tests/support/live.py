"""Live-feed helpers for tests: a real uvicorn serving the app in this process, and a small
graphql-transport-ws client on the `websockets` package (the protocol, message by message)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from api.app import create_app
from api.settings import Settings, default_settings
from feed.live_feed import LiveFeed
from feed.sharing import Broadcasts
from feed.socket_writer import UVICORN_WS_OPTIONS
from feed.ws_messages import uvicorn_limits
from process.shutdown import GracefulServer
from services.bootstrap import Services
from tests.support.api_client import authorization
from tests.support.processes import free_port

EVENTS = """subscription($shop: ID, $after: String, $kinds: [RequestKind!], $tabs: [RequestTab!], $req: ID) {
  requestEvents(shopId: $shop, after: $after, kinds: $kinds, tabs: $tabs, requestId: $req) {
    __typename
    ... on RequestEvent { cursor kind requestId buyerId
      change { action fromStatus toStatus fromTab toTab actorKind actorId reason { code } at }
      cancellation { id status tab } }
    ... on UserError { code message field }
  }
}"""

TAB_COUNTS = """subscription($shop: ID) { tabCounts(shopId: $shop) {
  __typename ... on TabCountsUpdate { cancellations { tab count } } ... on UserError { code message } } }"""


class Served(str):
    """The WebSocket URL of a served app, with its live feed (to look at its watcher)."""

    feed: LiveFeed
    broadcasts: Broadcasts
    stop: Callable[[], Awaitable[None]]  # shut the server down as SIGTERM would


@contextlib.asynccontextmanager
async def serving(services: Services, settings: Settings | None = None) -> AsyncIterator[Served]:
    """The app on a real uvicorn (lifespan on: the live feed's watcher runs); yields its ws URL."""
    port = free_port()
    settings = settings or default_settings(graphiql=False)
    app = create_app(services, settings=settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        **UVICORN_WS_OPTIONS,  # as api/start.py serves it
        **uvicorn_limits(settings.max_body_bytes),
    )
    server = GracefulServer(config, app.state.close_subscriptions)
    task = asyncio.create_task(server.serve())

    async def stop() -> None:
        server.should_exit = True
        await task

    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        served = Served(f"ws://127.0.0.1:{port}/graphql")
        served.feed = app.state.live_feed
        served.broadcasts = app.state.broadcasts
        served.stop = stop
        yield served
    finally:
        await stop()


class Client:
    """graphql-transport-ws, spoken by hand."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self._n = 0
        self.completed: list[str] = []  # operations the server completed

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, url: str, actor: str | None, protocol: str = "graphql-transport-ws", **kw: Any
    ) -> AsyncIterator[Client]:
        async with connect(url, subprotocols=[protocol], **kw) as conn:  # type: ignore[list-item]
            client = cls(conn)
            payload = authorization(actor)
            await client.send({"type": "connection_init", "payload": payload})
            yield client

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(message))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))

    async def acked(self) -> None:
        assert (await self.receive())["type"] == "connection_ack"

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._n += 1
        op = str(self._n)
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op, "type": "subscribe", "payload": payload})
        return op

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        """The data of the next `next` message (pings are answered on the way)."""
        while True:
            msg = await self.receive(timeout)
            if msg["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            if msg["type"] == "complete":
                self.completed.append(msg["id"])
                continue
            assert msg["type"] == "next", msg
            return next(iter(msg["payload"]["data"].values()))

    async def take(self, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(n)]

    async def nothing_more(self, wait: float = 0.5) -> None:
        with contextlib.suppress(TimeoutError):
            msg = await self.receive(wait)
            raise AssertionError(f"unexpected message {msg}")

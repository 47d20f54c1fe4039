"""The app under a real uvicorn in the test's event loop, and one GraphQL operation over its
WebSocket (graphql-transport-ws) as a client would run it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import uvicorn
import websockets

from api.app import create_app
from api.settings import Settings
from services.bootstrap import Services
from tests.support.processes import free_port


@contextlib.asynccontextmanager
async def serving(services: Services, settings: Settings) -> AsyncIterator[str]:
    """Yields the WebSocket URL of /graphql."""
    port = free_port()
    config = uvicorn.Config(
        create_app(services, settings=settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",  # the app's background parts (a live feed) start as in service
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task


def connect(url: str, origin: str | None = None) -> websockets.asyncio.client.connect:
    return websockets.connect(
        url,
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        origin=websockets.Origin(origin) if origin else None,
        open_timeout=5,
    )


async def ws_operation(
    url: str,
    init_payload: dict[str, Any],
    document: str,
    variables: dict[str, Any],
    trigger: Callable[[], Awaitable[None]] | None = None,
    listen: float = 1.0,
) -> list[dict[str, Any]]:
    """Every message the server sends for one operation: until it completes or fails, or, for a
    subscription still open, `listen` seconds after `trigger` (the change it should report or
    withhold) ran. A closed connection is reported as {"type": "closed", "code": ...}."""
    loop = asyncio.get_running_loop()
    messages: list[dict[str, Any]] = []
    async with connect(url) as ws:
        try:
            await ws.send(json.dumps({"type": "connection_init", "payload": init_payload}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if ack["type"] != "connection_ack":
                return [ack]
            payload = {"query": document, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            started = loop.time()
            triggered = trigger is None
            until = started + (0.3 if trigger else listen)  # let a subscription start first
            while True:
                left = until - loop.time()
                if left <= 0:
                    if triggered:
                        break
                    assert trigger is not None
                    await trigger()
                    triggered = True
                    until = loop.time() + listen
                    continue
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), left))
                except TimeoutError:
                    continue
                messages.append(message)
                if message["type"] in ("complete", "error"):
                    break
        except websockets.ConnectionClosed as closed:
            messages.append({"type": "closed", "code": closed.rcvd.code if closed.rcvd else None})
    return messages

"""What feed/ and process/ assume of uvicorn beyond its documented API, one assumption a test.

An upgrade that breaks one fails here by name: the direct writer silently falling back to the
ASGI path (the fan-out's figures lost), subscriptions cut with a bare 1012 at shutdown, or the
workers of `--workers N` built without the graceful shutdown. docs/architecture.md lists each.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.supervisors import multiprocess

from feed.socket_writer import UVICORN_WS_OPTIONS, DirectSender, ExposeDirectSender, text_frame
from process.shutdown import GracefulMultiprocess, GracefulProcess, GracefulServer
from tests.support.processes import free_port


async def _serve(app: Any, server_class: Callable[..., uvicorn.Server] = uvicorn.Server) -> Any:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", **UVICORN_WS_OPTIONS
    )
    server = server_class(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task, config.port


async def test_uvicorn_websocket_send_is_the_sansio_protocol_the_direct_writer_reads() -> None:
    # feed/socket_writer.py: the `send` uvicorn hands a WebSocket app is its sansio protocol's
    # bound method, whose attributes say whether a frame may be written to its transport now.
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        protocol = getattr(send, "__self__", None)
        seen["protocol"] = type(protocol)
        for name in ("disconnected", "close_sent", "handshake_complete", "initial_response"):
            seen[name] = getattr(protocol, name)
        seen["writable"] = protocol.writable.is_set()
        seen["extensions"] = protocol.conn.extensions
        seen["continuation"] = protocol.conn.expect_continuation_frame
        direct = DirectSender.of(scope)
        seen["direct"] = direct is not None and direct.send_frame(text_frame(b"straight"))
        await receive()  # websocket.disconnect

    server, task, port = await _serve(ExposeDirectSender(app))
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/", open_timeout=5) as ws:
            assert await asyncio.wait_for(ws.recv(), 5) == "straight"
    finally:
        server.should_exit = True
        await task
    assert seen == {
        "protocol": WebSocketsSansIOProtocol,
        "disconnected": False,
        "close_sent": False,
        "handshake_complete": True,
        "initial_response": None,
        "writable": True,
        "extensions": [],
        "continuation": False,
        "direct": True,
    }


async def test_uvicorn_server_awaits_its_shutdown_hook_with_the_sockets() -> None:
    # process/shutdown.py::GracefulServer overrides Server.shutdown(sockets) to close the
    # subscriptions first: uvicorn must still end serve() through it.
    assert list(inspect.signature(uvicorn.Server.shutdown).parameters) == ["self", "sockets"]
    closed: list[str] = []

    async def before_shutdown() -> None:
        closed.append("subscriptions")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    def graceful(config: uvicorn.Config) -> GracefulServer:
        return GracefulServer(config, before_shutdown)

    server, task, _ = await _serve(app, graceful)
    server.should_exit = True
    await task
    assert closed == ["subscriptions"]


@pytest.fixture
def kept_signal_handlers() -> Iterator[None]:
    # uvicorn's supervisor installs its own handlers when it is built.
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def test_uvicorn_supervisor_makes_its_workers_through_the_module_process_name(
    monkeypatch: pytest.MonkeyPatch, kept_signal_handlers: None
) -> None:
    # GracefulMultiprocess points multiprocess.Process at GracefulProcess while it runs; the
    # supervisor must build every worker (first start, replacement, restart) through that
    # module-level name, and a worker's server must come from its `server` property over
    # `_server`.
    for method in ("init_processes", "keep_subprocess_alive", "restart_all"):
        assert "Process" in getattr(multiprocess.Multiprocess, method).__code__.co_names, method
    assert "server" in multiprocess.Process.target.__code__.co_names
    for name in ("start", "terminate", "join"):
        monkeypatch.setattr(GracefulProcess, name, lambda self: None)
    hook: Callable[[], Awaitable[None]] = _no_subscriptions
    config = uvicorn.Config("process.process_app:create_process_app", workers=2)
    supervisor = GracefulMultiprocess(config, [], hook)
    supervisor.should_exit.set()  # run() starts the workers, then stops at once
    supervisor.run()
    assert multiprocess.Process is not GracefulProcess  # put back after the run
    assert [type(p) for p in supervisor.processes] == [GracefulProcess, GracefulProcess]
    server = supervisor.processes[0].server
    assert isinstance(server, GracefulServer) and server.before_shutdown is hook


async def _no_subscriptions() -> None:
    return None

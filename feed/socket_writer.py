"""Feed messages written straight to uvicorn's WebSocket connection, past the ASGI chain.

One event to 10,000 subscribers is 10,000 sends. Through ASGI each send is a coroutine per
subscriber, woken by an event, that walks the middleware chain (request id, connection count,
Starlette's wrappers) down to uvicorn's protocol, which frames the text and writes it to the
socket: most of the fan-out's CPU was spent getting there (benchmarks/fanout.py). The write is
what matters; `DirectSender` does only that, synchronously, with the same checks uvicorn's
`send` makes, and declines (returns False) whenever the connection is not open and writable:
the caller then falls back to the ASGI path, which waits as ASGI waits.

A server's frames are not masked, so one event's frame is the same bytes for every subscriber
whose operation has the same id: `text_frame` builds it once and each send is one write.
Frames are written whole and only when no extension (compression) is negotiated, so the
connection's own state (websockets' `Protocol`) stays true: it tracks no outgoing data frames.

Only uvicorn's `websockets-sansio` protocol is known here (api/start.py selects it with
UVICORN_WS_OPTIONS); under any other server `DirectSender.of` gives None and every message
takes the ASGI path.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

SCOPE_KEY = "aftersales.direct_sender"
UVICORN_WS = "websockets-sansio"  # uvicorn's `ws=`: the protocol DirectSender knows
# How the service's uvicorn serves WebSockets (api/start.py, and the tests' servers).
# Compressing each small feed message per connection cost ~20 us a delivery
# (benchmarks/fanout.py), and a compressed connection can't take a shared frame.
UVICORN_WS_OPTIONS: dict[str, Any] = {"ws": UVICORN_WS, "ws_per_message_deflate": False}


class DirectSender:
    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, scope: Scope) -> DirectSender | None:
        return scope.get(SCOPE_KEY)

    def send_frame(self, frame: bytes) -> bool:
        """Hand a whole frame (`text_frame`) to the socket; False when it cannot go now
        (closing, closed, compressed, or the socket's buffer is above its high-water mark)."""
        p = self._protocol
        conn = p.conn
        if (
            p.disconnected
            or p.close_sent
            or not p.handshake_complete
            or p.initial_response is not None
            or not p.writable.is_set()
            or conn.state is not State.OPEN  # the client's close frame arrived
            or conn.expect_continuation_frame
            or conn.extensions
        ):
            return False
        p.transport.write(frame)
        return True


def text_frame(data: bytes) -> bytes:
    """One unmasked, final WebSocket text frame holding `data` (RFC 6455, section 5.2)."""
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + data


class ExposeDirectSender:
    """ASGI middleware: put a DirectSender in a WebSocket scope served by uvicorn's sansio
    protocol (the `send` uvicorn hands the app is that protocol's bound method)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol: Any = getattr(send, "__self__", None)
            if isinstance(protocol, WebSocketsSansIOProtocol):
                scope = {**scope, SCOPE_KEY: DirectSender(protocol)}
        await self.app(scope, receive, send)

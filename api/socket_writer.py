"""Feed messages written straight to uvicorn's WebSocket connection, past the ASGI chain.

One event to 10,000 subscribers is 10,000 sends. Through ASGI each send is a coroutine per
subscriber, woken by an event, that walks the middleware chain (request id, connection count,
Starlette's wrappers) down to uvicorn's protocol, which frames the text and writes it to the
socket: most of the fan-out's CPU was spent getting there (benchmarks/fanout.py). The framing
and the write are what matter; `DirectSender` does only those, synchronously, with the same
checks uvicorn's `send` makes, and declines (returns False) whenever the connection is not
open and writable: the caller then falls back to the ASGI path, which waits as ASGI waits.

Only uvicorn's `websockets-sansio` protocol is known here (api/__main__.py selects it,
UVICORN_WS); under
any other server `DirectSender.of` gives None and every message takes the ASGI path.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

SCOPE_KEY = "aftersales.direct_sender"
UVICORN_WS = "websockets-sansio"  # uvicorn's `ws=`: the protocol DirectSender knows


class DirectSender:
    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, scope: Scope) -> DirectSender | None:
        return scope.get(SCOPE_KEY)

    def send_text(self, data: bytes) -> bool:
        """Frame `data` (UTF-8 text) and hand it to the socket; False when it cannot go now
        (closing, closed, or the socket's buffer is above its high-water mark)."""
        p = self._protocol
        if (
            p.disconnected
            or p.close_sent
            or not p.handshake_complete
            or p.initial_response is not None
            or not p.writable.is_set()
        ):
            return False
        try:
            p.conn.send_text(data)
        except InvalidState:  # the client's close frame arrived
            return False
        p.transport.write(b"".join(p.conn.data_to_send()))
        return True


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

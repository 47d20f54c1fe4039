"""ASGI middleware in front of GraphQL: a request id on every HTTP request, a cap on body size.

Both are plain ASGI (no buffering of responses), so they cost nothing for WebSocket traffic.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.identity import Unauthenticated, active_config, actor_from_headers
from models.actors import ActorKind

REQUEST_ID_HEADER = "x-request-id"


class BodySizeLimit:
    """Refuses an HTTP body over `max_bytes` with 413 and a GraphQL-shaped error, before the
    GraphQL layer parses any of it; a body without Content-Length is counted as it streams.
    Paths under `exempt_prefix` (the evidence upload) enforce their own, larger cap.
    `cap_for(headers)`, when given, may name a larger cap for a caller (the order intake's
    integrations send batches of 500 orders); None keeps `max_bytes`."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        exempt_prefix: str | None = None,
        cap_for: Callable[[dict[bytes, bytes]], int | None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefix = exempt_prefix
        self.cap_for = cap_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt_prefix is not None and scope["path"].startswith(self.exempt_prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        cap = (self.cap_for(headers) if self.cap_for else None) or self.max_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > cap
            except ValueError:
                too_big = True  # a length that is not a number is refused alike
            if too_big:
                await self._refuse(send, cap)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, cap)

    async def _refuse(self, send: Send, cap: int) -> None:
        body = json.dumps(
            {
                "data": None,
                "errors": [
                    {
                        "message": f"the request body is over {cap} bytes",
                        "extensions": {"code": "REQUEST_TOO_LARGE", "maxBytes": cap},
                    }
                ],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


# A batch of 500 orders of a few lines each is ~200 KB of JSON; this leaves room for larger
# orders while staying far from what a buffered body could cost.
INTEGRATION_MAX_BYTES = 4 * 1024 * 1024


def integration_body_cap(headers: dict[bytes, bytes]) -> int | None:
    """The larger cap for a caller whose bearer token verifies as an integration (the order
    intake); None for anyone else, and for a token that does not verify (GraphQL says why)."""
    value = headers.get(b"authorization")
    if value is None:
        return None
    try:
        actor = actor_from_headers({"authorization": value.decode("latin-1")}, active_config())
    except Unauthenticated:
        return None
    return INTEGRATION_MAX_BYTES if actor and actor.kind is ActorKind.INTEGRATION else None

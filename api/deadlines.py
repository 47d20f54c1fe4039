"""Every GraphQL operation over HTTP has a deadline (`AFTERSALES_OPERATION_TIMEOUT_SECONDS`).

Plain ASGI around the app, so the deadline is set in the request's own task and every database
call the operation makes sees it (storage/deadlines.py `deadline`): waiting for a busy shop's queue,
retrying conflicts and each transaction end there, and the caller gets `SERVICE_UNAVAILABLE`
(HTTP 503, `Retry-After`; graphql_runtime/error_codes.py) instead of waiting as long as the
outage.
WebSocket connections live long: a subscription's own reads carry the driver's per-call timeout.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from storage.deadlines import deadline


class OperationDeadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with deadline(self.seconds):
            await self.app(scope, receive, send)

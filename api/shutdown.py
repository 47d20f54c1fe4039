"""uvicorn's server, closing subscriptions properly before it shuts down.

At shutdown uvicorn stops listening, then cuts every open WebSocket with 1012 and no reason, and
only then runs the app's lifespan shutdown: too late for the app to say anything. This server
first awaits `before_shutdown` (the app's `close_subscriptions`: 1001 "going away" with a reason
that says to resume from the last cursor), then shuts down as uvicorn does.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

import uvicorn

log = logging.getLogger("aftersales.shutdown")

CLOSE_SUBSCRIPTIONS_SECONDS = 5.0


class GracefulServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        before_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.before_shutdown is not None:
            try:
                await asyncio.wait_for(self.before_shutdown(), CLOSE_SUBSCRIPTIONS_SECONDS)
            except Exception:  # never block the shutdown over it: uvicorn closes what is left
                log.exception("closing subscriptions at shutdown failed")
        await super().shutdown(sockets)

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
from uvicorn.supervisors import multiprocess

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
                async with asyncio.timeout(CLOSE_SUBSCRIPTIONS_SECONDS):
                    await self.before_shutdown()
            except Exception:  # never block the shutdown over it: uvicorn closes what is left
                log.exception("closing subscriptions at shutdown failed")
        await super().shutdown(sockets)


class GracefulProcess(multiprocess.Process):
    """One process of `--workers N` whose server is a GracefulServer: uvicorn's supervisor
    builds a plain `Server` in each process, which would cut subscriptions with a bare 1012.
    `before_shutdown` must be importable in the child (it is pickled with the process)."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        before_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        self.before_shutdown = before_shutdown
        super().__init__(config, sockets)

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = GracefulServer(self.config, self.before_shutdown)
        return self._server


class GracefulMultiprocess(multiprocess.Multiprocess):
    """uvicorn's supervisor, starting (and restarting) GracefulProcesses."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        before_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(config, sockets)
        self.before_shutdown = before_shutdown

    def run(self) -> None:
        # The supervisor makes its processes through the module's `Process` name (starting
        # them, replacing one that died, restarting all): point it at ours while it runs.
        plain = multiprocess.Process
        multiprocess.Process = self._process  # type: ignore[misc, assignment]
        try:
            super().run()
        finally:
            multiprocess.Process = plain  # type: ignore[misc]

    def _process(self, config: uvicorn.Config, sockets: list[socket.socket]) -> GracefulProcess:
        return GracefulProcess(config, sockets, self.before_shutdown)

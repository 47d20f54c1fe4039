"""The WebSocket protocol handlers of the live feed: graphql-transport-ws and legacy graphql-ws.

Strawberry's handlers, subclassed: each message is checked before anything acts on it
(feed/ws_messages.py), a caller over its connection limit is refused and a connection closes
when its token expires (feed/ws_callers.py), identical subscriptions are handed to the sharing
(feed/sharing.py), and every connection closes with 1001 and how to resume at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from api.metrics import FEED_EVENTS_DELIVERED, SUBSCRIPTIONS
from feed.sharing import Broadcasts, is_subscription
from feed.ws_callers import TOKEN_EXPIRED_CLOSE_CODE, TOKEN_EXPIRED_REASON, Admission, Refused
from feed.ws_messages import (
    INVALID_MESSAGE_CLOSE_CODE,
    CheckedWebSocketAdapter,
    legacy_ws_problem,
    transport_ws_problem,
)
from resolvers.context import Context

TOO_SLOW_CLOSE_CODE = 1013
# At shutdown: "going away" (RFC 6455), which clients such as graphql-ws reconnect after.
GOING_AWAY_CLOSE_CODE = 1001
GOING_AWAY_REASON = "server restarting; reconnect and resume from the last cursor you received"
INIT_TIMEOUT_CLOSE_CODE = 4408  # graphql-transport-ws's, for both protocols


async def close_all(handlers: set[FeedConnection], wait: float = 2.0) -> None:
    """Close every open feed connection (either protocol) with 1001 and the reason, then wait a
    little for their subscriptions to end (before the feed's watcher stops under them)."""
    closes = [asyncio.ensure_future(h.going_away()) for h in list(handlers)]
    if closes:
        await asyncio.gather(*closes, return_exceptions=True)  # a socket already gone: fine
    deadline = asyncio.get_running_loop().time() + wait
    while handlers and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)


class _FeedConnection:
    """What a connection of either protocol does besides its protocol: it is in its view's
    `open_handlers` while it is handled (metrics, shutdown), and closes with 1001 at shutdown;
    a caller over its connection limit is refused at connection_init, and the connection
    closes when its token expires (feed/ws_callers.py). A mixin, listed before the protocol's
    handler class."""

    _expiry: asyncio.TimerHandle | None = None
    _closing: set[asyncio.Task[None]]

    async def handle(self) -> None:
        view = self.view  # type: ignore[attr-defined]
        open_handlers: set[Any] | None = getattr(view, "open_handlers", None)
        if open_handlers is not None:
            open_handlers.add(self)
        try:
            await super().handle()  # type: ignore[misc]
        finally:
            if open_handlers is not None:
                open_handlers.discard(self)
            if self._expiry is not None:
                self._expiry.cancel()
            release = getattr(view, "release", None)
            if release is not None:
                release(self.context)  # type: ignore[attr-defined]

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)  # type: ignore[misc]
        except Refused as refused:  # raised by the view's on_ws_connect
            await self.refuse(refused.code, refused.reason)
            return
        context: Any = self.context  # type: ignore[attr-defined]
        admission: Admission | None = getattr(context, "admission", None)
        acknowledged: bool = self.connection_acknowledged  # type: ignore[attr-defined]
        if acknowledged and admission is not None and admission.expires_at is not None:
            if self._expiry is not None:
                self._expiry.cancel()  # a legacy client initialised again, with another token
            delay = max(0.0, admission.expires_at - time.time())  # exp is wall-clock time
            self._expiry = asyncio.get_running_loop().call_later(delay, self._token_expired)

    def _token_expired(self) -> None:
        self.close_soon(TOKEN_EXPIRED_REASON, TOKEN_EXPIRED_CLOSE_CODE)

    async def refuse(self, code: int, reason: str) -> None:
        await self.websocket.close(code, reason)  # type: ignore[attr-defined]

    def close_soon(self, reason: str, code: int = TOO_SLOW_CLOSE_CODE) -> None:
        """Close this connection with the reason, without waiting (its sender may be stuck)."""
        if not hasattr(self, "_closing"):
            self._closing = set()
        task = asyncio.create_task(self._close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # the socket is gone already: nothing to close
            await self.websocket.close(code, reason)  # type: ignore[attr-defined]

    async def going_away(self) -> None:
        """Close this connection at shutdown: 1001 and how to come back."""
        websocket = self.websocket  # type: ignore[attr-defined]
        await websocket.close(GOING_AWAY_CLOSE_CODE, GOING_AWAY_REASON)


class SharedFeedHandler(_FeedConnection, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, with identical feed subscriptions executed once (Broadcasts)."""

    async def handle_message(self, message: Any) -> None:
        problem = transport_ws_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)  # 4400 and the reason
            return
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        await super().send_message(message)
        if message.get("type") == "next":  # an unshared subscription's result, sent
            operation = self.operations.get(message.get("id"))
            if operation is not None and is_subscription(operation.query, operation.operation_name):
                FEED_EVENTS_DELIVERED.inc()

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        subscription = is_subscription(operation.query, operation.operation_name)
        if subscription:
            SUBSCRIPTIONS.inc()
        try:
            await self._run_operation(operation)
        finally:
            if subscription:
                SUBSCRIPTIONS.dec()

    async def _run_operation(self, operation: Operation[Context, None]) -> None:
        broadcasts: Broadcasts | None = getattr(self.view, "broadcasts", None)
        try:
            key = broadcasts.key(operation, self.context) if broadcasts else None
        except Exception as error:  # never lose a subscription over the sharing check
            await self.handle_task_exception(error)
            key = None
        if broadcasts is None or key is None:
            await super().run_operation(operation)
            return
        try:
            await broadcasts.run(self, operation, key)
        except Exception as error:  # a closed socket, mostly: the connection is ending
            await self.handle_task_exception(error)


class LegacyFeedHandler(_FeedConnection, BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol, run as Strawberry runs it (no shared execution), but
    counted in the feed's metrics and closed with 1001 at shutdown like the other protocol,
    and closed with 4408 when no connection_init comes in time, as the other protocol is."""

    _init_received = False

    async def handle(self) -> None:
        waiting = asyncio.create_task(self._close_without_init())
        try:
            await super().handle()
        finally:
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting

    async def _close_without_init(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self._init_received:
            await self._close(INIT_TIMEOUT_CLOSE_CODE, "Connection initialisation timeout")

    async def handle_message(self, message: Any) -> None:
        problem = legacy_ws_problem(message)
        if problem is None:
            if message["type"] == "connection_init":
                self._init_received = True
            await super().handle_message(message)
        elif problem.operation_id is not None:  # that operation is refused; the rest goes on
            error = {"message": problem.reason}
            await self.send_message({"type": "error", "id": problem.operation_id, "payload": error})
        else:
            await self.refuse(INVALID_MESSAGE_CLOSE_CODE, problem.reason)

    async def refuse(self, code: int, reason: str) -> None:
        """The protocol's connection_error with the reason, then the close."""
        with contextlib.suppress(Exception):
            await self.send_message({"type": "connection_error", "payload": {"message": reason}})
        await self._close(code, reason)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        """Strawberry's, with the result stream closed in this task whichever way it ends:
        left open after an error answer, it was finalised later in another context, where the
        operation log's context variable cannot be reset (a logged ValueError)."""
        subscription = is_subscription(query, operation_name)
        if subscription:
            SUBSCRIPTIONS.inc()
        try:
            source = await self.schema.subscribe(
                query=query,
                variable_values=variables,
                operation_name=operation_name,
                context_value=self.context,
                root_value=self.root_value,
            )
            self.subscriptions[operation_id] = source
            async with aclosing(source):
                first = True
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        assert result.errors
                        error = result.errors[0].formatted
                        await self.send_message(
                            {"type": "error", "id": operation_id, "payload": error}
                        )
                        return
                    await self.send_data_message(result, operation_id)
                    first = False
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            await self.send_message({"type": "complete", "id": operation_id})
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)
            if subscription:
                SUBSCRIPTIONS.dec()

    async def send_data_message(self, execution_result: ExecutionResult, operation_id: str) -> None:
        await super().send_data_message(execution_result, operation_id)
        FEED_EVENTS_DELIVERED.inc()  # graphql-ws sends "data" for subscriptions only


# What the view keeps open and closes at shutdown: a connection of either protocol.
FeedConnection = SharedFeedHandler | LegacyFeedHandler


class FeedProtocols:
    """A mixin for the service's Strawberry view (listed before it): Strawberry takes its
    WebSocket adapter and its two protocol handlers from these class attributes, which its
    documentation does not name (guarded by tests/unit/test_strawberry_internals.py)."""

    graphql_transport_ws_handler_class = SharedFeedHandler
    graphql_ws_handler_class = LegacyFeedHandler
    websocket_adapter_class = CheckedWebSocketAdapter

"""Shared execution of identical live subscriptions (graphql-transport-ws).

Ten thousand consoles of one shop subscribe with the same document, the same variables, as
callers with the same rights: executing the selection set, and encoding the JSON, once per
subscriber per event was the cost that grew with N (benchmarks/fanout.py). Here such subscriptions
form a group: one execution of the subscription (the group's leader, with the first member's
caller) produces each result once, encoded once; each member gets it through its own bounded
queue and its own sender. A member that cannot keep up is closed with 1013 and the reason, as
an unshared subscriber is.

Only live subscriptions without a cursor are shared (`after` absent): a member joining later
wants the events from now on, which is what the group's stream gives. Anything else (a cursor,
queries and mutations over WebSocket, the legacy graphql-ws protocol) runs as Strawberry runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from api.metrics import (
    FEED_EVENTS_DELIVERED,
    FEED_EVENTS_DROPPED,
    FEED_EVENTS_QUEUED,
    SUBSCRIPTIONS,
)
from api.socket_writer import DirectSender, text_frame
from api.ws_callers import TOKEN_EXPIRED_CLOSE_CODE, TOKEN_EXPIRED_REASON, Admission, Refused
from api.ws_messages import INVALID_MESSAGE_CLOSE_CODE, legacy_ws_problem, transport_ws_problem
from models import access
from resolvers.bounded_cache import BoundedCache, text_bytes
from resolvers.context import Context
from resolvers.parse_cache import parsed
from resolvers.schema import MAX_TOKENS

SHARED_FIELDS = frozenset({"requestEvents", "tabCounts"})
# Fields whose every message is the whole state (not a change): a member who joins a running
# group gets the latest message at once, as a subscriber of its own would get it at subscribe.
STATE_FIELDS = frozenset({"tabCounts"})
TOO_SLOW_CLOSE_CODE = 1013
# At shutdown: "going away" (RFC 6455), which clients such as graphql-ws reconnect after.
GOING_AWAY_CLOSE_CODE = 1001
GOING_AWAY_REASON = "server restarting; reconnect and resume from the last cursor you received"
INIT_TIMEOUT_CLOSE_CODE = 4408  # graphql-transport-ws's, for both protocols


@dataclasses.dataclass(frozen=True, slots=True)
class _Shape:
    """What the sharing and the metrics need of a client's document, kept instead of its parse."""

    subscription: bool = False  # the operation it runs is a subscription (what the gauge counts)
    field: str | None = None  # its one root field, when it has exactly one
    shareable: bool = False  # one feed field, no literal cursor
    cursor_variable: str | None = None  # the variable giving its cursor (shared when null)


_NOT_AN_OPERATION = _Shape()
# Keyed by the client's text: bounded in bytes as well (a key may be as long as a message).
_shapes: BoundedCache[tuple[str, str | None], _Shape] = BoundedCache(512, 4 * 1024 * 1024)


def _shape(query: str, operation_name: str | None) -> _Shape:
    key = (query, operation_name)
    shape = _shapes.get(key)
    if shape is None:
        shape = _shape_of(query, operation_name)
        _shapes.put(key, shape, text_bytes(query, operation_name))
    return shape


def _shape_of(query: str, operation_name: str | None) -> _Shape:
    # With the schema's token limit and through its parser cache: the schema finds this parse
    # (or its error) there, so a document is parsed once, whoever asks first.
    try:
        document = parsed(query, {"max_tokens": MAX_TOKENS})
    except GraphQLError:
        return _NOT_AN_OPERATION
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        ops = [o for o in ops if o.name and o.name.value == operation_name]
    if len(ops) != 1:
        return _NOT_AN_OPERATION
    op = ops[0]
    if op.operation is not OperationType.SUBSCRIPTION:
        return _NOT_AN_OPERATION
    fields = op.selection_set.selections
    if len(fields) != 1 or not isinstance(fields[0], FieldNode):
        return _Shape(subscription=True)
    field = fields[0]
    name = field.name.value
    if name not in SHARED_FIELDS:
        return _Shape(subscription=True, field=name)
    for arg in field.arguments or ():
        if arg.name.value == "after":
            if isinstance(arg.value, VariableNode):
                return _Shape(True, name, True, arg.value.name.value)
            if not isinstance(arg.value, NullValueNode):
                return _Shape(subscription=True, field=name)
    return _Shape(True, name, True, None)


def _is_subscription(query: str, operation_name: str | None) -> bool:
    """Whether the operation a client sent is a subscription (what the gauge counts)."""
    return _shape(query, operation_name).subscription


async def close_all(handlers: set[FeedConnection], wait: float = 2.0) -> None:
    """Close every open feed connection (either protocol) with 1001 and the reason, then wait a
    little for their subscriptions to end (before the feed's watcher stops under them)."""
    closes = [asyncio.ensure_future(h.going_away()) for h in list(handlers)]
    if closes:
        await asyncio.gather(*closes, return_exceptions=True)  # a socket already gone: fine
    deadline = asyncio.get_running_loop().time() + wait
    while handlers and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)


class _Message:
    """One encoded result of a group, and its WebSocket frame per operation id (most members
    of a group share one id, so most sends reuse one frame)."""

    __slots__ = ("data", "frames", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode()
        self.frames: dict[bytes, bytes] = {}

    def frame(self, prefix: bytes) -> bytes:
        frame = self.frames.get(prefix)
        if frame is None:
            frame = self.frames[prefix] = text_frame(prefix + self.data + b"}")
        return frame


class _Member:
    """One subscriber of a group: its queue of encoded results, sent by its operation's task.

    While its queue is empty and nothing of its is in flight, a result goes straight to the
    socket (api/socket_writer.py): no task switch, no ASGI chain. Otherwise it waits its turn
    in the queue, so results leave in order either way.
    """

    def __init__(
        self,
        handler: SharedFeedHandler,
        operation: Operation[Any, Any],
        limit: int,
        direct: DirectSender | None = None,
    ) -> None:
        self.handler = handler
        self.operation = operation
        self.limit = limit
        self.queue: deque[str] = deque()
        self.wake = asyncio.Event()
        self.sending = False  # a result is on its way through the ASGI path
        self.ended: str | None = None  # "complete" or an encoded error payload
        self.prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        self.prefix_bytes = self.prefix.encode()
        self.direct = direct

    def offer(self, message: _Message) -> bool:
        """Send or queue one result; False when this member took none (ended, or too slow)."""
        if self.ended is not None:
            return False
        if (
            not self.queue
            and not self.sending
            and self.direct is not None
            and self.direct.send_frame(message.frame(self.prefix_bytes))
        ):
            return True
        if len(self.queue) >= self.limit:
            FEED_EVENTS_DROPPED.labels("slow_consumer").inc()  # this one; the queue below
            self.too_slow(
                f"subscriber too slow: {self.limit} events waiting to be sent; "
                "reconnect and resume from the last cursor you received"
            )
            return False
        self.queue.append(message.text)
        FEED_EVENTS_QUEUED.inc()
        self.wake.set()
        return True

    def too_slow(self, reason: str) -> None:
        if self.ended is None and self.queue:
            FEED_EVENTS_DROPPED.labels("slow_consumer").inc(len(self.queue))
        self.ended = "closed"
        self.queue.clear()
        self.wake.set()
        self.handler.close_soon(reason)

    def end(self, how: str) -> None:
        if self.ended is None:
            self.ended = how
        self.wake.set()

    async def run(self) -> None:
        ws = self.handler.websocket.ws  # type: ignore[attr-defined]
        while True:
            while self.queue:
                self.sending = True
                try:
                    await ws.send_text(self.prefix + self.queue.popleft() + "}")
                finally:
                    self.sending = False
            if self.ended is not None:
                break
            self.wake.clear()
            await self.wake.wait()
        if self.ended == "complete":
            await self.operation.send_operation_message(
                {"id": self.operation.id, "type": "complete"}
            )
        elif self.ended not in (None, "closed"):
            await self.operation.send_operation_message(
                {"id": self.operation.id, "type": "error", "payload": json.loads(self.ended)}
            )


class _Group:
    def __init__(self, registry: Broadcasts, key: Hashable, *, keeps_latest: bool) -> None:
        self.registry = registry
        self.key = key
        self.members: dict[_Member, None] = {}
        self.task: asyncio.Task[None] | None = None
        self.keeps_latest = keeps_latest
        self.latest: _Message | None = None  # the last message, for a state field

    def join(self, member: _Member) -> None:
        self.members[member] = None
        if self.latest is not None and member.offer(self.latest):
            FEED_EVENTS_DELIVERED.inc()

    def start(self, handler: SharedFeedHandler, operation: Operation[Any, Any]) -> None:
        context = dataclasses.replace(
            handler.context, request=None, response=None, on_too_slow=self.too_slow
        )
        self.task = asyncio.create_task(self._lead(handler, operation, context))

    def too_slow(self, reason: str) -> None:
        for member in list(self.members):
            member.too_slow(reason)

    async def _lead(
        self, handler: SharedFeedHandler, operation: Operation[Any, Any], context: Context
    ) -> None:
        ending = "complete"
        try:
            source = await handler.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                root_value=handler.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(source):
                async for result in source:
                    if isinstance(result, PreExecutionError) or not isinstance(
                        result, ExecutionResult
                    ):
                        errors = result.errors or [GraphQLError("not a subscription result")]
                        ending = json.dumps([e.formatted for e in errors])
                        break
                    payload: dict[str, Any] = {"data": result.data}
                    if result.errors:
                        payload["errors"] = [e.formatted for e in result.errors]
                    message = _Message(json.dumps(payload, separators=(",", ":")))
                    if self.keeps_latest:
                        self.latest = message
                    taken = sum(member.offer(message) for member in list(self.members))
                    FEED_EVENTS_DELIVERED.inc(taken)
        finally:
            if self.registry.groups.get(self.key) is self:
                del self.registry.groups[self.key]
            for member in list(self.members):
                member.end(ending)


class Broadcasts:
    """The groups of one process, by (document, operation, variables, caller)."""

    def __init__(self, queue_limit: int) -> None:
        self.queue_limit = queue_limit
        self.groups: dict[Hashable, _Group] = {}

    def key(self, operation: Operation[Any, Any], context: Context) -> Hashable | None:
        shape = _shape(operation.query, operation.operation_name)
        if not shape.shareable:
            return None
        cursor_variable = shape.cursor_variable
        if cursor_variable and (operation.variables or {}).get(cursor_variable) is not None:
            return None  # a resume: its own replay
        try:
            variables = json.dumps(operation.variables or {}, sort_keys=True)
        except (TypeError, ValueError):
            return None
        if context.actor is None:
            return None
        # Callers who see the same things share; the answer never depends on who else asked.
        view = access.view_key(context.actor)
        return (operation.query, operation.operation_name, variables, view)

    async def run(
        self, handler: SharedFeedHandler, operation: Operation[Any, Any], key: Hashable
    ) -> None:
        direct = DirectSender.of(handler.websocket.ws.scope)  # type: ignore[attr-defined]
        member = _Member(handler, operation, self.queue_limit, direct)
        group = self.groups.get(key)
        if group is None:
            keeps_latest = _shape(operation.query, operation.operation_name).field in STATE_FIELDS
            group = self.groups[key] = _Group(self, key, keeps_latest=keeps_latest)
            group.members[member] = None
            group.start(handler, operation)
        else:
            group.join(member)
        try:
            await member.run()
        finally:
            group.members.pop(member, None)
            if not group.members:
                if self.groups.get(key) is group:
                    del self.groups[key]
                if group.task is not None:
                    group.task.cancel()


class _FeedConnection:
    """What a connection of either protocol does besides its protocol: it is in its view's
    `open_handlers` while it is handled (metrics, shutdown), and closes with 1001 at shutdown;
    a caller over its connection limit is refused at connection_init, and the connection
    closes when its token expires (api/ws_callers.py). A mixin, listed before the protocol's
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
            if operation is not None and _is_subscription(
                operation.query, operation.operation_name
            ):
                FEED_EVENTS_DELIVERED.inc()

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        subscription = _is_subscription(operation.query, operation.operation_name)
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
        subscription = _is_subscription(query, operation_name)
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

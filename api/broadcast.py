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
import dataclasses
import json
from collections import deque
from collections.abc import Hashable
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
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
from models import access
from resolvers.context import Context

SHARED_FIELDS = frozenset({"requestEvents", "tabCounts"})
# Fields whose every message is the whole state (not a change): a member who joins a running
# group gets the latest message at once, as a subscriber of its own would get it at subscribe.
STATE_FIELDS = frozenset({"tabCounts"})
TOO_SLOW_CLOSE_CODE = 1013
# At shutdown: "going away" (RFC 6455), which clients such as graphql-ws reconnect after.
GOING_AWAY_CLOSE_CODE = 1001
GOING_AWAY_REASON = "server restarting; reconnect and resume from the last cursor you received"


@lru_cache(maxsize=512)
def _operation(query: str, operation_name: str | None) -> OperationDefinitionNode | None:
    """The one operation a client's document runs (None: it does not parse, or is ambiguous)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        ops = [o for o in ops if o.name and o.name.value == operation_name]
    return ops[0] if len(ops) == 1 else None


_NOT_SHAREABLE = (False, None)


@lru_cache(maxsize=512)
def _shape(query: str, operation_name: str | None) -> tuple[bool, str | None]:
    """Whether the document subscribes to one feed field with no literal cursor, and the name
    of the variable that gives its cursor, if one does (shared only when that one is null)."""
    field = _root_field(query, operation_name)
    if field is None or field.name.value not in SHARED_FIELDS:
        return _NOT_SHAREABLE
    for arg in field.arguments or ():
        if arg.name.value == "after":
            if isinstance(arg.value, VariableNode):
                return True, arg.value.name.value
            if not isinstance(arg.value, NullValueNode):
                return _NOT_SHAREABLE
    return True, None


def _root_field(query: str, operation_name: str | None) -> FieldNode | None:
    """The one root field of a subscription document, if it has exactly one."""
    op = _operation(query, operation_name)
    if op is None or op.operation is not OperationType.SUBSCRIPTION:
        return None
    fields = op.selection_set.selections
    return fields[0] if len(fields) == 1 and isinstance(fields[0], FieldNode) else None


def _is_subscription(query: str, operation_name: str | None) -> bool:
    """Whether the operation a client sent is a subscription (what the gauge counts)."""
    op = _operation(query, operation_name)
    return op is not None and op.operation is OperationType.SUBSCRIPTION


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
        shareable, cursor_variable = _shape(operation.query, operation.operation_name)
        if not shareable:
            return None
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
            field = _root_field(operation.query, operation.operation_name)
            keeps_latest = field is not None and field.name.value in STATE_FIELDS
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
    `open_handlers` while it is handled (metrics, shutdown), and closes with 1001 at shutdown.
    A mixin, listed before the protocol's handler class."""

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

    async def going_away(self) -> None:
        """Close this connection at shutdown: 1001 and how to come back."""
        websocket = self.websocket  # type: ignore[attr-defined]
        await websocket.close(GOING_AWAY_CLOSE_CODE, GOING_AWAY_REASON)


class SharedFeedHandler(_FeedConnection, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, with identical feed subscriptions executed once (Broadcasts)."""

    _closing: set[asyncio.Task[None]]

    async def send_message(self, message: Any) -> None:
        await super().send_message(message)
        if message.get("type") == "next":  # an unshared subscription's result, sent
            operation = self.operations.get(message.get("id"))
            if operation is not None and _is_subscription(
                operation.query, operation.operation_name
            ):
                FEED_EVENTS_DELIVERED.inc()

    def close_soon(self, reason: str) -> None:
        """Close this connection with the reason, without waiting (its sender may be stuck)."""
        if not hasattr(self, "_closing"):
            self._closing = set()
        task = asyncio.create_task(self.websocket.close(TOO_SLOW_CLOSE_CODE, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

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
    counted in the feed's metrics and closed with 1001 at shutdown like the other protocol."""

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        subscription = _is_subscription(query, operation_name)
        if subscription:
            SUBSCRIPTIONS.inc()
        try:
            await super().handle_async_results(operation_id, query, operation_name, variables)
        finally:
            if subscription:
                SUBSCRIPTIONS.dec()

    async def send_data_message(self, execution_result: ExecutionResult, operation_id: str) -> None:
        await super().send_data_message(execution_result, operation_id)
        FEED_EVENTS_DELIVERED.inc()  # graphql-ws sends "data" for subscriptions only


# What the view keeps open and closes at shutdown: a connection of either protocol.
FeedConnection = SharedFeedHandler | LegacyFeedHandler

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
queries and mutations over WebSocket, the legacy graphql-ws protocol) runs as Strawberry runs it
(feed/handlers.py, the protocol handlers that hand shared operations here).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import deque
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from api.metrics import FEED_EVENTS_DELIVERED, FEED_EVENTS_DROPPED, FEED_EVENTS_QUEUED
from feed.socket_writer import DirectSender, text_frame
from graphql_runtime.bounded_cache import BoundedCache, text_bytes
from graphql_runtime.extensions import MAX_TOKENS
from graphql_runtime.parse_cache import parsed
from models import access
from resolvers.context import Context

if TYPE_CHECKING:
    from feed.handlers import SharedFeedHandler

SHARED_FIELDS = frozenset({"requestEvents", "tabCounts"})
# Fields whose every message is the whole state (not a change): a member who joins a running
# group gets the latest message at once, as a subscriber of its own would get it at subscribe.
STATE_FIELDS = frozenset({"tabCounts"})


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


def is_subscription(query: str, operation_name: str | None) -> bool:
    """Whether the operation a client sent is a subscription (what the gauge counts)."""
    return _shape(query, operation_name).subscription


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
    socket (feed/socket_writer.py): no task switch, no ASGI chain. Otherwise it waits its turn
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

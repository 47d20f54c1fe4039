"""Per-request guards of the GraphQL layer: query cost, its ceiling and its rate limit, the
introspection gate, subscriptions kept off HTTP, and whether errors may suggest schema names.

Depth, alias and token limits are validation rules (graphql_runtime/extensions.py,
document_limits.py); page size is checked by storage/pagination.py (at most 100). What is here
needs the caller, so it runs per request with the settings the app was built with (`Guard`,
carried by the context).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from graphql_runtime.document_limits import figure, fragments_of, saturate, spreads_first

DEFAULT_PAGE = 20
MAX_PAGE = 100
MUTATION_COST = 10  # a write costs more than a read of one field
# The most one operation may cost with the rate limit off (with it on: the caller's whole budget,
# which an operation costing more could never fit in). Bounds the work execution may be asked for.
MAX_OPERATION_COST = 50_000


# ---- query cost ------------------------------------------------------------------------------


def query_cost(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
) -> int:
    """One per field; a field taking `first` multiplies what it selects by its page size (what
    it may return), so a page of 100 with its lines and timeline costs a hundred times one.

    A fragment costs what its expansion would, computed once (graphql_runtime/document_limits.py):
    linear in the document's size however often it is spread; saturates at SATURATED."""
    variables = variables or {}

    def page_size(node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value != "first":
                continue
            value: Any = None
            if isinstance(arg.value, IntValueNode):
                value = int(arg.value.value)
            elif isinstance(arg.value, VariableNode):
                value = variables.get(arg.value.name.value)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(1, min(value, MAX_PAGE))
            return DEFAULT_PAGE
        return 1

    def cost(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                total += 1 + page_size(node) * cost(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                total += cost(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total += fragment_costs.get(node.name.value, 0)  # unknown or a cycle: refused
            total = saturate(total)
        return total

    fragment_costs: dict[str, int] = {}
    for fragment in spreads_first(fragments):
        fragment_costs[fragment.name.value] = cost(fragment.selection_set)
    base = cost(operation.selection_set)
    if operation.operation is OperationType.MUTATION:
        base += MUTATION_COST * len(operation.selection_set.selections)
    return saturate(base)


def too_costly_error(cost: int, ceiling: int) -> GraphQLError:
    return GraphQLError(
        f"this operation costs {figure(cost)}, more than one operation may ({ceiling:,}): "
        "select fewer fields, smaller pages or fewer fragment spreads",
        extensions={"code": "GRAPHQL_VALIDATION_FAILED", "cost": cost, "maxCost": ceiling},
    )


# ---- the rate limiter ------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per caller: `capacity` cost units, refilled evenly over `window` seconds.

    In-process: each service process keeps its own buckets (a caller spread over N processes may
    spend N times the budget). Bounded memory: the least recently seen callers are forgotten.
    """

    def __init__(
        self, capacity: int, window: float, clock: Any = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / window
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def spend(self, key: str, cost: int) -> float | None:
        """Take `cost` from the caller's bucket: None when allowed, else seconds until it would be
        (a cost over the whole capacity is refused at once, with the time to a full bucket)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(float(self.capacity), now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if cost <= bucket.tokens:
                bucket.tokens -= cost
                return None
            missing = min(cost, self.capacity) - bucket.tokens
            return max(missing / self.rate, 0.001)


@dataclass(frozen=True)
class Guard:
    """What the app's settings decide per request (the context carries it)."""

    mask_errors: bool = False
    introspection: bool = True
    rate_limiter: RateLimiter | None = None


def suggestions_hidden(context: Any) -> bool:
    """Whether errors leave out graphql-core's "Did you mean ...?": those name the schema's
    fields, types and enum values, so they are shown only where introspection is on."""
    guard: Guard | None = getattr(context, "guard", None)
    return guard is not None and not guard.introspection


def rate_limited_error(retry_after: float, cost: int) -> GraphQLError:
    seconds = math.ceil(retry_after)
    return GraphQLError(
        f"rate limited: this operation costs {cost}; retry in {seconds} s",
        extensions={"code": "RATE_LIMITED", "retryAfterSeconds": seconds, "cost": cost},
    )


def _caller_key(context: Any) -> str:
    actor = getattr(context, "actor", None)
    if actor is not None:
        return f"{actor.kind.value}:{actor.id}@{actor.shop_id or ''}"
    request = getattr(context, "request", None)
    client = getattr(request, "client", None)
    return f"anonymous:{getattr(client, 'host', '?')}"


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((o for o in ops if o.name and o.name.value == name), None)


def _refuse(ctx: Any, error: GraphQLError) -> None:
    """Answer with `error` instead of running the operation. Also as the operation's errors, so
    the operation log (which finishes before Strawberry copies the result's) records its code."""
    ctx.result = ExecutionResult(data=None, errors=[error])
    ctx.pre_execution_errors = [error]


def _http_response(context: Any) -> Any:
    """The HTTP response an operation answers through; None over a WebSocket (a socket has
    no status) or in-process."""
    response = getattr(context, "response", None)
    return response if hasattr(response, "status_code") else None


class HttpSubscriptionGate(SchemaExtension):
    """A subscription sent over HTTP (POST or GET) is refused with SUBSCRIPTION_OVER_HTTP and
    HTTP 400: its events stream over a WebSocket. (Strawberry would run it as a query, and the
    stream it returns would fail as a null in a non-null field: an internal error.)"""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        response = _http_response(ctx.context)
        if response is not None and ctx.operation_type is StrawberryOperationType.SUBSCRIPTION:
            response.status_code = 400
            error = GraphQLError(
                "subscriptions run over a WebSocket at /graphql (graphql-transport-ws); "
                "over HTTP, send queries and mutations",
                extensions={"code": "SUBSCRIPTION_OVER_HTTP"},
            )
            _refuse(ctx, error)
        yield


class CostRateLimit(SchemaExtension):
    """Refuses, as part of the document's validation, an operation costing more than one may
    (GRAPHQL_VALIDATION_FAILED, with `cost` and `maxCost`): subscriptions too, whose execution
    Strawberry starts whatever an `on_execute` hook says. Then, before execution, charges the
    cost to its caller; over budget: RATE_LIMITED, nothing runs. The HTTP answer is 429 with
    Retry-After; the GraphQL error says the same in `extensions`. Listed last: the document's
    own validation errors come first, and a document with any is not costed."""

    cost: int | None = None  # an instance per operation

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        operation = _operation(document, ctx.operation_name) if document is not None else None
        if document is not None and operation is not None and not ctx.pre_execution_errors:
            self.cost = query_cost(operation, fragments_of(document), ctx.variables)
            guard: Guard | None = getattr(ctx.context, "guard", None)
            limiter = guard.rate_limiter if guard else None
            ceiling = limiter.capacity if limiter is not None else MAX_OPERATION_COST
            if self.cost > ceiling:
                ctx.pre_execution_errors = [too_costly_error(self.cost, ceiling)]
        yield

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        guard: Guard | None = getattr(ctx.context, "guard", None)
        limiter = guard.rate_limiter if guard else None
        if ctx.result is None and limiter is not None and self.cost is not None:
            retry_after = limiter.spend(_caller_key(ctx.context), self.cost)
            if retry_after is not None:
                response = _http_response(ctx.context)
                if response is not None:
                    response.status_code = 429
                    response.headers["Retry-After"] = str(math.ceil(retry_after))
                _refuse(ctx, rate_limited_error(retry_after, self.cost))
        yield


class IntrospectionGate(SchemaExtension):
    """With introspection off (production), `__schema` and `__type` fail validation."""

    def on_validate(self) -> Iterator[None]:
        # Before the hook yields: strawberry checks the errors before the hooks unwind. Listed
        # after the validation cache, which sets the document's own validation errors first.
        ctx = self.execution_context
        guard: Guard | None = getattr(ctx.context, "guard", None)
        refused = bool(ctx.pre_execution_errors)  # nothing more to say, nor to spend on it
        if (
            guard is not None
            and not guard.introspection
            and ctx.graphql_document is not None
            and not refused
        ):
            errors = validate(
                ctx.schema._schema, ctx.graphql_document, [NoSchemaIntrospectionCustomRule]
            )
            if errors:
                ctx.pre_execution_errors = [*(ctx.pre_execution_errors or []), *errors]
        yield

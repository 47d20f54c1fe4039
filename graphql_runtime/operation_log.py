"""One log line and metrics per GraphQL operation, the request id on every error, unexpected
errors logged once.

A Strawberry schema extension (passed as a class, so each operation gets its own instance). The
line carries the request id, operation name and type, actor kind, shop, duration and outcome:
`ok`, `error` (typed error codes from the result unions, GraphQL error codes such as
UNAUTHENTICATED, or UNKNOWN_OPERATION and OPERATION_NOT_ALLOWED for an operation the request
cannot run) or `internal_error` (a bug: its traceback is logged here, once).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.schema import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from api.logs import FIELDS
from api.metrics import record_operation
from api.request_id import current_request_id, new_request_id
from graphql_runtime.error_codes import typed_error_codes

log = logging.getLogger("aftersales.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"


class OperationLog(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        request_id = current_request_id.get() or new_request_id()
        typed: list[str] = []
        token = typed_error_codes.set(typed)
        escaped: Exception | None = None
        try:
            yield
        except Exception as exc:
            # Raised through the operation (a syntax error from the parser cache): Strawberry
            # turns it into the response's error after this extension is done.
            escaped = exc
            raise
        finally:
            # A subscription ended from another task (its client gone) closes this in a context
            # the token is not from: that context never saw the codes set, so nothing to undo.
            with contextlib.suppress(ValueError):
                typed_error_codes.reset(token)
            self._finish(request_id, typed, time.perf_counter() - started, escaped)

    def _finish(
        self, request_id: str, typed: list[str], seconds: float, escaped: Exception | None
    ) -> None:
        ctx = self.execution_context
        errors: list[GraphQLError] = list(ctx.pre_execution_errors or [])
        if escaped is not None:
            if isinstance(escaped, CannotGetOperationTypeError | InvalidOperationTypeError):
                # Strawberry's view answers these 400: the client's request, not a bug.
                typed = [*typed, _refusal_code(escaped)]
            elif isinstance(escaped, GraphQLError):
                errors.append(escaped)  # the same object reaches the response
            else:
                errors.append(GraphQLError(str(escaped), original_error=escaped))
        codes = [*typed]
        internal = False
        for error in errors:
            error.extensions = {**(error.extensions or {}), "requestId": request_id}
            code = error.extensions.get("code") or _code_before_processing(error)
            codes.append(code)
            if code == INTERNAL:
                internal = True
                original = error.original_error or error
                log.error(
                    "internal error: %s",
                    error.message,
                    exc_info=(type(original), original, original.__traceback__),
                    extra={FIELDS: {"request_id": request_id, "path": error.path}},
                )
        outcome = "internal_error" if internal else "error" if codes else "ok"
        name, op_type = operation_name(ctx), operation_type(ctx)
        record_operation(name, op_type, outcome, seconds, codes)
        actor = getattr(ctx.context, "actor", None)
        log.info(
            "graphql %s",
            outcome,
            extra={
                FIELDS: {
                    "request_id": request_id,
                    "operation": name,
                    "type": op_type,
                    "actor_kind": actor.kind.value if actor else "none",
                    "shop": actor.shop_id if actor else None,
                    "duration_ms": round(seconds * 1000, 2),
                    "outcome": outcome,
                    "error_codes": codes,
                }
            },
        )


def _refusal_code(refusal: CannotGetOperationTypeError | InvalidOperationTypeError) -> str:
    # An operation name the document lacks; a mutation by GET, a subscription outside a socket.
    if isinstance(refusal, CannotGetOperationTypeError):
        return "UNKNOWN_OPERATION"
    return "OPERATION_NOT_ALLOWED"


def _code_before_processing(error: GraphQLError) -> str:
    # As AfterSalesSchema.process_errors will code it: no original error means the document.
    return "GRAPHQL_VALIDATION_FAILED" if error.original_error is None else INTERNAL


def operation_type(ctx: Any) -> str:
    try:
        return ctx.operation_type.value
    except Exception:  # the document did not parse, or names no operation
        return "unknown"


def operation_name(ctx: Any) -> str:
    """The client's operation name; for an anonymous one, its root fields (`a+b`)."""
    if ctx.operation_name:
        return str(ctx.operation_name)
    document = ctx.graphql_document
    if document is None:
        return "(unparsed)"
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            fields = [
                s.name.value
                for s in definition.selection_set.selections
                if isinstance(s, FieldNode) and s.name.value != "__typename"
            ]
            return "+".join(fields) or "(anonymous)"
    return "(anonymous)"


def observe_operations(schema: Schema) -> None:
    """Add the operation log to the schema's extensions, once, first: its duration then covers
    parsing and validation too."""
    if OperationLog not in schema.extensions:
        schema.extensions = (OperationLog, *schema.extensions)

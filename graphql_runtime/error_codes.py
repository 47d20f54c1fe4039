"""Error codes and masking: every error of an operation leaves with a stable `extensions.code`.

`AfterSalesSchema` is the service's Strawberry schema class (resolvers/schema.py composes its
types); its `process_errors` codes each error before Strawberry formats the response.
`typed_error_codes` carries, per operation, the codes of the typed errors a mutation answered
in its result union, for the operation log (graphql_runtime/operation_log.py).
"""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from models.errors import DomainError
from storage.deadlines import DatabaseUnavailable, as_unavailable

log = logging.getLogger("aftersales.errors")

# The database is out of reach, too slow, or the shop held: retry after `retryAfterSeconds`.
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

# The codes of the typed errors an operation returned, for its log line and metrics: the
# operation log (graphql_runtime/operation_log.py) sets a fresh list per operation; None
# outside one.
typed_error_codes: ContextVar[list[str] | None] = ContextVar("typed_error_codes", default=None)


class AfterSalesSchema(strawberry.Schema):
    """Puts a stable `extensions.code` on every error. An unexpected one gets the request id in
    `extensions.requestId` and, in production (the context's guard), a message that hides its
    detail; the operation log (graphql_runtime/operation_log.py) logs it once, with its traceback
    and the same id. Typed errors and errors raised with a code are never masked.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            original = error.original_error
            if isinstance(original, DomainError):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": original.code,
                    "field": original.field,
                }
            elif error.extensions and "code" in error.extensions:
                continue  # raised on purpose with its code (UNAUTHENTICATED)
            elif (unavailable := as_unavailable(original)) is not None:
                self._unavailable(error, unavailable, execution_context)
            elif original is None or error.path is None:
                # Parse and validation errors, variables that do not coerce to their types:
                # the client's document or variables are wrong (only resolvers have a path).
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            else:
                self._mask(error, execution_context)

    @staticmethod
    def _unavailable(
        error: GraphQLError,
        unavailable: DatabaseUnavailable,
        execution_context: ExecutionContext | None,
    ) -> None:
        """The database is out of reach, too slow or the shop held: retryable, not a bug (and
        not a domain error, so a mutation answers it here too, not in its union). Over HTTP: 503
        with Retry-After. The driver's own message never reaches the caller."""
        error.message = str(unavailable)
        error.extensions = {
            **(error.extensions or {}),
            "code": SERVICE_UNAVAILABLE,
            "retryAfterSeconds": unavailable.retry_after,
        }
        context = execution_context.context if execution_context else None
        response = getattr(context, "response", None)
        if response is not None and hasattr(response, "status_code"):
            response.status_code = 503
            response.headers["Retry-After"] = str(unavailable.retry_after)

    @staticmethod
    def _mask(error: GraphQLError, execution_context: ExecutionContext | None) -> None:
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "") or uuid.uuid4().hex
        error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        guard = getattr(context, "guard", None)
        if guard is not None and guard.mask_errors:
            error.message = f"internal error; quote request id {request_id} to support"

"""Deadlines for database work, and the retryable answer when the database is out of reach.

Every GraphQL operation over HTTP (api/deadlines.py) and every batch of the deadline worker runs
under `deadline`; `Database.transaction` (storage/mongo.py) stops queueing, retrying and each
attempt there. `as_unavailable` tells a driver error that means "out of reach, too slow or too
busy" from a bug; graphql_runtime/error_codes.py answers those with SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError, WTimeoutError


class DatabaseUnavailable(Exception):
    """The database did not answer, or a shop stayed held by other writers, within the
    operation's deadline: nothing was written, and the caller may retry after `retry_after`
    seconds. Never carries the driver's message (it may name hosts and internals)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# Seconds a caller is told to wait: a shop held by other writers frees up within a transaction or
# two; a database that does not answer takes longer to come back.
RETRY_AFTER_BUSY = 1
RETRY_AFTER_DOWN = 5


def as_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The retryable answer for an error that says the database is out of reach, too slow or
    too busy (a lost connection, no server to select, a deadline passed, a transaction that kept
    conflicting); None for anything else (a bug, a bad query)."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    if isinstance(exc, ConnectionFailure | ExecutionTimeout | WTimeoutError) or (
        isinstance(exc, PyMongoError) and exc.timeout
    ):
        return DatabaseUnavailable(
            "the database did not answer in time; retry later", RETRY_AFTER_DOWN
        )
    if isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError"):
        return DatabaseUnavailable("the shop is busy; retry shortly", RETRY_AFTER_BUSY)
    return None


_deadline: ContextVar[float | None] = ContextVar("operation_deadline", default=None)
_attempt_limit: ContextVar[float | None] = ContextVar("attempt_limit", default=None)


@contextlib.contextmanager
def deadline(seconds: float | None, *, attempt: float | None = None) -> Iterator[None]:
    """The operation in hand ends `seconds` from now: waiting for its shop's queue, retrying
    conflicts and each transaction attempt stop there (DatabaseUnavailable). A single call
    outside a transaction is bounded by the client's own `timeoutMS` (`connect`). Nested: the
    sooner one wins. None: no deadline of its own. `attempt`: how long one transaction attempt
    may take inside (a batch's), instead of `Database.attempt_timeout`."""
    if seconds is None:
        yield
        return
    at = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(at if outer is None else min(at, outer))
    limit = _attempt_limit.set(attempt) if attempt is not None else None
    try:
        yield
    finally:
        if limit is not None:
            _attempt_limit.reset(limit)
        _deadline.reset(token)


def attempt_limit() -> float | None:
    """How long one transaction attempt may take under the current deadline (None: not set)."""
    return _attempt_limit.get()


def remaining() -> float | None:
    """Seconds left before the current deadline (None: there is none)."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()


def expired(what: str, retry_after: int) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"{what} within the operation's deadline; retry later", retry_after)

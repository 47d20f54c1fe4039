"""Who holds WebSocket connections: a limit per caller, and each connection's token expiry.

A token is checked once, at `connection_init`; without more, one token held 300 connections
with 20 subscriptions each, and its subscriptions went on after it expired. Here each process
counts the open connections of each caller (kind, id and shop of the token, as the rate limit
does; a caller without a token, known only by the demo identity, by address) and refuses one
over `AFTERSALES_WS_MAX_CONNECTIONS_PER_CALLER` at `connection_init`. A connection whose token
expires is closed at its `exp` by one timer (feed/handlers.py arms it), not checked per event.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.actors import Actor

# A caller over its limit: like HTTP's 429 (graphql-transport-ws's own 4429 refuses a second
# connection_init); graphql-ws clients do not retry it, which is what a limit wants.
TOO_MANY_CONNECTIONS_CLOSE_CODE = 4429
# The token expired: the code a connection with a bad token is refused with at connect, so a
# client that retries does so with a fresh token (graphql-ws clients retry on 4403).
TOKEN_EXPIRED_CLOSE_CODE = 4403
TOKEN_EXPIRED_REASON = "token expired; reconnect with a fresh token"


class Refused(Exception):
    """A connection refused at connection_init, with its close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Admission:
    """What connection_init admitted: the caller's slot (released when the connection ends)
    and when its token expires (epoch seconds; None: no token, the demo identity)."""

    caller: str
    expires_at: float | None


def caller_key(actor: Actor, with_token: bool, address: str | None) -> str:
    if with_token:
        return f"{actor.kind.value}:{actor.id}@{actor.shop_id or ''}"
    return f"anonymous:{address or '?'}"


class CallerConnections:
    """Open connections per caller in this process (N processes: up to N times the limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def take(self, caller: str) -> None:
        held = self.open.get(caller, 0)
        if held >= self.limit:
            raise Refused(
                TOO_MANY_CONNECTIONS_CLOSE_CODE,
                f"too many connections: this caller has {held} open, at most {self.limit}; "
                "close one first",
            )
        self.open[caller] = held + 1

    def release(self, caller: str) -> None:
        held = self.open.get(caller, 0) - 1
        if held > 0:
            self.open[caller] = held
        else:
            self.open.pop(caller, None)

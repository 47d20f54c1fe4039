"""What a WebSocket client sends, checked before anything acts on it (both protocols).

A message is refused before it is decoded when it is larger than an HTTP body may be
(`AFTERSALES_MAX_BODY_BYTES`): uvicorn refuses a larger frame from its header already
(`ws_max_size`, api/start.py), and this check holds under a server configured otherwise.
Then a message must be one JSON object whose fields have the types its protocol gives them;
anything else gets the protocol's error answer from the handler (feed/handlers.py), never a
traceback: Strawberry indexes into whatever arrived.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonTextMessageReceived

# RFC 6455: "a message that is too big for it to process"; what websockets sends for a frame
# over uvicorn's ws_max_size, so a client sees the same code whichever refused it.
TOO_BIG_CLOSE_CODE = 1009
# graphql-transport-ws: a message that does not follow the protocol.
INVALID_MESSAGE_CLOSE_CODE = 4400
MAX_REASON_BYTES = 123  # RFC 6455: a control frame's 125 bytes, less the code's two


@dataclass(frozen=True)
class Invalid:
    """A message that is not one JSON object: why, for the protocol's error answer."""

    reason: str


def too_big(text: str, max_bytes: int) -> bool:
    # A character is 1 to 4 bytes in UTF-8: encode only when the length alone does not decide.
    n = len(text)
    return n > max_bytes or (n * 4 > max_bytes and len(text.encode()) > max_bytes)


def decoded(text: str) -> dict[str, Any] | Invalid:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return Invalid("WebSocket message must be valid JSON")
    if not isinstance(message, dict):
        return Invalid("WebSocket message must be a JSON object")
    return message


class CheckedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's ASGI adapter, with the size limit and decoding above: yields a message (a
    dict) or an `Invalid` for the handler to answer; closes with 1009 over the limit."""

    def __init__(self, view: Any, request: WebSocket, response: WebSocket) -> None:
        super().__init__(view, request, response)
        self.max_bytes: int = view.max_message_bytes

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        ws = self.ws
        try:
            while ws.application_state != WebSocketState.DISCONNECTED:
                text = await ws.receive_text()
                if too_big(text, self.max_bytes):
                    del text
                    reason = f"message too big: at most {self.max_bytes} bytes"
                    await self.close(TOO_BIG_CLOSE_CODE, reason)
                    return
                yield decoded(text)
        except KeyError as e:  # a binary frame: Starlette has no "text" for it
            raise NonTextMessageReceived from e
        except WebSocketDisconnect:
            pass

    async def close(self, code: int, reason: str) -> None:
        # A close frame holds at most 123 bytes of reason; Strawberry puts a client's
        # operation id in some ("Subscriber for <id> already exists").
        await self.ws.close(code=code, reason=close_reason(reason))


def close_reason(reason: str) -> str:
    """The reason cut to what a close frame holds (123 bytes of UTF-8)."""
    data = reason.encode()
    if len(data) <= MAX_REASON_BYTES:
        return reason
    return data[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


def uvicorn_limits(max_bytes: int) -> dict[str, Any]:
    """uvicorn's options that refuse a larger message from its frame header, before it is read."""
    return {"ws_max_size": max_bytes}


# ---- graphql-transport-ws ------------------------------------------------------------------

_TRANSPORT_TYPES = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})


def transport_ws_problem(message: object) -> str | None:
    """Why a graphql-transport-ws message breaks the protocol (4400), or None."""
    if isinstance(message, Invalid):
        return message.reason
    assert isinstance(message, dict)
    kind = message.get("type")
    if not isinstance(kind, str):
        return "a message needs a string 'type'"
    if kind not in _TRANSPORT_TYPES:
        return f"Unknown message type: {kind[:64]}"
    if kind == "subscribe":
        return _id_problem(message) or _payload_problem(message.get("payload"))
    if kind == "complete":
        return _id_problem(message)
    return None  # connection_init's payload: Strawberry checks it (4400); ping/pong: any


def _id_problem(message: Mapping[str, Any]) -> str | None:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id:
        return f"'{message.get('type')}' needs a non-empty string 'id'"
    return None


def _payload_problem(payload: object) -> str | None:
    """What is wrong with an operation's payload ({query, variables, operationName,
    extensions}), or None."""
    if not isinstance(payload, dict):
        return "the payload must be an object"
    if not isinstance(payload.get("query"), str):
        return "the payload needs a string 'query'"
    if not isinstance(payload.get("variables") or {}, dict):
        return "'variables' must be an object"
    if not isinstance(payload.get("operationName") or "", str):
        return "'operationName' must be a string"
    if not isinstance(payload.get("extensions") or {}, dict):
        return "'extensions' must be an object"
    return None


# ---- legacy graphql-ws ---------------------------------------------------------------------

_LEGACY_TYPES = frozenset({"connection_init", "connection_terminate", "start", "stop"})


@dataclass(frozen=True)
class LegacyProblem:
    """What is wrong with a legacy message: an operation's (answered with `error` for its id,
    the connection goes on) or the connection's (`connection_error`, then a close)."""

    reason: str
    operation_id: str | None = None


def legacy_ws_problem(message: object) -> LegacyProblem | None:
    if isinstance(message, Invalid):
        return LegacyProblem(message.reason)
    assert isinstance(message, dict)
    kind = message.get("type")
    if not isinstance(kind, str):
        return LegacyProblem("a message needs a string 'type'")
    if kind not in _LEGACY_TYPES:
        return LegacyProblem(f"Unknown message type: {kind[:64]}")
    if kind in ("start", "stop"):
        op_id = message.get("id")
        if not isinstance(op_id, str) or not op_id:
            return LegacyProblem(f"'{kind}' needs a non-empty string 'id'")
        if kind == "start":
            problem = _payload_problem(message.get("payload"))
            if problem:
                return LegacyProblem(problem, op_id)
    return None

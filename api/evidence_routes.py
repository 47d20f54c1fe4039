"""E1's HTTP routes: the file bodies GraphQL does not carry.

- `POST /evidence?orderId=ID`: the raw file as the body (any Content-Type: the type is read from
  the bytes), `Authorization: Bearer` as for GraphQL. 201 with the pending upload's id, which a
  mutation's `evidenceIds` then names.
- `GET /evidence/{id}?viewer=&expires=&sig=`: a URL served by the `Evidence.url` field; the file,
  streamed from GridFS with its content type, `Range` (one range) honoured for video players.

Errors are JSON `{"error": {"code", "message"}}` with the HTTP status of the code.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api import identity
from models import evidence as rules
from models.errors import DomainError
from resolvers.inputs import well_formed_id
from services.evidence import EvidenceService, as_dict

_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "VALIDATION_FAILED": 400,
    "REQUEST_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMITED": 429,
}
# A refused upload's remaining body is read and dropped up to this much (so the client, still
# sending, reads the answer instead of a reset connection); past it the connection is closed.
DRAIN_BYTES = 64 * 1024 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _error(code: str, message: str, **extra: object) -> JSONResponse:
    headers = {}
    if "retryAfterSeconds" in extra:
        headers["Retry-After"] = str(extra["retryAfterSeconds"])
    return JSONResponse(
        {"error": {"code": code, "message": message, **extra}},
        status_code=_STATUS.get(code, 400),
        headers=headers,
    )


def _of(err: DomainError) -> JSONResponse:
    extra: dict[str, object] = {}
    if isinstance(err, rules.TooLarge):
        extra["maxBytes"] = err.max_bytes
    if isinstance(err, rules.BudgetSpent):
        extra["retryAfterSeconds"] = err.retry_after_seconds
    if err.field:
        extra["field"] = err.field
    return _error(err.code, err.message, **extra)


async def _drain(request: Request) -> None:
    read = 0
    try:
        async for chunk in request.stream():
            read += len(chunk)
            if read > DRAIN_BYTES:
                break
    except Exception:  # the client went away: nothing to answer
        pass


def evidence_routes() -> list[Route]:
    return [
        Route("/evidence", upload, methods=["POST"]),
        Route("/evidence/{evidence_id}", download, methods=["GET", "HEAD"]),
    ]


def _service(request: Request) -> EvidenceService:
    return request.app.state.evidence


async def upload(request: Request) -> Response:
    try:
        actor = identity.actor_from_headers(request.headers, request.app.state.identity)
    except identity.Unauthenticated as exc:
        return _error("UNAUTHENTICATED", str(exc))
    if actor is None:
        return _error("UNAUTHENTICATED", "send Authorization: Bearer <token>")
    declared_header = request.headers.get("content-length")
    declared = int(declared_header) if declared_header and declared_header.isdigit() else None
    try:
        order_id = well_formed_id(request.query_params.get("orderId", ""), "orderId")
        saved = await _service(request).upload(actor, order_id, request.stream(), declared)
    except DomainError as err:
        await _drain(request)
        return _of(err)
    return JSONResponse(as_dict(saved), status_code=201)


async def download(request: Request) -> Response:
    try:
        caller = identity.actor_from_headers(request.headers, request.app.state.identity)
    except identity.Unauthenticated as exc:
        return _error("UNAUTHENTICATED", str(exc))
    q = request.query_params
    try:
        e = await _service(request).open_download(
            request.path_params["evidence_id"],
            q.get("viewer", ""),
            q.get("expires", ""),
            q.get("sig", ""),
            caller,
        )
    except DomainError as err:
        return _of(err)
    size = e.size
    start, end = 0, size - 1
    status = 200
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
    }
    wanted = request.headers.get("range")
    if wanted:
        m = _RANGE.fullmatch(wanted.strip())
        if m and (m[1] or m[2]):
            if m[1]:
                start = int(m[1])
                end = min(int(m[2]), size - 1) if m[2] else size - 1
            else:  # the last N bytes
                start = max(size - int(m[2]), 0)
            if start > end or start >= size:
                return Response(
                    status_code=416, headers={"Content-Range": f"bytes */{size}", **headers}
                )
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=e.content_type)
    body = _service(request).read(e, start, end)
    return StreamingResponse(body, status_code=status, headers=headers, media_type=e.content_type)

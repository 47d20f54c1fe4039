"""Signing of TikTok Shop Open API requests and verification of its webhooks. Pure: no I/O.

A request's `sign` (Partner Center, "Sign your API request"): every query parameter except
`sign` and `access_token`, sorted by key and written `key1value1key2value2`; the request path in
front; the raw body after, unless the body is multipart/form-data (a GET has none); the whole
wrapped in the app secret at both ends; lower-case hex HMAC-SHA256 keyed with the app secret.

A webhook's `Authorization` header (Partner Center, "Webhooks overview"): lower-case hex
HMAC-SHA256 keyed with the app secret over the app key followed by the raw body. It carries no
timestamp, so a receiver dedupes on `tts_notification_id` and bounds the body's `timestamp`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

UNSIGNED_PARAMETERS = frozenset({"sign", "access_token"})

QueryValue = str | int | Sequence[str]


def _text(value: QueryValue) -> str:
    # Array parameters travel comma-joined, and are signed as sent.
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return ",".join(value)


def base_string(
    path: str, query: Mapping[str, QueryValue], body: bytes = b"", *, multipart: bool = False
) -> bytes:
    """What is signed, before the secret wraps it."""
    params = "".join(
        f"{key}{_text(query[key])}" for key in sorted(query) if key not in UNSIGNED_PARAMETERS
    )
    signed = (path + params).encode()
    return signed if multipart else signed + body


def sign_request(
    app_secret: str,
    path: str,
    query: Mapping[str, QueryValue],
    body: bytes = b"",
    *,
    multipart: bool = False,
) -> str:
    """The `sign` query parameter for a request with this path, query and raw body."""
    secret = app_secret.encode()
    message = secret + base_string(path, query, body, multipart=multipart) + secret
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_query(
    app_key: str,
    app_secret: str,
    path: str,
    params: Mapping[str, QueryValue],
    body: bytes,
    timestamp: int,
    *,
    multipart: bool = False,
) -> dict[str, str]:
    """The full query of a call: its parameters, `app_key`, `timestamp` (seconds) and `sign`."""
    query = {key: _text(value) for key, value in params.items()}
    query |= {"app_key": app_key, "timestamp": str(timestamp)}
    query["sign"] = sign_request(app_secret, path, query, body, multipart=multipart)
    return query


def webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """The `Authorization` header TikTok Shop sends with a webhook of this raw body."""
    return hmac.new(app_secret.encode(), app_key.encode() + raw_body, hashlib.sha256).hexdigest()


def verify_webhook(
    app_key: str, app_secret: str, raw_body: bytes, authorization: str | None
) -> bool:
    """Whether the header signs this exact body; compared in constant time."""
    if not authorization:
        return False
    expected = webhook_signature(app_key, app_secret, raw_body)
    return hmac.compare_digest(expected.encode(), authorization.strip().encode())

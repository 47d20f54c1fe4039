"""The stand-in's check of a signed call, written from TikTok's description and apart from
`integrations/tiktok_shop/signing.py` on purpose: the tests cross-check both against the
published vectors, so one misreading cannot hide in both."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl


def expected_sign(
    app_secret: str, path: str, raw_query: str, body: bytes, *, method: str, content_type: str
) -> str:
    pairs = dict(parse_qsl(raw_query, keep_blank_values=True))
    pairs.pop("sign", None)
    pairs.pop("access_token", None)
    message = bytearray(app_secret.encode())
    message += path.encode()
    for key in sorted(pairs):
        message += key.encode() + pairs[key].encode()
    multipart = content_type.split(";")[0].strip().lower() == "multipart/form-data"
    if method.upper() != "GET" and not multipart:
        message += body
    message += app_secret.encode()
    return hmac.new(app_secret.encode(), bytes(message), hashlib.sha256).hexdigest()


def sign_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def webhook_authorization(app_key: str, app_secret: str, raw_body: bytes) -> str:
    digest = hmac.new(app_secret.encode(), digestmod=hashlib.sha256)
    digest.update(app_key.encode())
    digest.update(raw_body)
    return digest.hexdigest()

"""The signature of a delivery: HMAC-SHA256 over `"<timestamp>." + body`, sent as
`Webhook-Signature: t=<unix seconds>,v1=<lower-case hex>` (the scheme Stripe uses).

A receiver recomputes the HMAC over the raw body it got, compares in constant time, and refuses
a timestamp too far from its own clock (replay protection); the README has the recipe.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Webhook-Signature"


def digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={digest(secret, timestamp, body)}"


def headers(
    *,
    secret: str,
    timestamp: int,
    body: bytes,
    delivery_id: str,
    shop_id: str,
    sequence: int,
    event_type: str,
) -> dict[str, str]:
    """Every header of one attempt (signed anew each attempt: the timestamp is the attempt's)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "aftersales-webhooks/1",
        "Webhook-Id": delivery_id,
        "Webhook-Shop": shop_id,
        "Webhook-Sequence": str(sequence),
        "Webhook-Event-Type": event_type,
        "Webhook-Timestamp": str(timestamp),
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
    }

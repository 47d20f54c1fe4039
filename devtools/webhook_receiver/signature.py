"""Outbound webhook signatures: HMAC-SHA256 over the timestamp and the raw body.

Two header schemes; the receiver takes either as a parameter:

- `stripe` (the default): one header, `Webhook-Signature: t=<unix seconds>,v1=<hex>`, where
  hex = HMAC-SHA256(secret, "<t>." + body). Several `v1=` entries may be present (a secret being
  rotated); one match is enough.
- `split`: `Webhook-Timestamp: <unix seconds>` and `Webhook-Signature: sha256=<hex>` over the
  same message.

A timestamp further than the tolerance from the receiver's clock is refused (replay protection).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

SCHEMES = ("stripe", "split")


def digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Scheme:
    name: str = "stripe"
    signature_header: str = "Webhook-Signature"
    timestamp_header: str = "Webhook-Timestamp"  # the split scheme only
    tolerance_seconds: int = 300

    def __post_init__(self) -> None:
        if self.name not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}")

    def headers(self, secret: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The headers a sender adds (for tests and demos that play the sender)."""
        hexdigest = digest(secret, timestamp, body)
        if self.name == "stripe":
            return {self.signature_header: f"t={timestamp},v1={hexdigest}"}
        return {
            self.timestamp_header: str(timestamp),
            self.signature_header: f"sha256={hexdigest}",
        }

    def check(self, secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
        """None when signed and fresh; else the reason it is refused."""
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(self.signature_header.lower())
        if not value:
            return "no signature header"
        if self.name == "stripe":
            parts = [p.split("=", 1) for p in value.split(",") if "=" in p]
            stamps = [v for k, v in parts if k.strip() == "t"]
            given = [v.strip() for k, v in parts if k.strip() == "v1"]
            stamp_text = stamps[0] if len(stamps) == 1 else ""
        else:
            stamp_text = lowered.get(self.timestamp_header.lower(), "")
            given = [value.removeprefix("sha256=").strip()] if value.startswith("sha256=") else []
        try:
            stamp = int(stamp_text)
        except ValueError:
            return "no timestamp"
        if not given:
            return "no signature"
        expected = digest(secret, stamp, body).encode()
        if not any(hmac.compare_digest(expected, g.encode()) for g in given):
            return "bad signature"
        if abs(now - stamp) > self.tolerance_seconds:
            return "timestamp outside the tolerance"
        return None

"""The receiver: what it accepts, what it records, and the faults it can be told to play.

A delivery is a POST (any path but /_receiver/...) whose headers carry its delivery id, its shop
and the event's per-shop sequence number (header names are parameters; the defaults are
`Webhook-Id`, `Webhook-Shop`, `Webhook-Sequence`), signed as `signature.Scheme` says. Every
attempt is recorded with its outcome; an accepted delivery id is kept once (a repeat is answered
200 and counted as a duplicate), so after a run the receiver holds each event once, and says per
shop whether the sequence numbers arrived in order and which are missing.

Faults, set through the control API (`POST /_receiver/faults`), each a rule:
  {"action": "fail", "attempts": K, "status": 500, <match>}   the first K attempts answer status
  {"action": "timeout", "attempts": K, "seconds": S, <match>} the first K attempts get no answer
                                                              for S seconds, then the connection
                                                              is closed
  <match>: "delivery_ids": [...], or "share": p with "seed": n (a delivery is in the share by a
  hash of seed and delivery id, so every attempt of it agrees), or neither (every delivery).
`POST /_receiver/down {"seconds": S}` closes the listening socket and every open connection, and
listens again S seconds later: senders see connection refused meanwhile.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.webhook_receiver.signature import Scheme


@dataclass
class Rule:
    action: str
    attempts: int
    status: int = 500
    seconds: float = 5.0
    delivery_ids: frozenset[str] | None = None
    share: float | None = None
    seed: int = 0

    @classmethod
    def of(cls, spec: dict[str, Any]) -> Rule:
        action = spec["action"]
        if action not in ("fail", "timeout"):
            raise ValueError("action: fail or timeout")
        ids = spec.get("delivery_ids")
        share = spec.get("share")
        if share is not None and not 0 <= float(share) <= 1:
            raise ValueError("share is between 0 and 1")
        return cls(
            action=action,
            attempts=int(spec.get("attempts", 1)),
            status=int(spec.get("status", 500)),
            seconds=float(spec.get("seconds", 5.0)),
            delivery_ids=frozenset(str(i) for i in ids) if ids is not None else None,
            share=float(share) if share is not None else None,
            seed=int(spec.get("seed", 0)),
        )

    def matches(self, delivery_id: str, attempt: int) -> bool:
        if attempt > self.attempts:
            return False
        if self.delivery_ids is not None and delivery_id not in self.delivery_ids:
            return False
        if self.share is not None:
            hashed = hashlib.sha256(f"{self.seed}:{delivery_id}".encode()).digest()
            return int.from_bytes(hashed[:8], "big") / 2**64 < self.share
        return True


@dataclass
class Attempt:
    delivery_id: str
    shop: str
    sequence: int | None
    number: int  # 1 for the first attempt of this delivery id
    outcome: str
    status: int | None
    at: float

    def view(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "shop": self.shop,
            "sequence": self.sequence,
            "attempt": self.number,
            "outcome": self.outcome,
            "status": self.status,
            "at": self.at,
        }


@dataclass
class Delivery:
    delivery_id: str
    shop: str
    sequence: int | None
    body: bytes
    accepted_at: float
    duplicates: int = 0


@dataclass
class Decision:
    """What the server does with one request."""

    status: int | None  # None: no answer (a timeout fault)
    body: dict[str, Any]
    hold_seconds: float = 0.0


@dataclass
class Receiver:
    secret: str
    scheme: Scheme = field(default_factory=Scheme)
    id_header: str = "Webhook-Id"
    shop_header: str = "Webhook-Shop"
    sequence_header: str = "Webhook-Sequence"
    rules: list[Rule] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    _tries: dict[str, int] = field(default_factory=dict)

    def receive(self, headers: dict[str, str], body: bytes, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        lowered = {k.lower(): v for k, v in headers.items()}
        delivery_id = lowered.get(self.id_header.lower(), "")
        shop = lowered.get(self.shop_header.lower(), "")
        try:
            sequence: int | None = int(lowered.get(self.sequence_header.lower(), ""))
        except ValueError:
            sequence = None
        number = self._tries.get(delivery_id, 0) + 1
        self._tries[delivery_id] = number

        def record(outcome: str, status: int | None) -> None:
            self.attempts.append(Attempt(delivery_id, shop, sequence, number, outcome, status, now))

        refused = self.scheme.check(self.secret, headers, body, now)
        if refused:
            record(f"refused: {refused}", 401)
            return Decision(401, {"error": refused})
        if not delivery_id or not shop or sequence is None:
            record("refused: missing delivery id, shop or sequence", 400)
            return Decision(400, {"error": "missing delivery id, shop or sequence"})
        for rule in self.rules:
            if rule.matches(delivery_id, number):
                if rule.action == "fail":
                    record("failed (told to)", rule.status)
                    return Decision(rule.status, {"error": "failing as told"})
                record("timed out (told to)", None)
                return Decision(None, {}, hold_seconds=rule.seconds)
        if delivery_id in self.deliveries:
            self.deliveries[delivery_id].duplicates += 1
            record("duplicate", 200)
            return Decision(200, {"ok": True, "duplicate": True})
        self.deliveries[delivery_id] = Delivery(delivery_id, shop, sequence, body, now)
        record("accepted", 200)
        return Decision(200, {"ok": True})

    def summary(self) -> dict[str, Any]:
        shops: dict[str, list[int]] = {}
        for delivery in self.deliveries.values():  # in order of first acceptance
            if delivery.sequence is not None:
                shops.setdefault(delivery.shop, []).append(delivery.sequence)
        per_shop = {}
        for shop, sequences in shops.items():
            present = set(sequences)
            per_shop[shop] = {
                "sequences": sequences,
                "in_order": sequences == sorted(sequences),
                "missing": [
                    n for n in range(min(sequences), max(sequences) + 1) if n not in present
                ],
            }
        return {
            "deliveries": [
                {
                    "delivery_id": d.delivery_id,
                    "shop": d.shop,
                    "sequence": d.sequence,
                    "body": d.body.decode(errors="replace"),
                    "attempts": self._tries.get(d.delivery_id, 0),
                    "duplicates": d.duplicates,
                }
                for d in self.deliveries.values()
            ],
            "attempts": [a.view() for a in self.attempts],
            "shops": per_shop,
            "duplicates": sum(d.duplicates for d in self.deliveries.values()),
        }

    def reset(self) -> None:
        self.rules.clear()
        self.attempts.clear()
        self.deliveries.clear()
        self._tries.clear()

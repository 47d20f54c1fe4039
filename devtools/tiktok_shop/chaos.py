"""Chaos knobs: what share of webhooks and calls misbehave, drawn from seeded generators so a
test that sets the same seed and makes the same calls sees the same faults."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class WebhookChaos:
    drop: float = 0.0  # never sent
    duplicate: float = 0.0  # sent twice, same body and tts_notification_id
    delay: float = 0.0  # sent after delay_seconds, behind later ones
    delay_seconds: float = 1.0
    reorder: float = 0.0  # held back and sent after the next one (or after hold_seconds)
    hold_seconds: float = 0.5


@dataclass
class CallChaos:
    throttle: float = 0.0  # HTTP 429, code 36009002, nothing applied
    server_error: float = 0.0  # HTTP 500, code 36009003
    timeout: float = 0.0  # the answer comes after timeout_seconds
    timeout_seconds: float = 5.0
    # Of the writes answered 500 or late, the share applied before the answer (ambiguous writes).
    applied_anyway: float = 0.5


@dataclass
class Chaos:
    seed: int = 0
    webhooks: WebhookChaos = field(default_factory=WebhookChaos)
    calls: CallChaos = field(default_factory=CallChaos)

    def __post_init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        # Two generators, so the webhook faults do not move with the number of calls.
        self.webhook_rng = random.Random(f"webhooks-{self.seed}")
        self.call_rng = random.Random(f"calls-{self.seed}")

    def configure(self, spec: dict[str, Any]) -> None:
        """Replaces the knobs named in spec; unknown names are a ValueError."""
        for name, value in (spec.get("webhooks") or {}).items():
            _set(self.webhooks, name, value)
        for name, value in (spec.get("calls") or {}).items():
            _set(self.calls, name, value)
        if "seed" in spec:
            self.seed = int(spec["seed"])
        self.reseed()

    def view(self) -> dict[str, Any]:
        return {"seed": self.seed, "webhooks": asdict(self.webhooks), "calls": asdict(self.calls)}


def _set(knobs: WebhookChaos | CallChaos, name: str, value: Any) -> None:
    if name not in knobs.__dataclass_fields__:
        raise ValueError(f"unknown chaos knob {name!r}")
    number = float(value)
    if not name.endswith("_seconds") and not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} is a share between 0 and 1")
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    setattr(knobs, name, number)

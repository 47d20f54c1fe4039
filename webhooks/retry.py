"""When to try a delivery again, when to give up on it, and when to pause its webhook.

Exponential backoff with jitter: before attempt n+1 wait `base * 2**(n-1)` seconds, at most
`cap`, scaled by a random factor in [1 - jitter, 1] (so processes retrying together spread
out). After `max_attempts` attempts a delivery is FAILED and kept for replay; after
`pause_after` FAILED deliveries in a row the webhook is PAUSED, its cursor left on the event that
failed last, so resuming starts there. The random source is a parameter (tests pass a seeded one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Random(Protocol):
    def random(self) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 10  # 2 s to 10 min between tries: about 25 minutes in all
    jitter: float = 0.5
    pause_after: int = 5

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("backoff needs 0 < base <= cap")
        if self.max_attempts < 1 or self.pause_after < 1:
            raise ValueError("max_attempts and pause_after are at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is between 0 and 1")

    def delay(self, attempts_made: int, rng: Random) -> float | None:
        """Seconds to wait before the next attempt after `attempts_made` failed ones; None: give
        up (the delivery is FAILED)."""
        if attempts_made >= self.max_attempts:
            return None
        full = min(self.cap_seconds, self.base_seconds * 2 ** (attempts_made - 1))
        return full * (1 - self.jitter * rng.random())

    def schedule(self) -> list[float]:
        """The waits without jitter, for the docs and the API."""
        return [
            min(self.cap_seconds, self.base_seconds * 2 ** (n - 1))
            for n in range(1, self.max_attempts)
        ]

    def pauses(self, failed_in_a_row: int) -> bool:
        return failed_in_a_row >= self.pause_after


def succeeded(status_code: int | None) -> bool:
    """Only a 2xx answer delivers; a redirect is not followed (it could point anywhere)."""
    return status_code is not None and 200 <= status_code < 300

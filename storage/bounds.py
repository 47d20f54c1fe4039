"""Time-range bounds written as strict comparisons.

SecantusDB 0.7.0b3 drops an inclusive bound at the far end of an index scan (`$gte` over a
descending key, `$lte` over an ascending one: the equal document goes missing). BSON datetimes
have millisecond precision, so `>= t` is exactly `> ceil_ms(t) - 1 ms` and `<= t` is exactly
`< floor_ms(t) + 1 ms`; strict bounds are read correctly by SecantusDB and by MongoDB alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

MS = timedelta(milliseconds=1)


def _floor_ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _ceil_ms(t: datetime) -> datetime:
    floor = _floor_ms(t)
    return floor if floor == t else floor + MS


def time_range(
    at_or_after: datetime | None = None,
    before: datetime | None = None,
    at_or_before: datetime | None = None,
) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    if at_or_after is not None:
        bounds["$gt"] = _ceil_ms(at_or_after) - MS
    if before is not None:
        bounds["$lt"] = before
    if at_or_before is not None:
        upper = _floor_ms(at_or_before) + MS
        bounds["$lt"] = min(upper, bounds.get("$lt", upper))
    return bounds

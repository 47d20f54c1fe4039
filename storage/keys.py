"""Sort keys that make every list query one equality prefix plus one range on one field.

A key is "<UTC time, fixed width, ms>|<_id>": unique, ordered like (time, _id), so a page cursor
is the last key and "created between" is a range on the same key. A real MongoDB would also
serve `(time, _id)` cursors with `$or` and residual filters; SecantusDB's planner only uses an
index when the whole filter is an equality prefix plus one range, so the documents carry the
keys and every query fits that shape on both servers (tests/integration/test_indexes.py checks
the plans).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_MS = timedelta(milliseconds=1)
NEVER = "9999-12-31T23:59:59.999Z"  # sorts after every real deadline
ALL = "ALL"  # the tab/state value every document carries, so "All" shares the tab indexes


def _ceil_ms(t: datetime) -> datetime:
    floor = t.replace(microsecond=t.microsecond // 1000 * 1000)
    return floor if floor == t else floor + _MS


def time_text(t: datetime) -> str:
    t = t.astimezone(UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def sort_key(t: datetime | None, doc_id: str) -> str:
    return f"{time_text(t) if t else NEVER}|{doc_id}"


def time_bounds(at_or_after: datetime | None, before: datetime | None) -> dict[str, str]:
    """A range on a sort key equal to `at_or_after <= time < before` (stored times are ms).

    Every key is "<time>|<id>", so `key > "<time>"` holds exactly for times at or after it, and
    `key < "<time>"` for times before it.
    """
    bounds = {"$gt": at_or_after, "$lt": before}
    return {op: time_text(_ceil_ms(t)) for op, t in bounds.items() if t is not None}

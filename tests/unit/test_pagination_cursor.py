"""Page cursors: the text encode_cursor writes is what json.dumps wrote, so cursors given out
before stay valid, and decode_cursor reads them back."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from storage.pagination import SortOrder, decode_cursor, encode_cursor

SORT = SortOrder("DEADLINE_SOONEST", "k_deadline", 1)


def _with_json_dumps(sort: SortOrder, key: object) -> str:
    raw = json.dumps([sort.name, key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Stored sort keys are a time or a number and an id: short. A cursor over MAX_CURSOR_LENGTH is
# refused by design, and a character may take 12 bytes once escaped (a surrogate pair).
@given(st.text(max_size=25))
def test_cursor_text_is_json_dumps_text(key: str) -> None:
    cursor = encode_cursor(SORT, {SORT.key: key})
    assert cursor == _with_json_dumps(SORT, key)
    assert decode_cursor(SORT, cursor) == key


def test_cursor_of_a_stored_key_and_of_odd_strings() -> None:
    for key in ("2026-11-22T10:00:00.000Z|can_x", 'a"b\\c\n\u2028é😀\ud800', ""):
        assert encode_cursor(SORT, {SORT.key: key}) == _with_json_dumps(SORT, key)

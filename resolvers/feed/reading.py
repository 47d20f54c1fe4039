"""How a subscription reads the live feed: its cursors, the process's feed, and how to cut off a
subscriber that cannot keep up. Shared by the request, ticket and tab-count subscriptions and the
order intake's `orderEvents`."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from strawberry.types import Info

from feed.live_feed import LiveFeed
from models.errors import ValidationFailed
from resolvers.context import Context

# The close code for a subscriber that cannot keep up: "try again later" (RFC 6455), which
# clients such as graphql-ws retry; the reason says why and how to resume.
TOO_SLOW_CLOSE_CODE = 1013
_closing: set[asyncio.Future[None]] = set()  # closes under way (a task needs a reference)


def encode_cursor(shop_id: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{shop_id}:{seq}".encode()).decode().rstrip("=")


# A feed position is an event number: at most 18 ASCII digits (it is stored as a 64-bit int).
_SEQ = re.compile(r"[0-9]{1,18}")


def decode_cursor(cursor: str, shop_id: str) -> int:
    not_ours = ValidationFailed("not a cursor of this feed", field="after")
    if len(cursor) > 256:  # a shop id of at most 64 characters and a number, in base64
        raise not_ours
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        shop, seq = raw.rsplit(":", 1)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise not_ours from None
    if not _SEQ.fullmatch(seq):  # int() would take "+1", " 1", "1_0" and other scripts' digits
        raise not_ours
    position = int(seq)
    if shop != shop_id:
        raise ValidationFailed("this cursor is from another shop's feed", field="after")
    return position


def feed_of(info: Info[Context, Any]) -> LiveFeed:
    feed = info.context.feed
    assert feed is not None, "the app wires a live feed into every context"
    return feed


def closer_of(info: Info[Context, Any]) -> Callable[[str], None]:
    """Close this subscriber's connection with the reason, now (its sender may be stuck)."""
    if info.context.on_too_slow is not None:
        return info.context.on_too_slow
    websocket = info.context.response

    def close(reason: str) -> None:
        task = asyncio.ensure_future(websocket.close(code=TOO_SLOW_CLOSE_CODE, reason=reason))
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    return close

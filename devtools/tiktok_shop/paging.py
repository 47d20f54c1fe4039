"""Search pages by opaque token: a keyset on (sort field, id), stable while items change."""

from __future__ import annotations

import base64
import json
from typing import Any

from devtools.tiktok_shop import codes
from devtools.tiktok_shop.orders import Refused


def page(
    items: list[dict[str, Any]],
    *,
    sort_field: str,
    sort_order: str,
    id_field: str,
    page_size: int,
    page_token: str,
) -> tuple[list[dict[str, Any]], str]:
    """One page by keyset on (sort_field, id): stable while items change between pages."""
    descending = sort_order.upper() == "DESC"
    items = sorted(items, key=lambda i: (i[sort_field], i[id_field]), reverse=descending)
    if page_token:
        try:
            after = json.loads(base64.urlsafe_b64decode(page_token.encode()))
            after_key = (int(after[0]), str(after[1]))
        except (ValueError, TypeError, IndexError) as exc:
            raise Refused(codes.INVALID_PARAMETER, "Invalid page_token") from exc
        items = [
            i
            for i in items
            if ((i[sort_field], i[id_field]) < after_key) == descending
            and (i[sort_field], i[id_field]) != after_key
        ]
    chunk = items[:page_size]
    token = ""
    if len(items) > page_size:
        last = chunk[-1]
        token = base64.urlsafe_b64encode(
            json.dumps([last[sort_field], last[id_field]]).encode()
        ).decode()
    return chunk, token

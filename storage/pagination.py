"""Keyset (cursor) pagination: the cursor holds the last row's sort key and `_id`.

Unlike offsets, a page stays correct while requests move between tabs, and each page costs the
same however deep the client goes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from models.errors import ValidationFailed
from storage.mongo import Session

Doc = dict[str, Any]
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class SortOrder:
    name: str
    field: str
    direction: int  # 1 ascending, -1 descending

    @property
    def spec(self) -> list[tuple[str, int]]:
        return [(self.field, self.direction), ("_id", self.direction)]


@dataclass(frozen=True)
class Page:
    docs: list[Doc]
    has_next: bool
    cursors: list[str]


def _encode_value(value: Any) -> Any:
    return {"$dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    return value


def encode_cursor(sort: SortOrder, doc: Doc) -> str:
    raw = json.dumps([sort.name, _encode_value(doc[sort.field]), doc["_id"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: SortOrder, cursor: str) -> tuple[Any, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value = _decode_value(value)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            "the cursor is not one this service gave out", field="after"
        ) from exc
    if name != sort.name:
        raise ValidationFailed(
            f"the cursor belongs to sort {name}, not {sort.name}; start again without it",
            field="after",
        )
    return value, last_id


def check_page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}", field="first")


async def fetch_page(
    collection: AsyncCollection,
    query: Doc,
    sort: SortOrder,
    first: int,
    after: str | None,
    session: Session | None = None,
) -> Page:
    check_page_size(first)
    if after:
        value, last_id = decode_cursor(sort, after)
        op = "$gt" if sort.direction == 1 else "$lt"
        beyond = {"$or": [{sort.field: {op: value}}, {sort.field: value, "_id": {op: last_id}}]}
        query = {"$and": [query, beyond]}
    docs = (
        await collection.find(query, session=session).sort(sort.spec).limit(first + 1).to_list(None)
    )
    has_next = len(docs) > first
    docs = docs[:first]
    return Page(docs, has_next, [encode_cursor(sort, d) for d in docs])

"""A least-recently-used cache bounded in entries and in bytes, and what a document costs.

A cache keyed by what a caller sends (a query text, a parsed document) held by entries alone
lets a caller choose how big each entry is: 512 parses of 64 KiB documents are gigabytes. Here
every entry says what it costs, and the least recently used go until both bounds hold.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from graphql import DocumentNode

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# What a parsed document holds per token (its nodes, and the token list its locations keep):
# 337 to 559 bytes for the shapes benchmarks/parse_memory.py parses; rounded up.
BYTES_PER_TOKEN = 700


class BoundedCache(Generic[K, V]):
    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, cost: int) -> None:
        """Keep `value` (unless it alone costs more than the whole budget)."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        if cost > self.max_bytes:
            return
        self._entries[key] = (value, cost)
        self.bytes += cost
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0


def text_bytes(*texts: str | None) -> int:
    """What keeping these strings costs, about (a key's text and the entry's own overhead)."""
    return 200 + sum(len(t) for t in texts if t)


def document_bytes(document: DocumentNode, source: str | None = None) -> int:
    """What keeping a parsed document costs, about: its tokens (counted along the token list
    its location keeps, once per parse) and its source text."""
    tokens = 0
    loc = document.loc
    token = loc.start_token if loc is not None else None
    while token is not None:
        tokens += 1
        token = token.next
    if loc is None and source:
        tokens = len(source) // 2  # no token list kept: at most one token per two characters
    return tokens * BYTES_PER_TOKEN + text_bytes(source)

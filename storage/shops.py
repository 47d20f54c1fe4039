"""The shop an order or a request belongs to, known before its transaction starts.

A shop's writes queue in the process (storage/mongo.py SerialLocks) before their transactions
start; a buyer's or the platform's call names an order or a request, not a shop, so the shop is
read first (by `_id`, only the shop field). A document never changes shop, so answers are kept,
at most CACHE_LIMIT of them per database object (the oldest go first).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterable

from pymongo.asynchronous.collection import AsyncCollection

from storage.mongo import Database, find_in

CACHE_LIMIT = 20_000

_caches: weakref.WeakKeyDictionary[Database, OrderedDict[tuple[str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def remember(db: Database, collection: AsyncCollection, found: Iterable[tuple[str, str]]) -> None:
    """Keep the shops of documents read anyway (id, shop), so a later `shops_of` needs no read:
    the deadline worker's scan reads each due document's shop with its deadline."""
    cache = _caches.setdefault(db, OrderedDict())
    for doc_id, shop_id in found:
        cache[collection.name, doc_id] = shop_id
    while len(cache) > CACHE_LIMIT:
        cache.popitem(last=False)


async def shops_of(db: Database, collection: AsyncCollection, ids: Iterable[str]) -> list[str]:
    """The shops of these documents of `collection`, sorted, each once (unknown ids: none)."""
    cache = _caches.setdefault(db, OrderedDict())
    wanted = sorted(set(ids))
    shops = {cache[collection.name, i] for i in wanted if (collection.name, i) in cache}
    missing = [i for i in wanted if (collection.name, i) not in cache]
    if missing:
        for doc in await find_in(collection, "_id", missing, projection={"shop_id": 1}):
            cache[collection.name, doc["_id"]] = doc["shop_id"]
            shops.add(doc["shop_id"])
        while len(cache) > CACHE_LIMIT:
            cache.popitem(last=False)
    return sorted(shops)


async def shop_of(db: Database, collection: AsyncCollection, doc_id: str) -> list[str]:
    """The shop of one document, as a list for `Database.transaction(serial=...)`."""
    return await shops_of(db, collection, [doc_id])

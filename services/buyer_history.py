"""A buyer's earlier requests to a shop, every kind counted (H2: a rule's `buyer_requests_over`
condition): one index-backed count per request collection."""

from __future__ import annotations

from datetime import datetime

from models.access import Scope
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage.mongo import Database
from storage.request_store import RequestFilter

STORES = (cancellation_store.REQUESTS, after_sale_store.REQUESTS)


async def requests_of_buyer(
    db: Database, shop_id: str, buyer_id: str, since: datetime, before: datetime
) -> int:
    """The buyer's requests to the shop requested in [since, before): each kind's count on its
    `shop_buyer` index (equality on shop, buyer and ALL, one range on the time key)."""
    f = RequestFilter(buyer_id=buyer_id, created_from=since, created_to=before)
    return sum([await s.count(db, Scope(shop_id=shop_id), None, f) for s in STORES])

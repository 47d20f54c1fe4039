"""A buyer's earlier requests to a shop, every kind counted (H2: a rule's `buyer_requests_over`
condition): one index-backed count per request collection."""

from __future__ import annotations

from datetime import datetime

from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage.mongo import Database

STORES = (cancellation_store.REQUESTS, after_sale_store.REQUESTS)


async def requests_of_buyer(
    db: Database, shop_id: str, buyer_id: str, since: datetime, before: datetime
) -> int:
    """The buyer's requests to the shop requested in [since, before)."""
    return sum([await s.count_for_buyer(db, shop_id, buyer_id, since, before) for s in STORES])

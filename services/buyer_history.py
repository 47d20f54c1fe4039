"""A buyer's earlier requests to a shop, every kind counted (H2: a rule's `buyer_requests_over`
condition): one index-backed count per request collection."""

from __future__ import annotations

from datetime import datetime

from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage.mongo import Database

COUNTERS = (cancellation_store.count_for_buyer, after_sale_store.count_for_buyer)


async def requests_of_buyer(
    db: Database, shop_id: str, buyer_id: str, since: datetime, before: datetime
) -> int:
    """The buyer's requests to the shop requested in [since, before)."""
    return sum([await count(db, shop_id, buyer_id, since, before) for count in COUNTERS])

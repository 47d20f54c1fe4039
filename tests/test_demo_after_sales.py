"""The demo data puts after-sale requests in every tab of both shops, with counters that match."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from services.after_sales import SECTION
from services.demo_data import SHOPS, load_demo_data
from storage import tab_counts
from storage.indexes import ensure_indexes
from storage.mongo import connect


async def test_demo_data_has_after_sales_in_every_tab(mongodb_uri: str) -> None:
    db = connect(mongodb_uri, f"demo_{uuid.uuid4().hex[:10]}")
    try:
        await ensure_indexes(db)
        summary = await load_demo_data(db, datetime.now(UTC).replace(microsecond=0))
        assert summary is not None and summary.after_sales == 22
        docs = await db.after_sales.find({}, {"shop_id": 1, "tabs": 1}).to_list(None)
        for shop_id in SHOPS:
            tabs = Counter(d["tabs"][1] for d in docs if d["shop_id"] == shop_id)
            assert set(tabs) == {"TO_PROCEED", "IN_PROCESS", "COMPLETED", "CLOSED"}
            stored = await tab_counts.read(db, shop_id, SECTION)
            assert {k: v for k, v in stored.items() if v} == dict(tabs)
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()

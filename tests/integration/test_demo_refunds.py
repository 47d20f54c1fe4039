"""The demo data shows refunds in every state: shop-1's payment system settled most of its
refunds through the intake, failed one and has two pending; shop-2, with no payment system,
had the platform pay each refund when it was decided."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from services.demo_data import load_demo_data
from storage import refunds as refund_store
from storage.indexes import ensure_indexes
from storage.mongo import connect


async def test_demo_refunds_are_pending_failed_and_settled_through_the_intake(
    mongodb_uri: str,
) -> None:
    db = connect(mongodb_uri, f"demo_{uuid.uuid4().hex[:10]}")
    try:
        await ensure_indexes(db)
        await load_demo_data(db, datetime.now(UTC).replace(microsecond=0))
        shop_1 = await refund_store.in_shop(db, "shop-1", None, 100)
        shop_2 = await refund_store.in_shop(db, "shop-2", None, 100)
        by = Counter((r.state.value, r.settled_by.value if r.settled_by else None) for r in shop_1)
        assert by[("INSTRUCTED", None)] == 2
        assert by[("FAILED", "PAYMENT_SYSTEM")] == 1
        assert by[("SETTLED", "PAYMENT_SYSTEM")] >= 3
        assert set(by) == {
            ("INSTRUCTED", None),
            ("FAILED", "PAYMENT_SYSTEM"),
            ("SETTLED", "PAYMENT_SYSTEM"),
        }
        assert shop_2 and {(r.state.value, r.settled_by) for r in shop_2} == {
            ("SETTLED", refund_store.SettledBy.PLATFORM)
        }
        # Every refund has its request: one refund per request that paid something.
        assert len({r.request_id for r in shop_1}) == len(shop_1)
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()

"""Two readers of TikTok record the same new mirror at once (two inbox workers, or a worker and
the reconciler, on a duplicated or a following webhook of one request): each gets the mirror
back, and the newer view stays."""

from __future__ import annotations

import asyncio

from storage import tiktok_requests as mirrors
from storage.mongo import Database


async def test_h4_two_readers_recording_the_same_new_mirror_both_get_it_back(
    db: Database, shop_id: str
) -> None:
    # Many pairs: which of two upserts loses the race for a new document is up to the server.
    for n in range(40):
        tiktok_id = f"58{n:015d}"
        newer = {"tiktok_status": "CANCELLATION_REQUEST_COMPLETE", "update_time": 20}
        older = {"tiktok_status": "CANCELLATION_REQUEST_PENDING", "update_time": 10}
        got = await asyncio.gather(
            mirrors.record(db, "cancellation", shop_id, tiktok_id, dict(newer)),
            mirrors.record(db, "cancellation", shop_id, tiktok_id, dict(newer)),
            mirrors.record(db, "cancellation", shop_id, tiktok_id, dict(older)),
        )
        assert all(m.tiktok_id == tiktok_id for m in got)
        kept = await mirrors.get(db, shop_id, "cancellation", tiktok_id)
        assert kept is not None and kept.update_time == 20
        assert kept.tiktok_status == "CANCELLATION_REQUEST_COMPLETE"

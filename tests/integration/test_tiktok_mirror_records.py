"""A batch's mirrors recorded together keep the newest view of each TikTok request, as one
recorded alone does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import tiktok_requests as mirrors
from storage.mongo import Database
from tests.support.webhook_delivery import own_database


@pytest.fixture
async def mirror_db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        yield database


async def test_recording_a_batch_keeps_the_newest_view_of_each_request(
    mirror_db: Database,
) -> None:
    await mirrors.record(mirror_db, "cancellation", "shop-1", "c1", _view("CANCELLED", 200))
    await mirrors.record(mirror_db, "cancellation", "shop-1", "c2", _view("PENDING", 100))

    recorded = await mirrors.record_many(
        mirror_db,
        "cancellation",
        "shop-1",
        [
            ("c1", _view("PENDING", 100)),  # older than the one recorded: changes nothing
            ("c2", _view("CANCELLED", 150)),  # newer: recorded
            ("c3", _view("PENDING", 120)),  # new
        ],
    )

    assert {t: (m.status, m.update_time) for t, m in recorded.items()} == {
        "c1": ("CANCELLED", 200),
        "c2": ("CANCELLED", 150),
        "c3": ("PENDING", 120),
    }
    stored = await mirrors.for_shop(mirror_db, "shop-1")
    assert [(m.tiktok_id, m.status) for m in stored] == [
        ("c1", "CANCELLED"),
        ("c2", "CANCELLED"),
        ("c3", "PENDING"),
    ]


def _view(status: str, update_time: int) -> dict[str, object]:
    return {"status": status, "tiktok_status": f"TT_{status}", "update_time": update_time}

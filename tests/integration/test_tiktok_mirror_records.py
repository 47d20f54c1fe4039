"""A batch's mirrors recorded together keep the newest view of each TikTok request, as one
recorded alone does; the mirrors' indexes are each used by a query, and sparse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from storage import tiktok_requests as mirrors
from storage.mongo import Database
from tests.support.statements import recorded_database
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


async def test_a_batch_inserts_the_mirrors_it_read_as_absent_and_keeps_one_made_meanwhile(
    mirror_db: Database,
) -> None:
    # Made by another reader after this batch read c1 as absent, with a newer view.
    await mirrors.record(mirror_db, "cancellation", "shop-1", "c1", _view("CANCELLED", 200))

    recorded = await mirrors.record_many(
        mirror_db,
        "cancellation",
        "shop-1",
        [("c1", _view("PENDING", 100)), ("c2", _view("PENDING", 120) | {"deadline": None})],
        absent=frozenset({"c1", "c2"}),
    )

    assert {t: (m.status, m.update_time) for t, m in recorded.items()} == {
        "c1": ("CANCELLED", 200),
        "c2": ("PENDING", 120),
    }
    # No deadline shown: the field is left out, so the sparse deadline index holds no entry.
    stored = await mirrors.collection(mirror_db).find_one({"_id": "shop-1/cancellation:c2"})
    assert stored is not None and "deadline" not in stored


async def test_a_batch_of_new_mirrors_is_recorded_with_one_insert_and_not_read_back(
    mongodb_uri: str,
) -> None:
    async with recorded_database(mongodb_uri) as (db, statements):
        await mirrors.prepare(db)
        statements.sent.clear()
        views = [("c1", _view("PENDING", 100)), ("c2", _view("PENDING", 120))]

        recorded = await mirrors.record_many(
            db, "cancellation", "shop-1", views, absent=frozenset({"c1", "c2"})
        )

        assert [(s.command, s.collection) for s in statements.sent] == [
            ("insert", "tiktok_requests")
        ]
        stored = {m.tiktok_id: m for m in await mirrors.for_shop(db, "shop-1")}
        assert recorded == stored


async def test_a_deadline_tiktok_no_longer_shows_is_unset_not_null(mirror_db: Database) -> None:
    await mirrors.record(
        mirror_db, "return", "shop-1", "r1", _view("PENDING", 100) | {"deadline": 9}
    )
    await mirrors.record(
        mirror_db, "return", "shop-1", "r1", _view("REFUNDED", 110) | {"deadline": None}
    )

    stored = await mirrors.collection(mirror_db).find_one({"_id": "shop-1/return:r1"})
    assert stored is not None and "deadline" not in stored


async def test_every_query_of_the_mirrors_is_served_by_an_index(mirror_db: Database) -> None:
    await mirrors.prepare(mirror_db)
    now = datetime(2026, 12, 7, tzinfo=UTC)
    for query, index in [
        (mirrors.due_query(now), "outbox_due"),
        (mirrors.sent_query(), "outbox_due"),
        (mirrors.deadline_query(0, 100), "deadline"),
        ({"local_id": "can_1"}, "local"),
        ({"local_id": {"$in": ["can_1", "can_2"]}}, "local"),
    ]:
        explained = await mirror_db.db.command(
            "explain", {"find": "tiktok_requests", "filter": query}, verbosity="queryPlanner"
        )
        assert _index_of(explained["queryPlanner"]["winningPlan"]) == index, query


def _index_of(plan: dict[str, Any]) -> str | None:
    if plan.get("stage") == "IXSCAN":
        return str(plan.get("indexName"))
    child = plan.get("inputStage")
    return _index_of(child) if child else None

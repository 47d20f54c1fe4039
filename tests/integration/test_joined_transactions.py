"""`Database.together`: the transactions a batch's parts run join one, so the parts commit
together, or none of them does when one raises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

import pytest

from storage.mongo import Database, Session
from tests.support.webhook_delivery import own_database


@pytest.fixture
async def joint_db(mongodb_uri: str) -> AsyncIterator[Database]:
    async with own_database(mongodb_uri) as database:
        yield database


def _insert(db: Database, ident: str) -> Awaitable[str]:
    async def work(session: Session) -> str:
        await db.db["parts"].insert_one({"_id": ident}, session=session)
        return ident

    return db.transaction(work, serial="shop-1")


async def _stored(db: Database) -> list[str]:
    return [d["_id"] async for d in db.db["parts"].find().sort("_id", 1)]


async def test_parts_run_together_commit_in_one_transaction(joint_db: Database) -> None:
    seen_inside: list[list[str]] = []

    async def parts() -> list[str]:
        done = [await _insert(joint_db, "a"), await _insert(joint_db, "b")]
        seen_inside.append(await _stored(joint_db))  # outside the transaction: not yet
        return done

    assert await joint_db.together(parts, serial="shop-1") == ["a", "b"]
    assert seen_inside == [[]]
    assert await _stored(joint_db) == ["a", "b"]


async def test_a_part_that_raises_leaves_none_of_the_parts_written(joint_db: Database) -> None:
    async def parts() -> None:
        await _insert(joint_db, "a")
        await _insert(joint_db, "b")
        raise LookupError("the third part fails")

    with pytest.raises(LookupError):
        await joint_db.together(parts, serial="shop-1")
    assert await _stored(joint_db) == []
    assert len(joint_db.serial) == 0  # the shop's queue is free again

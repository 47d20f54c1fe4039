"""New documents the parts of a batch (`Database.together`) insert go in one statement a
collection at the batch's commit, and what they read that none writes is read once for the
batch; a transaction on its own inserts and reads at once. A document the batch inserts is read
by id as it waits, and a part's update of it is made in its insert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import UpdateOne

from storage import policies
from storage.batch_writes import (
    find_by_ids,
    fold_at_commit,
    insert_at_commit,
    read_ahead,
    update_at_commit,
)
from storage.mongo import Database, Session
from tests.support.statements import Statements, recorded_database


@pytest.fixture
async def watched(mongodb_uri: str) -> AsyncIterator[tuple[Database, Statements]]:
    async with recorded_database(mongodb_uri) as recorded:
        yield recorded


def _inserted(statements: Statements) -> list[str]:
    return [s.collection for s in statements.of("insert")]


async def _part(db: Database, ident: str) -> None:
    async def work(session: Session) -> None:
        for name in ("parts", "keys"):
            docs = [{"_id": ident}]
            if not insert_at_commit(db, db.db[name], docs, session):
                await db.db[name].insert_many(docs, session=session)

    await db.transaction(work, serial="shop-1")


async def test_a_batchs_new_documents_are_inserted_once_a_collection_at_its_commit(
    watched: tuple[Database, Statements],
) -> None:
    db, inserts = watched

    async def parts() -> None:
        for ident in ("a", "b", "c"):
            await _part(db, ident)

    await db.together(parts, serial="shop-1")

    assert sorted(_inserted(inserts)) == ["keys", "parts"]
    assert [d["_id"] async for d in db.db["parts"].find().sort("_id", 1)] == ["a", "b", "c"]


async def test_a_transaction_on_its_own_inserts_at_once(
    watched: tuple[Database, Statements],
) -> None:
    db, inserts = watched

    await _part(db, "a")
    await _part(db, "b")

    assert _inserted(inserts) == ["parts", "keys", "parts", "keys"]


async def test_a_batch_that_raises_inserts_nothing(watched: tuple[Database, Statements]) -> None:
    db, _ = watched

    async def parts() -> None:
        await _part(db, "a")
        raise LookupError("the second part fails")

    with pytest.raises(LookupError):
        await db.together(parts, serial="shop-1")
    assert await db.db["parts"].count_documents({}) == 0


async def test_a_batch_reads_the_category_policies_once_for_all_its_parts(
    watched: tuple[Database, Statements],
) -> None:
    db, inserts = watched

    async def part(session: Session) -> None:
        await policies.book_for(db, ["electronics"], session)

    async def parts() -> None:
        for _ in range(3):
            await db.transaction(part, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert len(inserts.of("find")) == 1
    await db.transaction(part, serial="shop-1")
    await db.transaction(part, serial="shop-1")
    assert len(inserts.of("find")) == 3  # on their own: each reads


async def test_a_batch_reads_its_parts_documents_ahead_with_one_statement(
    watched: tuple[Database, Statements],
) -> None:
    db, inserts = watched
    await db.db["parts"].insert_many([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}])
    inserts.sent.clear()
    read: list[list[dict[str, object]]] = []

    async def part(ident: str) -> None:
        async def work(session: Session) -> None:
            read.append(await find_by_ids(db.db["parts"], [ident], session))

        await db.transaction(work, serial="shop-1")

    async def parts() -> None:
        await read_ahead(db, db.db["parts"], ["a", "b", "c"])
        for ident in ("a", "b", "c"):
            await part(ident)

    await db.together(parts, serial="shop-1")
    assert read == [[{"_id": "a", "n": 1}], [{"_id": "b", "n": 2}], []]
    assert len(inserts.of("find")) == 1


async def test_a_document_read_ahead_is_handed_once_then_read_with_the_batchs_writes(
    watched: tuple[Database, Statements],
) -> None:
    db, inserts = watched
    await db.db["parts"].insert_one({"_id": "a", "n": 1})
    inserts.sent.clear()
    seen: list[int] = []

    async def part(session: Session) -> None:
        seen.append((await find_by_ids(db.db["parts"], ["a"], session))[0]["n"])
        await db.db["parts"].update_one({"_id": "a"}, {"$inc": {"n": 1}}, session=session)

    async def parts() -> None:
        await read_ahead(db, db.db["parts"], ["a"])
        await db.transaction(part, serial="shop-1")
        await db.transaction(part, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert seen == [1, 2]  # the second read is the database's, after the first part's write
    assert len(inserts.of("find")) == 2


async def test_outside_a_batch_nothing_is_read_ahead(watched: tuple[Database, Statements]) -> None:
    db, inserts = watched

    await read_ahead(db, db.db["parts"], ["a"])

    assert len(inserts.of("find")) == 0


async def _bump(db: Database, ident: str, session: Session) -> None:
    """A part's write of a document it read: at the batch's commit if it may wait, else now."""
    op = UpdateOne({"_id": ident}, {"$inc": {"n": 1}})
    if not update_at_commit(db.db["parts"], [(ident, op)], session):
        await db.db["parts"].bulk_write([op], session=session)


async def test_updates_of_documents_read_ahead_are_written_in_one_statement_at_the_commit(
    watched: tuple[Database, Statements],
) -> None:
    db, inserts = watched
    await db.db["parts"].insert_many([{"_id": "a", "n": 1}, {"_id": "b", "n": 1}])

    async def part(ident: str) -> None:
        async def work(session: Session) -> None:
            await find_by_ids(db.db["parts"], [ident], session)
            await _bump(db, ident, session)

        await db.transaction(work, serial="shop-1")

    async def parts() -> None:
        await read_ahead(db, db.db["parts"], ["a", "b"])
        await part("a")
        await part("b")

    await db.together(parts, serial="shop-1")
    assert len(inserts.of("update")) == 1
    assert [d["n"] async for d in db.db["parts"].find().sort("_id", 1)] == [2, 2]


async def test_a_read_of_a_document_whose_update_waits_for_the_commit_sees_the_update(
    watched: tuple[Database, Statements],
) -> None:
    db, _ = watched
    await db.db["parts"].insert_one({"_id": "a", "n": 1})
    again: list[int] = []

    async def work(session: Session) -> None:
        await find_by_ids(db.db["parts"], ["a"], session)
        await _bump(db, "a", session)
        again.append((await find_by_ids(db.db["parts"], ["a"], session))[0]["n"])

    async def parts() -> None:
        await read_ahead(db, db.db["parts"], ["a"])
        await db.transaction(work, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert again == [2]
    assert (await db.db["parts"].find_one({"_id": "a"}) or {})["n"] == 2


async def test_an_update_of_a_document_not_read_ahead_is_written_at_once(
    watched: tuple[Database, Statements],
) -> None:
    db, inserts = watched
    await db.db["parts"].insert_one({"_id": "a", "n": 1})
    during: list[int] = []

    async def work(session: Session) -> None:
        await _bump(db, "a", session)
        during.append(len(inserts.of("update")))

    async def parts() -> None:
        await db.transaction(work, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert during == [1]


async def _inserted_in_batch(db: Database, session: Session) -> None:
    """A document a part inserts at the batch's commit, read ahead for the next part."""
    assert insert_at_commit(db, db.db["parts"], [{"_id": "a", "n": 1, "log": [1]}], session)
    await read_ahead(db, db.db["parts"], ["a"])


async def test_a_document_the_batch_inserts_is_read_ahead_as_it_waits_and_updated_in_its_insert(
    watched: tuple[Database, Statements],
) -> None:
    db, sent = watched
    read: list[dict[str, Any]] = []

    async def parts() -> None:
        async def work(session: Session) -> None:
            await _inserted_in_batch(db, session)
            read.extend(await find_by_ids(db.db["parts"], ["a"], session))
            update = {"$set": {"n": 2}, "$push": {"log": {"$each": [2]}}}
            assert fold_at_commit(db.db["parts"], [("a", update)], session) == []

        await db.transaction(work, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert read == [{"_id": "a", "n": 1, "log": [1]}]
    assert [(s.command, s.documents) for s in sent.sent if s.collection == "parts"] == [
        ("insert", 1)
    ]
    assert await db.db["parts"].find_one({"_id": "a"}) == {"_id": "a", "n": 2, "log": [1, 2]}


async def test_a_read_by_id_of_a_document_the_batch_inserts_finds_it(
    watched: tuple[Database, Statements],
) -> None:
    db, _ = watched
    found: list[list[dict[str, Any]]] = []

    async def parts() -> None:
        async def work(session: Session) -> None:
            assert insert_at_commit(db, db.db["parts"], [{"_id": "a"}, {"_id": "b"}], session)
            found.append(await find_by_ids(db.db["parts"], ["b"], session))

        await db.transaction(work, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert found == [[{"_id": "b"}]]
    assert await db.db["parts"].count_documents({}) == 2


async def test_an_update_the_waiting_insert_cannot_take_is_written_after_it(
    watched: tuple[Database, Statements],
) -> None:
    db, _ = watched

    async def parts() -> None:
        async def work(session: Session) -> None:
            await read_ahead(db, db.db["parts"], [])  # its updates are written first at the commit
            await _inserted_in_batch(db, session)
            await find_by_ids(db.db["parts"], ["a"], session)
            bump = ("a", {"$inc": {"n": 1}})
            assert fold_at_commit(db.db["parts"], [bump], session) == [bump]
            await _bump(db, "a", session)

        await db.transaction(work, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert (await db.db["parts"].find_one({"_id": "a"}) or {})["n"] == 2


async def test_ids_known_absent_are_read_ahead_as_absent_with_no_statement(
    watched: tuple[Database, Statements],
) -> None:
    db, sent = watched
    found: list[list[dict[str, Any]]] = []

    async def parts() -> None:
        async def work(session: Session) -> None:
            await read_ahead(db, db.db["parts"], ["a"], absent={"a"})
            found.append(await find_by_ids(db.db["parts"], ["a"], session))

        await db.transaction(work, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert found == [[]]
    assert sent.of("find") == []

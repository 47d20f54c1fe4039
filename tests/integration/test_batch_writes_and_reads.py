"""New documents the parts of a batch (`Database.together`) insert go in one statement a
collection at the batch's commit, and what they read that none writes is read once for the
batch; a transaction on its own inserts and reads at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from pymongo import UpdateOne, monitoring

from storage import policies
from storage.mongo import (
    Database,
    Session,
    connect,
    find_by_ids,
    insert_at_commit,
    read_ahead,
    update_at_commit,
)


class Inserts(monitoring.CommandListener):
    def __init__(self) -> None:
        self.collections: list[str] = []
        self.finds = 0
        self.updates = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "insert":
            self.collections.append(str(event.command["insert"]))
        self.finds += event.command_name == "find"
        self.updates += event.command_name == "update"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def watched(mongodb_uri: str) -> AsyncIterator[tuple[Database, Inserts]]:
    inserts = Inserts()
    database = connect(mongodb_uri, f"batch_{uuid.uuid4().hex[:12]}", event_listeners=[inserts])
    try:
        yield database, inserts
    finally:
        await database.client.drop_database(database.db.name)
        await database.close()


async def _part(db: Database, ident: str) -> None:
    async def work(session: Session) -> None:
        for name in ("parts", "keys"):
            docs = [{"_id": ident}]
            if not insert_at_commit(db, db.db[name], docs, session):
                await db.db[name].insert_many(docs, session=session)

    await db.transaction(work, serial="shop-1")


async def test_a_batchs_new_documents_are_inserted_once_a_collection_at_its_commit(
    watched: tuple[Database, Inserts],
) -> None:
    db, inserts = watched

    async def parts() -> None:
        for ident in ("a", "b", "c"):
            await _part(db, ident)

    await db.together(parts, serial="shop-1")

    assert sorted(inserts.collections) == ["keys", "parts"]
    assert [d["_id"] async for d in db.db["parts"].find().sort("_id", 1)] == ["a", "b", "c"]


async def test_a_transaction_on_its_own_inserts_at_once(watched: tuple[Database, Inserts]) -> None:
    db, inserts = watched

    await _part(db, "a")
    await _part(db, "b")

    assert inserts.collections == ["parts", "keys", "parts", "keys"]


async def test_a_batch_that_raises_inserts_nothing(watched: tuple[Database, Inserts]) -> None:
    db, _ = watched

    async def parts() -> None:
        await _part(db, "a")
        raise LookupError("the second part fails")

    with pytest.raises(LookupError):
        await db.together(parts, serial="shop-1")
    assert await db.db["parts"].count_documents({}) == 0


async def test_a_batch_reads_the_category_policies_once_for_all_its_parts(
    watched: tuple[Database, Inserts],
) -> None:
    db, inserts = watched

    async def part(session: Session) -> None:
        await policies.book_for(db, ["electronics"], session)

    async def parts() -> None:
        for _ in range(3):
            await db.transaction(part, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert inserts.finds == 1
    await db.transaction(part, serial="shop-1")
    await db.transaction(part, serial="shop-1")
    assert inserts.finds == 3  # on their own: each reads


async def test_a_batch_reads_its_parts_documents_ahead_with_one_statement(
    watched: tuple[Database, Inserts],
) -> None:
    db, inserts = watched
    await db.db["parts"].insert_many([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}])
    inserts.finds = 0
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
    assert inserts.finds == 1


async def test_a_document_read_ahead_is_handed_once_then_read_with_the_batchs_writes(
    watched: tuple[Database, Inserts],
) -> None:
    db, inserts = watched
    await db.db["parts"].insert_one({"_id": "a", "n": 1})
    inserts.finds = 0
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
    assert inserts.finds == 2


async def test_outside_a_batch_nothing_is_read_ahead(watched: tuple[Database, Inserts]) -> None:
    db, inserts = watched

    await read_ahead(db, db.db["parts"], ["a"])

    assert inserts.finds == 0


async def _bump(db: Database, ident: str, session: Session) -> None:
    """A part's write of a document it read: at the batch's commit if it may wait, else now."""
    op = UpdateOne({"_id": ident}, {"$inc": {"n": 1}})
    if not update_at_commit(db.db["parts"], [(ident, op)], session):
        await db.db["parts"].bulk_write([op], session=session)


async def test_updates_of_documents_read_ahead_are_written_in_one_statement_at_the_commit(
    watched: tuple[Database, Inserts],
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
    assert inserts.updates == 1
    assert [d["n"] async for d in db.db["parts"].find().sort("_id", 1)] == [2, 2]


async def test_a_read_of_a_document_whose_update_waits_for_the_commit_sees_the_update(
    watched: tuple[Database, Inserts],
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
    watched: tuple[Database, Inserts],
) -> None:
    db, inserts = watched
    await db.db["parts"].insert_one({"_id": "a", "n": 1})
    during: list[int] = []

    async def work(session: Session) -> None:
        await _bump(db, "a", session)
        during.append(inserts.updates)

    async def parts() -> None:
        await db.transaction(work, serial="shop-1")

    await db.together(parts, serial="shop-1")
    assert during == [1]

"""E1 evidence: one document per file in `evidence` (who, which order, which step), the bytes in
GridFS (bucket `evidence`: `evidence.files`, `evidence.chunks`).

The bytes are written and read chunk by chunk in GridFS's own layout (`ChunkWriter`,
`read_range`) rather than through AsyncGridIn / AsyncGridOut: AsyncGridIn keeps a file's chunks
until it has 48 MB (pymongo's upload buffer) before one insert_many, and AsyncGridOut's chunk
cursor fetches 101 chunks (25 MB) per batch, so both held about the whole of a 10 MB video
(benchmarks/evidence.py). The files stay readable and deletable by AsyncGridFSBucket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import Binary, ObjectId
from gridfs import DEFAULT_CHUNK_SIZE, AsyncGridFSBucket, NoFile
from pymongo import ASCENDING as ASC
from pymongo import IndexModel

from models.actors import ActorKind
from models.evidence import EvidenceKind, EvidenceStatus, EvidenceStep, Upload
from storage.batch_writes import find_by_ids
from storage.mongo import Database, Session, find_in

COLLECTION = "evidence"
BUCKET = "evidence"

EVIDENCE_INDEXES = [
    # A page's requests' files, in upload order (the `evidence` field's batch read).
    IndexModel([("request_id", ASC), ("uploaded_at", ASC)], name="request_uploaded"),
    # A caller's uploads in the budget window.
    IndexModel([("uploader", ASC), ("uploaded_at", ASC)], name="uploader_uploaded"),
    # The sweep of pending uploads past their expiry.
    IndexModel([("status", ASC), ("expires_at", ASC)], name="status_expires"),
]


# GridFS's own indexes (what AsyncGridFSBucket creates before its first write).
GRIDFS_CHUNK_INDEXES = [
    IndexModel([("files_id", ASC), ("n", ASC)], name="files_id_1_n_1", unique=True)
]
GRIDFS_FILE_INDEXES = [
    IndexModel([("filename", ASC), ("uploadDate", ASC)], name="filename_1_uploadDate_1")
]
# Chunks an upload inserts at once (about 1 MB; one more batch may be in flight).
WRITE_BATCH_CHUNKS = 4
# Chunks a download reads per round trip: memory stays about 1 MB whatever the file's size.
READ_BATCH_CHUNKS = 4


class ChunkWriter:
    """One GridFS file written as it streams: every WRITE_BATCH_CHUNKS full chunks go to the
    database in one insert, which runs while the next batch arrives (at most one in flight)."""

    def __init__(self, db: Database, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.db = db
        self.file_id = ObjectId()
        self.chunk_size = chunk_size
        self.length = 0
        self._n = 0
        self._pending = bytearray()
        self._batch: list[dict[str, Any]] = []
        self._inflight: asyncio.Task[Any] | None = None

    async def write(self, data: bytes) -> None:
        self._pending += data
        self.length += len(data)
        while len(self._pending) >= self.chunk_size:
            self._chunk(bytes(self._pending[: self.chunk_size]))
            del self._pending[: self.chunk_size]
            if len(self._batch) >= WRITE_BATCH_CHUNKS:
                await self._send()

    def _chunk(self, data: bytes) -> None:
        self._batch.append({"files_id": self.file_id, "n": self._n, "data": Binary(data)})
        self._n += 1

    async def _send(self) -> None:
        await self._settle()
        batch, self._batch = self._batch, []
        if batch:
            chunks = self.db.db[f"{BUCKET}.chunks"]
            self._inflight = asyncio.ensure_future(chunks.insert_many(batch, ordered=True))

    async def _settle(self) -> None:
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            await inflight

    async def close(self, filename: str, metadata: dict[str, Any], at: datetime) -> None:
        """The last chunks, then the file document: a file exists only once it is whole."""
        if self._pending:
            self._chunk(bytes(self._pending))
            self._pending.clear()
        await self._send()
        await self._settle()
        await self.db.db[f"{BUCKET}.files"].insert_one(
            {
                "_id": self.file_id,
                "length": self.length,
                "chunkSize": self.chunk_size,
                "uploadDate": at,
                "filename": filename,
                "metadata": metadata,
            }
        )

    async def abort(self) -> None:
        if self._inflight is not None:
            with contextlib.suppress(Exception):
                await self._inflight
            self._inflight = None
        await self.db.db[f"{BUCKET}.chunks"].delete_many({"files_id": self.file_id})


async def read_range(db: Database, file_id: Any, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes `start` to `end` (inclusive) of a GridFS file, a chunk at a time."""
    meta = await db.db[f"{BUCKET}.files"].find_one({"_id": file_id}, {"chunkSize": 1})
    if meta is None:
        raise NoFile(f"no file {file_id}")
    size = meta["chunkSize"]
    first, last = start // size, end // size
    cursor = (
        db.db[f"{BUCKET}.chunks"]
        .find({"files_id": file_id, "n": {"$gte": first, "$lte": last}})
        .sort("n", ASC)
        .batch_size(READ_BATCH_CHUNKS)
    )
    expected = first
    async for chunk in cursor:
        if chunk["n"] != expected:
            raise NoFile(f"file {file_id} lacks chunk {expected}")
        data = bytes(chunk["data"])
        lo = start - chunk["n"] * size if chunk["n"] == first else 0
        hi = end - chunk["n"] * size + 1 if chunk["n"] == last else len(data)
        expected += 1
        yield data[lo:hi]
    if expected != last + 1:
        raise NoFile(f"file {file_id} lacks chunk {expected}")


@dataclass(frozen=True)
class Evidence:
    id: str
    file_id: Any  # the GridFS file's id
    order_id: str
    shop_id: str
    buyer_id: str
    uploader: str  # models.evidence.viewer_key of the uploader
    uploader_kind: ActorKind
    uploader_id: str
    kind: EvidenceKind
    content_type: str
    size: int
    uploaded_at: datetime
    status: EvidenceStatus
    expires_at: datetime | None  # pending only
    request_id: str | None = None
    step: EvidenceStep | None = None

    def upload(self, now: datetime) -> Upload:
        expired = self.expires_at is not None and self.expires_at <= now
        return Upload(self.id, self.uploader, self.order_id, self.kind, self.status, expired)


def bucket(db: Database) -> AsyncGridFSBucket:
    return AsyncGridFSBucket(db.db, bucket_name=BUCKET)


def _to_doc(e: Evidence) -> dict[str, Any]:
    return {
        "_id": e.id,
        "file_id": e.file_id,
        "order_id": e.order_id,
        "shop_id": e.shop_id,
        "buyer_id": e.buyer_id,
        "uploader": e.uploader,
        "uploader_kind": e.uploader_kind.value,
        "uploader_id": e.uploader_id,
        "kind": e.kind.value,
        "content_type": e.content_type,
        "size": e.size,
        "uploaded_at": e.uploaded_at,
        "status": e.status.value,
        "expires_at": e.expires_at,
        "request_id": e.request_id,
        "step": e.step.value if e.step else None,
    }


def _of(doc: dict[str, Any]) -> Evidence:
    return Evidence(
        id=doc["_id"],
        file_id=doc["file_id"],
        order_id=doc["order_id"],
        shop_id=doc["shop_id"],
        buyer_id=doc["buyer_id"],
        uploader=doc["uploader"],
        uploader_kind=ActorKind(doc["uploader_kind"]),
        uploader_id=doc["uploader_id"],
        kind=EvidenceKind(doc["kind"]),
        content_type=doc["content_type"],
        size=doc["size"],
        uploaded_at=doc["uploaded_at"],
        status=EvidenceStatus(doc["status"]),
        expires_at=doc.get("expires_at"),
        request_id=doc.get("request_id"),
        step=EvidenceStep(doc["step"]) if doc.get("step") else None,
    )


async def insert(db: Database, e: Evidence) -> None:
    await db.db[COLLECTION].insert_one(_to_doc(e))


async def get(db: Database, evidence_id: str) -> Evidence | None:
    doc = await db.db[COLLECTION].find_one({"_id": evidence_id})
    return _of(doc) if doc else None


async def get_many(db: Database, ids: Sequence[str], session: Session) -> dict[str, Evidence]:
    return {d["_id"]: _of(d) for d in await find_by_ids(db.db[COLLECTION], ids, session)}


async def attach(
    db: Database, ids: Sequence[str], request_id: str, step: EvidenceStep, session: Session
) -> int:
    """Pending uploads become the step's; the count moved (fewer: someone attached them first)."""
    result = await db.db[COLLECTION].update_many(
        {"_id": {"$in": list(ids)}, "status": EvidenceStatus.PENDING.value},
        {
            "$set": {
                "status": EvidenceStatus.ATTACHED.value,
                "request_id": request_id,
                "step": step.value,
                "expires_at": None,
            }
        },
        session=session,
    )
    return result.modified_count


async def of_requests(db: Database, request_ids: Sequence[str]) -> dict[str, list[Evidence]]:
    """The attached files of each request, in upload order: one read per page of requests."""
    found: dict[str, list[Evidence]] = {r: [] for r in request_ids}
    docs = await find_in(db.db[COLLECTION], "request_id", list(dict.fromkeys(request_ids)))
    for doc in sorted(docs, key=lambda d: (d["uploaded_at"], d["_id"])):
        found[doc["request_id"]].append(_of(doc))
    return found


async def bytes_since(db: Database, uploader: str, since: datetime) -> int:
    """What a caller uploaded since `since`, pending, attached or swept alike."""
    cursor = await db.db[COLLECTION].aggregate(
        [
            {"$match": {"uploader": uploader, "uploaded_at": {"$gte": since}}},
            {"$group": {"_id": None, "n": {"$sum": "$size"}}},
        ]
    )
    rows = await cursor.to_list(None)
    return int(rows[0]["n"]) if rows else 0


async def sweep_expired(db: Database, now: datetime, limit: int) -> int:
    """Drop up to `limit` pending uploads past their expiry, bytes first. The document stays as
    a tombstone (no file, size kept) until the budget window has passed, so an expired upload
    still counts against its uploader's budget."""
    coll = db.db[COLLECTION]
    docs = (
        await coll.find({"status": EvidenceStatus.PENDING.value, "expires_at": {"$lte": now}})
        .limit(limit)
        .to_list(None)
    )
    files = bucket(db)
    for doc in docs:
        if doc.get("file_id") is not None:
            with contextlib.suppress(NoFile):  # another process's sweep deleted it first
                await files.delete(doc["file_id"])
        await coll.update_one(
            {"_id": doc["_id"]},
            {"$set": {"status": EvidenceStatus.EXPIRED.value, "file_id": None, "expires_at": None}},
        )
    return len(docs)


def pending_expiry(now: datetime, ttl_seconds: int) -> datetime:
    return now + timedelta(seconds=ttl_seconds)

"""A video stored and read back through the service, beside a plain GridFS put/get in the same run.

    ./dev run benchmarks.evidence                      # 10 MB, 3 repeats
    ./dev run benchmarks.evidence --mb 10,40 --repeat 3

The service runs as its own process (`python -m api`, a real uvicorn) on a SecantusDB this script
starts (or --mongodb-uri). Through the service: `POST /evidence` with the file streamed from a
generator (no Content-Length), `requestAfterSale` naming it, the request read for its signed URL,
and `GET` of that URL read in chunks. The baseline, in this process on the same database: the
same bytes through `AsyncGridFSBucket.upload_from_stream` and `open_download_stream().read()`.

Printed per size: median wall times (upload, download, both) of each, their ratio, and the
service process's peak resident memory during the transfers above what it held before them
(Linux: /proc/PID/clear_refs resets the peak, /proc/PID/status VmHWM reads it). The bar:
service time <= 1.5 x baseline, and that peak growth the same for every size (constant memory).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from gridfs import AsyncGridFSBucket

from api.embedded_db import MEMORY, EmbeddedDatabase
from api.identity import DEVELOPMENT_SECRET, mint_token
from models.actors import Actor, ActorKind
from models.orders import FulfilmentState
from storage.mongo import Database, connect
from tests.support.factories import place_order
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
BLOCK = 64 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00"
SHOP = "bench-shop"
QUERY = "query($id: ID!) { afterSale(id: $id) { evidence { url size } } }"
REQUEST = """mutation($input: RequestAfterSaleInput!) { requestAfterSale(input: $input) {
  __typename ... on AfterSale { id } ... on UserError { code message } } }"""


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def reset_peak(pid: int) -> int:
    """Resets the process's peak RSS to its current RSS and returns that."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _status(pid, "VmRSS")


def peak(pid: int) -> int:
    return _status(pid, "VmHWM")


async def video(size: int) -> AsyncIterator[bytes]:
    yield MP4_HEAD
    sent = len(MP4_HEAD)
    block = bytes(range(256)) * (BLOCK // 256)
    while sent < size:
        piece = block[: size - sent]
        sent += len(piece)
        yield piece


def start_service(uri: str, port: int, largest: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    env |= {
        "MONGODB_URI": uri,
        "AFTERSALES_DATABASE": "bench_evidence",
        "AFTERSALES_PORT": str(port),
        "AFTERSALES_DEMO_DATA": "false",
        "AFTERSALES_WORKER_ENABLED": "false",
        "AFTERSALES_GRAPHIQL": "false",
        "AFTERSALES_EVIDENCE_MAX_VIDEO_BYTES": str(largest),
        "AFTERSALES_EVIDENCE_BUDGET_BYTES": str(largest * 100),
        "AFTERSALES_RATE_LIMIT_COST": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_ready(http: httpx.AsyncClient) -> None:
    for _ in range(600):
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the service did not start")


async def through_service(
    http: httpx.AsyncClient, db: Database, size: int, pid: int
) -> tuple[float, float, int]:
    """Upload, attach, download; the wall times and the peak RSS growth of the service."""
    order = await place_order(
        db,
        SHOP,
        f"bench-buyer-{time.monotonic_ns()}",
        datetime.now(UTC) - timedelta(days=1),
        state=FulfilmentState.DELIVERED,
    )
    token = mint_token(Actor(ActorKind.BUYER, order.buyer_id), DEVELOPMENT_SECRET)
    auth = {"Authorization": f"Bearer {token}"}
    before = reset_peak(pid)

    started = time.perf_counter()
    response = await http.post(
        "/evidence", params={"orderId": order.id}, content=video(size), headers=auth
    )
    upload_s = time.perf_counter() - started
    assert response.status_code == 201, response.text
    evidence_id = response.json()["id"]

    ask = {
        "orderId": order.id,
        "kind": "REFUND_ONLY",
        "reason": "OTHER",
        "lines": [{"lineId": order.lines[0].line_id, "quantity": 1}],
        "evidenceIds": [evidence_id],
    }
    body = (
        await http.post(
            "/graphql", json={"query": REQUEST, "variables": {"input": ask}}, headers=auth
        )
    ).json()
    request = body["data"]["requestAfterSale"]
    assert request["__typename"] == "AfterSale", request
    body = (
        await http.post(
            "/graphql", json={"query": QUERY, "variables": {"id": request["id"]}}, headers=auth
        )
    ).json()
    [file] = body["data"]["afterSale"]["evidence"]

    started = time.perf_counter()
    received = 0
    async with http.stream("GET", file["url"]) as got:
        async for chunk in got.aiter_raw():
            received += len(chunk)
    download_s = time.perf_counter() - started
    assert received == size == file["size"], (received, size, file["size"])
    grew = peak(pid) - before
    # Drop the bytes: SecantusDB in memory keeps all data in its cache, and runs add up.
    stored = await db.db["evidence"].find_one({"_id": evidence_id})
    await AsyncGridFSBucket(db.db, bucket_name="evidence").delete(stored["file_id"])
    return upload_s, download_s, grew


async def plain_gridfs(bucket: AsyncGridFSBucket, size: int) -> tuple[float, float]:
    data = MP4_HEAD + (bytes(range(256)) * (size // 256 + 1))[: size - len(MP4_HEAD)]
    started = time.perf_counter()
    file_id = await bucket.upload_from_stream(f"baseline-{time.monotonic_ns()}", data)
    put_s = time.perf_counter() - started
    started = time.perf_counter()
    stream = await bucket.open_download_stream(file_id)
    back = await stream.read()
    get_s = time.perf_counter() - started
    assert back == data
    await bucket.delete(file_id)
    return put_s, get_s


async def run(uri: str, sizes: list[int], repeat: int) -> None:
    port = free_port()
    proc = start_service(uri, port, max(sizes) + MIB)
    db = connect(uri, "bench_evidence")
    bucket = AsyncGridFSBucket(db.db, bucket_name="baseline")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            await wait_ready(http)
            await through_service(http, db, MIB, proc.pid)  # warm both paths once
            await plain_gridfs(bucket, MIB)
            print(f"service pid {proc.pid}; {repeat} runs per size, medians")
            print(
                f"{'MB':>4} {'svc up':>8} {'svc down':>9} {'svc total':>10} {'gfs put':>8} "
                f"{'gfs get':>8} {'gfs total':>10} {'ratio':>6} {'svc peak RSS growth':>20}"
            )
            for size in sizes:
                svc, base, growth = [], [], []
                for _ in range(repeat):
                    up, down, grew = await through_service(http, db, size, proc.pid)
                    put, get = await plain_gridfs(bucket, size)
                    svc.append((up, down))
                    base.append((put, get))
                    growth.append(grew)
                up = statistics.median(s[0] for s in svc)
                down = statistics.median(s[1] for s in svc)
                total = statistics.median(s[0] + s[1] for s in svc)
                put = statistics.median(b[0] for b in base)
                get = statistics.median(b[1] for b in base)
                btotal = statistics.median(b[0] + b[1] for b in base)
                runs = ", ".join(f"{g / MIB:.1f}" for g in growth)
                print(
                    f"{size // MIB:>4} {up:>7.3f}s {down:>8.3f}s {total:>9.3f}s {put:>7.3f}s "
                    f"{get:>7.3f}s {btotal:>9.3f}s {total / btotal:>6.2f} "
                    f"{max(growth) / MIB:>15.1f} MiB (max of {runs})"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await db.close()  # the database is thrown away with the server (or left, --mongodb-uri)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", default="10", help="file sizes in MiB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mongodb-uri", default=None)
    args = parser.parse_args()
    sizes = [int(float(x) * MIB) for x in args.mb.split(",")]
    if args.mongodb_uri:
        asyncio.run(run(args.mongodb_uri, sizes, args.repeat))
        return
    with EmbeddedDatabase(MEMORY) as server:
        asyncio.run(run(server.uri, sizes, args.repeat))


if __name__ == "__main__":
    main()

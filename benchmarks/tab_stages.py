"""Where the To Proceed page's own CPU goes, stage by stage, with no HTTP and no database time.

    ./dev run benchmarks.tab_stages              # 40 rounds of 20 pages each
    ./dev run benchmarks.tab_stages --rounds 80

The page of benchmarks/tab_query.py (first 50, lines and timeline) is read from an embedded
SecantusDB once; then, in this process, each stage is timed on its own, CPU per page, the best
round of each (load on a shared machine only ever adds): decoding the 50 stored documents into
domain requests, executing the page's query with those requests served from memory (GraphQL
objects, the compiled plan, Strawberry's operation and its extensions), the same operation on
an empty page (what an operation costs whatever its rows), and encoding the answer, by the app's
encoder and by json.dumps as Strawberry writes it. benchmarks/tab_query.py measures the whole
request against a plain-JSON baseline; this says which part of it to look at.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from api.app import AfterSalesGraphQL
from api.embedded_db import MEMORY, EmbeddedDatabase
from api.identity import parse_actor
from benchmarks.tab_query import PAGE, PAGE_QUERY, seed, shop_of
from models.cancellations import CancellationTab
from models.clock import SettableClock
from resolvers.context import Context
from resolvers.schema import schema
from services.bootstrap import build_services
from storage.cancellations import REQUESTS as DOCUMENTS
from storage.mongo import connect
from storage.pagination import Page, encode_cursor
from storage.request_store import SORTS

SIZE = 200
PER_ROUND = 20


def best_ms(*works: Callable[[], Any], rounds: int) -> list[float]:
    """CPU milliseconds of one call of each, the best of `rounds` rounds; several alternate
    round by round, so a slow spell of the machine falls on each alike."""
    best = [float("inf")] * len(works)
    for _ in range(rounds):
        for i, work in enumerate(works):
            began = time.process_time()
            for _ in range(PER_ROUND):
                work()
            best[i] = min(best[i], (time.process_time() - began) / PER_ROUND)
    return [b * 1000 for b in best]


async def best_ms_async(work: Callable[[], Awaitable[Any]], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(PER_ROUND):
            await work()
        best = min(best, (time.process_time() - began) / PER_ROUND)
    return best * 1000


async def run(rounds: int) -> None:
    with EmbeddedDatabase(MEMORY) as server:
        db = connect(server.uri, "bench_tab_stages")
        try:
            now = datetime.now(UTC).replace(microsecond=0)
            services = await build_services(db, SettableClock(now))
            await seed(db, SIZE, now)
            sort = SORTS["DEADLINE_SOONEST"]
            query = {"shop_id": shop_of(SIZE), "tabs": CancellationTab.TO_PROCEED.value}
            found = db.cancellations.find(query).sort(sort.spec).limit(PAGE + 1)
            docs = (await found.to_list(None))[:PAGE]
        finally:
            await db.client.drop_database(db.db.name)
            await db.close()
    actor = parse_actor(f"seller:bench@{shop_of(SIZE)}+adjustments")
    rows: list[Any] = []

    async def from_memory(*_: Any, **__: Any) -> Any:
        """The service's page, its documents read once: decoded and given cursors each time."""
        cursors = [encode_cursor(sort, d) for d in rows]
        return [DOCUMENTS.from_doc(d) for d in rows], Page(rows, True, cursors)

    services.cancellations.page = from_memory  # type: ignore[method-assign]

    async def execute() -> Any:
        return await schema.execute(PAGE_QUERY, context_value=Context(services, actor))

    rows[:] = docs
    answer = await execute()
    if answer.errors or len(answer.data["cancellations"]["edges"]) != PAGE:
        raise RuntimeError(f"the page did not execute: {answer.errors}")
    body = {"data": answer.data}
    [decode] = best_ms(lambda: [DOCUMENTS.from_doc(d) for d in docs], rounds=rounds)
    whole = await best_ms_async(execute, rounds)
    rows[:] = []
    empty = await best_ms_async(execute, rounds)
    app_encode, dumps = best_ms(
        lambda: AfterSalesGraphQL.encode_json(None, body),  # type: ignore[arg-type]
        lambda: json.dumps(body, separators=(",", ":")),
        rounds=rounds,
    )

    print(f"To Proceed page, first {PAGE} of {SIZE}: CPU ms per page, best of {rounds} rounds")
    print(f"  decode {PAGE} stored documents            {decode:7.3f}")
    print(f"  execute the page (rows decoded inside)   {whole:7.3f}")
    print(f"  execute an empty page                    {empty:7.3f}")
    per_row = (whole - empty - decode) / PAGE * 1000
    print(f"  -> per row, the rest (cursor, GraphQL objects, plan) {per_row:.1f} us")
    size = len(AfterSalesGraphQL.encode_json(None, body))  # type: ignore[arg-type]
    print(f"  encode the answer ({size:,} bytes): app {app_encode:.3f}, json.dumps {dumps:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()

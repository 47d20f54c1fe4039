"""GraphQL execution of the To Proceed page: the fast executor against graphql-core's own.

    ./dev run benchmarks.executor              # 400 rounds
    ./dev run benchmarks.executor --rounds 2000

The page (first 50 requests with their lines and timeline, as in benchmarks/tab_query.py) is read
from the database once and then served from memory, so only the service's own execution is timed:
Strawberry, graphql-core, the resolvers. The two executors alternate round by round in one process,
so load on the machine falls on both alike. Prints both medians and p99s and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.embedded_db import MEMORY, EmbeddedDatabase
from api.identity import parse_actor
from benchmarks.tab_query import PAGE_QUERY, seed, shop_of
from graphql_runtime.fast_execution import FastExecutor
from models.clock import SettableClock
from resolvers.context import Context
from resolvers.schema import schema
from services.bootstrap import build_services
from storage.indexes import ensure_indexes
from storage.mongo import connect

SIZE = 200


def count_fields(value: Any) -> int:
    """The fields of a response: every key of every object in it."""
    if isinstance(value, dict):
        return len(value) + sum(count_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_fields(v) for v in value)
    return 0


def _ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if q < 100 else max(values)


async def run(rounds: int) -> None:
    with EmbeddedDatabase(MEMORY) as server:
        db = connect(server.uri, "bench_executor")
        await ensure_indexes(db)
        now = datetime.now(UTC).replace(microsecond=0)
        services = await build_services(db, SettableClock(now))
        await seed(db, SIZE, now)
        actor = parse_actor(f"seller:bench@{shop_of(SIZE)}+adjustments")

        read_page = services.cancellations.page
        cached: dict[str, Any] = {}

        async def page_from_memory(*args: Any, **kwargs: Any) -> Any:
            if "page" not in cached:
                cached["page"] = await read_page(*args, **kwargs)
            return cached["page"]

        services.cancellations.page = page_from_memory  # type: ignore[method-assign]
        executors = {
            "graphql-core": StrawberryGraphQLCoreExecutionContext,
            "fast": FastExecutor,
        }
        times: dict[str, list[float]] = {name: [] for name in executors}
        fields = 0
        try:
            for i in range(rounds + 20):
                name = list(executors)[i % 2]
                schema.execution_context_class = executors[name]
                began = time.perf_counter()
                result = await schema.execute(PAGE_QUERY, context_value=Context(services, actor))
                took = time.perf_counter() - began
                assert not result.errors, result.errors
                fields = count_fields(result.data)
                if i >= 20:  # warm-up: caches, first-call costs
                    times[name].append(took)
        finally:
            schema.execution_context_class = FastExecutor
            await db.client.drop_database(db.db.name)
            await db.close()

    print(f"To Proceed page, first 50 of {SIZE}: {fields} fields; {rounds} rounds alternating")
    print(f"{'executor':16} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in times.items():
        print(f"{name:16} {statistics.median(values) * 1000:8.2f} {_ms(values, 99):8.2f}")
    base = statistics.median(times["graphql-core"])
    fast = statistics.median(times["fast"])
    print(f"fast / graphql-core p50: {fast / base:.2f}  (saves {(base - fast) * 1000:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()

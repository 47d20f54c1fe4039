"""A background task that swallows a cancellation (as `asyncio.wait_for` may on Python 3.11)
is still stopped, within a bound, by process/stopping.py."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from process.stopping import cancel_until_done


async def _swallows_one_cancellation(swallowed: list[bool]) -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        swallowed.append(True)  # and goes on, as a loop whose wait_for lost the cancellation
    await asyncio.sleep(3600)


async def test_a_task_that_swallows_a_cancellation_is_cancelled_again_until_it_ends() -> None:
    swallowed: list[bool] = []
    task = asyncio.create_task(_swallows_one_cancellation(swallowed))
    await asyncio.sleep(0)

    assert await cancel_until_done(task, grace=0.05)

    assert swallowed == [True] and task.cancelled()


async def test_a_task_that_never_ends_is_reported_not_stopped() -> None:
    giving_in = asyncio.Event()

    async def stubborn() -> None:
        while not giving_in.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)

    assert not await cancel_until_done(task, grace=0.01, tries=3)
    assert not task.done()
    giving_in.set()
    assert await cancel_until_done(task, grace=0.5)


def test_no_service_module_waits_with_wait_for() -> None:
    """On Python 3.11 `asyncio.wait_for` can return the awaited result and drop a cancellation
    that lands as the wait ends, so a loop cancelled at shutdown goes on; `asyncio.timeout`
    does not. Every wait with a bound in the service uses it."""
    root = Path(__file__).resolve().parents[2]
    found = []
    for package in (
        "api",
        "feed",
        "graphql_runtime",
        "integrations",
        "process",
        "resolvers",
        "services",
        "storage",
        "models",
    ):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr == "wait_for":
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []

"""storage.mongo.SerialLocks: one shop's transactions queue in a process; other shops don't wait."""

from __future__ import annotations

import asyncio

import pytest

from storage.mongo import SerialLocks


async def test_one_keys_holders_run_one_at_a_time_in_arrival_order() -> None:
    locks = SerialLocks()
    inside: list[str] = []
    order: list[int] = []

    async def hold(n: int) -> None:
        async with locks.hold("shop-1"):
            inside.append("in")
            assert inside.count("in") - inside.count("out") == 1  # nobody else inside
            await asyncio.sleep(0)
            order.append(n)
            inside.append("out")

    await asyncio.gather(*(hold(n) for n in range(20)))
    assert order == list(range(20))
    assert len(locks) == 0  # dropped once nobody holds or waits


async def test_other_keys_do_not_wait() -> None:
    locks = SerialLocks()
    release = asyncio.Event()

    async def hold_shop_1() -> None:
        async with locks.hold("shop-1"):
            await release.wait()

    holder = asyncio.create_task(hold_shop_1())
    await asyncio.sleep(0)
    async with asyncio.timeout(1):  # would hang if shop-2 queued behind shop-1
        async with locks.hold("shop-2"):
            assert len(locks) == 2
    release.set()
    await holder
    assert len(locks) == 0


async def test_a_holder_that_fails_or_is_cancelled_releases_its_key() -> None:
    locks = SerialLocks()

    async def fail() -> None:
        async with locks.hold("shop-1"):
            raise RuntimeError("work failed")

    with pytest.raises(RuntimeError):
        await fail()
    waiter_started = asyncio.Event()

    async def wait_forever() -> None:
        async with locks.hold("shop-1"):
            waiter_started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(wait_forever())
    await waiter_started.wait()
    queued = asyncio.create_task(fail())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(RuntimeError):  # it got the key once the cancelled holder let go
        await queued
    assert len(locks) == 0

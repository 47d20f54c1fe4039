"""The operation log's line for a subscription that another task ends (a client gone while its
events were read by the feed's task): written, with no error from the context it closes in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

import pytest
import strawberry

from graphql_runtime.operation_log import OperationLog


@strawberry.type
class Query:
    ready: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        for tick in range(10):
            yield tick
            await asyncio.sleep(0)


schema = strawberry.Schema(query=Query, subscription=Subscription, extensions=[OperationLog])


async def test_a_subscription_ended_from_another_task_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aftersales.graphql")
    events = await schema.subscribe("subscription Ticks { ticks }")
    assert not isinstance(events, strawberry.types.ExecutionResult)

    async def read_one() -> object:
        return await anext(events)

    first = await asyncio.create_task(read_one())  # the reader runs in a context of its own
    assert first.data == {"ticks": 0}  # type: ignore[attr-defined]
    await events.aclose()  # this context ends it
    lines = [r for r in caplog.records if r.name == "aftersales.graphql"]
    assert [r.getMessage() for r in lines] == ["graphql ok"]

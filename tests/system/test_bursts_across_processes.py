"""Bursts of writes on one shop across two service processes: buyers, agents and the platform at
once all land (no conflict surfaces as an error), and a process killed with SIGKILL in the middle
leaves nothing half written while no caller of the survivor waits past its deadline."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.clock import SettableClock
from models.orders import Order
from storage.events import events_from
from storage.mongo import Database
from tests.support.after_sale_api import assert_counters_match, delivered_order
from tests.support.api_client import authorization
from tests.support.factories import PLATFORM, buyer, seller
from tests.support.processes import free_port, start_service, wait_for_line

DEADLINE = 6  # AFTERSALES_OPERATION_TIMEOUT_SECONDS of the services
GRACE = 5  # an HTTP round trip and the process's own scheduling on a busy machine

ASK = (
    "mutation($input: RequestAfterSaleInput!) { r: requestAfterSale(input: $input) "
    "{ __typename ... on UserError { code message } } }"
)
REFUND = (
    "mutation($input: RefundOrderInput!) { r: refundOrder(input: $input) "
    "{ __typename ... on UserError { code message } } }"
)
PLATFORM_REFUND = (
    "mutation($input: RefundOrderInput!) { r: platformRefund(input: $input) "
    "{ __typename ... on UserError { code message } } }"
)


def _call(n: int, order: Order) -> tuple[str, dict[str, Any], str]:
    """Buyers, the shop's agent and the platform in turn, each on its own order."""
    line = [{"lineId": order.lines[0].line_id, "quantity": 1}]
    if n % 3 == 0:
        ask = {"orderId": order.id, "kind": "REFUND_ONLY", "reason": "DAMAGED", "lines": line}
        return ASK, {"input": ask}, buyer(order.buyer_id)
    refund = {"orderId": order.id, "lines": line}
    if n % 3 == 1:
        return REFUND, {"input": {**refund, "reason": "PRICING_ERROR"}}, seller(order.shop_id)
    return PLATFORM_REFUND, {"input": {**refund, "reason": "POLICY_VIOLATION"}}, PLATFORM


def _services(
    uri: str, database: str, tmp_path: Path, deadline: int = 60
) -> tuple[list[subprocess.Popen[str]], list[str]]:
    procs, urls = [], []
    for _ in range(2):
        port = free_port()
        procs.append(
            start_service(
                {
                    "MONGODB_URI": uri,
                    "AFTERSALES_DATABASE": database,
                    "AFTERSALES_PORT": str(port),
                    "AFTERSALES_DEMO_DATA": "false",
                    "AFTERSALES_WORKER_ENABLED": "false",
                    "AFTERSALES_RATE_LIMIT_COST": "0",
                    "AFTERSALES_OPERATION_TIMEOUT_SECONDS": str(deadline),
                },
                tmp_path,
            )
        )
        urls.append(f"http://127.0.0.1:{port}/graphql")
    for proc in procs:
        wait_for_line(proc, "Uvicorn running")
    return procs, urls


async def _fire(
    urls: list[str], orders: list[Order], kill: subprocess.Popen[str] | None = None
) -> list[tuple[int, float, dict[str, Any] | str]]:
    """Every call at once, alternating between the processes (the first one killed 0.5 s in,
    when `kill` is given): (process, seconds, body or transport error) per call."""
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200)) as client:

        async def one(n: int, order: Order) -> tuple[int, float, dict[str, Any] | str]:
            document, variables, actor = _call(n, order)
            started = time.monotonic()
            try:
                r = await client.post(
                    urls[n % 2],
                    json={"query": document, "variables": variables},
                    headers=authorization(actor),
                )
                body: dict[str, Any] | str = r.json()
            except httpx.HTTPError as exc:
                body = type(exc).__name__
            return n % 2, time.monotonic() - started, body

        async def killer() -> None:
            if kill is not None:
                await asyncio.sleep(0.5)
                kill.kill()

        results, _ = await asyncio.gather(
            asyncio.gather(*(one(n, o) for n, o in enumerate(orders))), killer()
        )
    return list(results)


async def _assert_whole(db: Database, shop_id: str) -> int:
    """Every request of the shop is all there (its events; no ticket without it), the counters
    match the requests, and the shop's feed is numbered 1..n without a gap. Returns how many
    requests there are."""
    requests = await db.after_sales.find({"shop_id": shop_id}).to_list(None)
    ids = {r["_id"] for r in requests}
    tickets = await db.tickets.find({"shop_id": shop_id}).to_list(None)
    assert {t["request_id"] for t in tickets} <= ids  # no ticket without its request
    events = await db.events.find({"shop_id": shop_id, "type": {"$ne": "TICKET"}}).to_list(None)
    assert sorted(e["request_id"] for e in events) == sorted(r["_id"] for r in requests)
    docs = await db.events.find({"shop_id": shop_id}).to_list(None)
    # A request's event document carries its ticket's change, numbered right after it.
    seqs = sorted(stored.seq for d in docs for stored in events_from(d))
    assert seqs == list(range(1, len(seqs) + 1))
    await assert_counters_match(db, shop_id)
    return len(requests)


@pytest.mark.slow
async def test_a_burst_of_buyers_agents_and_platform_on_one_shop_across_two_processes_all_land(
    mongodb_uri: str, db: Database, clock: SettableClock, shop_id: str, tmp_path: Path
) -> None:
    orders = [await delivered_order(db, clock, shop_id) for _ in range(60)]
    procs, urls = _services(mongodb_uri, db.db.name, tmp_path)
    try:
        results = await _fire(urls, orders)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    kinds = [
        body if isinstance(body, str) else body.get("data") and body["data"]["r"]["__typename"]
        for _, _, body in results
    ]
    assert kinds == ["AfterSale"] * len(orders), [b for _, _, b in results]
    assert await _assert_whole(db, shop_id) == len(orders)


@pytest.mark.slow
async def test_a_process_killed_mid_burst_leaves_nothing_half_written_and_no_caller_waits_past_its_deadline(
    mongodb_uri: str, db: Database, clock: SettableClock, shop_id: str, tmp_path: Path
) -> None:
    orders = [await delivered_order(db, clock, shop_id) for _ in range(60)]
    procs, urls = _services(mongodb_uri, db.db.name, tmp_path, deadline=DEADLINE)
    try:
        results = await _fire(urls, orders, kill=procs[0])
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(timeout=30)

    survivor = [(seconds, body) for process, seconds, body in results if process == 1]
    for seconds, body in survivor:
        assert seconds < DEADLINE + GRACE, (seconds, body)
        assert isinstance(body, dict), body
        if body.get("errors"):
            assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
        else:
            assert body["data"]["r"]["__typename"] == "AfterSale", body
    landed = await _assert_whole(db, shop_id)
    answered = sum(1 for _, _, body in results if isinstance(body, dict) and not body.get("errors"))
    assert landed >= answered  # every answered write is there; the killed one's, whole or not

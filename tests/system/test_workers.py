"""`python -m api --workers 2`: one embedded database, two service processes on one port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from storage.mongo import connect
from tests.support.api_client import authorization
from tests.support.live import EVENTS, Client
from tests.support.processes import database_processes, free_port, start_service, wait_for_line


def _get(url: str, body: dict[str, Any] | None = None) -> tuple[dict[str, str], str]:
    """One request on a fresh connection (so the kernel may hand it to either process)."""
    data = json.dumps(body).encode() if body else None
    headers = {"content-type": "application/json", **authorization("seller:a@shop-1")}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(response.headers), response.read().decode()


@pytest.mark.slow
async def test_two_workers_share_the_port_one_database_and_their_metrics(
    tmp_path: Path,
) -> None:
    port, db_port = free_port(), free_port()
    proc = start_service(
        {"AFTERSALES_PORT": str(port), "AFTERSALES_DB_PORT": str(db_port)},
        tmp_path,
        args=("--workers", "2"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        lines = wait_for_line(proc, "Application startup complete", count=2)
        started = {
            int(p) for p in re.findall(r"Started server process \[(\d+)\]", "\n".join(lines))
        }
        assert len(started) == 2
        assert len(database_processes(tmp_path / "data")) == 1, (
            "the parent starts the database once"
        )
        assert sum("loaded demo data:" in line for line in lines) == 1

        # Either process answers; both do within a few fresh connections.
        seen: set[int] = set()
        deadline = time.monotonic() + 20
        while seen != started and time.monotonic() < deadline:
            seen.add(json.loads(_get(f"{base}/healthz")[1])["pid"])
        assert seen == started

        # Demo data was loaded once, whichever process answers.
        db = connect(f"mongodb://127.0.0.1:{db_port}/?directConnection=true", "aftersales")
        try:
            stored = await db.cancellations.count_documents({"shop_id": "shop-1"})
        finally:
            await db.close()
        query = {"query": "query Probe { cancellationTabCounts { tab count } }"}
        for _ in range(6):
            counts = json.loads(_get(f"{base}/graphql", query)[1])["data"]["cancellationTabCounts"]
            assert {c["tab"]: c["count"] for c in counts}["ALL"] == stored

        # /metrics, answered by one process, adds up both.
        metrics = _get(f"{base}/metrics")[1]
        assert (
            'aftersales_graphql_operations_total{operation="Probe",outcome="ok",type="query"} 6.0'
            in metrics
        )
        # Ready once each process's change stream is open and its worker has caught up with
        # the demo data's overdue deadlines (its first pass starts behind them): poll for it.
        ready: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                ready = json.loads(_get(f"{base}/readyz")[1])
                break
            except urllib.error.HTTPError as not_ready:
                ready = json.loads(not_ready.read().decode())
                time.sleep(0.5)
        assert ready == {
            "status": "ready",
            "checks": {"database": "ok", "change_watcher": "ok", "deadline_worker": "ok"},
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 60)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while database_processes(tmp_path / "data") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert database_processes(tmp_path / "data") == []


@pytest.mark.slow
def test_a_bad_workers_flag_names_the_setting(tmp_path: Path) -> None:
    proc = start_service({}, tmp_path, args=("--workers", "0"))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    [line] = out.strip().splitlines()
    assert line.startswith("error: setting AFTERSALES_WORKERS is invalid")


@pytest.mark.slow
async def test_h3_with_workers_shutdown_closes_subscriptions_with_going_away(
    tmp_path: Path,
) -> None:
    """Each process of `--workers N` closes its subscriptions with 1001 and how to resume, as
    one process does (uvicorn's own servers would cut them with a bare 1012)."""
    port = free_port()
    proc = start_service(
        # No demo data: the subscriptions need none, and its load is most of the start.
        {"AFTERSALES_PORT": str(port), "AFTERSALES_DEMO_DATA": "false"},
        tmp_path,
        args=("--workers", "2"),
    )
    url = f"ws://127.0.0.1:{port}/graphql"
    try:
        wait_for_line(proc, "Application startup complete", count=2)
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(Client.connect(url, "seller:a@shop-1"))
                for _ in range(4)  # fresh connections: the kernel spreads them over both
            ]
            for client in clients:
                await client.acked()
                await client.subscribe(EVENTS, {})
            await asyncio.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            codes = []
            for client in clients:
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await client.receive()
                assert closed.value.rcvd is not None
                codes.append((closed.value.rcvd.code, closed.value.rcvd.reason))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 60)
    assert proc.returncode == 0
    assert {code for code, _ in codes} == {1001}
    assert all("resume from the last cursor" in reason for _, reason in codes)

"""Two service processes deliver one shop's webhook; the one holding it is killed (SIGKILL)
mid-stream, and the other takes it over when the lease expires: the receiver holds every event
once, in order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage import event_consumers
from tests.support.processes import free_port, start_service, wait_for_line
from tests.support.webhook_delivery import eventually, make_events, own_database, register
from tests.support.webhook_receiver import Receiver, running_receiver

SECRET = "whsec_takeover_0123456789abcdefghij"
SHOP = "shop-takeover"


def _service(uri: str, database: str, tmp_path: Path) -> subprocess.Popen[str]:
    return start_service(
        {
            "MONGODB_URI": uri,
            "AFTERSALES_DATABASE": database,
            "AFTERSALES_PORT": str(free_port()),
            "AFTERSALES_DEMO_DATA": "false",
            "AFTERSALES_WEBHOOK_LEASE_SECONDS": "1.5",
            "AFTERSALES_WEBHOOK_POLL_SECONDS": "0.02",
            "AFTERSALES_WEBHOOK_TIMEOUT_SECONDS": "2",
            "AFTERSALES_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
            "AFTERSALES_WEBHOOK_RETRY_CAP_SECONDS": "0.5",
            "AFTERSALES_WEBHOOK_MAX_ATTEMPTS": "30",
        },
        tmp_path,
    )


def _count(receiver: Receiver) -> int:
    try:
        return len(receiver.summary()["deliveries"])
    except httpx.HTTPError:
        return 0


@pytest.mark.slow
async def test_a_killed_delivering_process_hands_its_webhook_over_and_nothing_is_lost(
    mongodb_uri: str, tmp_path: Path
) -> None:
    async with own_database(mongodb_uri) as db:
        with running_receiver("--secret", SECRET) as receiver:
            hook = await register(db, SHOP, f"{receiver.base}/hooks", SECRET)
            processes = [_service(mongodb_uri, db.db.name, tmp_path) for _ in range(2)]
            try:
                for proc in processes:
                    wait_for_line(proc, "Uvicorn running")
                await make_events(db, SHOP, 50)
                await eventually(lambda: _count(receiver) >= 20, "the first deliveries")

                consumer = await event_consumers.get(db, SHOP, f"webhook:{hook}")
                assert consumer is not None and consumer.lease_owner is not None
                holder_pid = int(consumer.lease_owner.split(":")[1])
                [holder] = [p for p in processes if p.pid == holder_pid]
                [survivor] = [p for p in processes if p is not holder]
                await make_events(db, SHOP, 100)  # mid-stream: the holder is busy with these
                os.kill(holder.pid, signal.SIGKILL)
                holder.wait(timeout=10)
                at_kill = _count(receiver)
                for _ in range(5):
                    await make_events(db, SHOP, 10)
                    await asyncio.sleep(0.1)

                summary: dict[str, Any] = await eventually(
                    lambda: _count(receiver) == 200 and receiver.summary(), "200 delivered"
                )
                after = await event_consumers.get(db, SHOP, f"webhook:{hook}")
            finally:
                for proc in processes:
                    if proc.poll() is None:
                        proc.terminate()
                for proc in processes:
                    proc.wait(timeout=30)

    assert at_kill < 150, "the holder had finished before it was killed: not mid-stream"
    sequences = [d["sequence"] for d in summary["deliveries"]]
    assert sequences == list(range(1, 201))  # each once (after dedupe), in order
    assert not [a for a in summary["attempts"] if a["outcome"].startswith("refused")]
    assert after is not None and after.lease_owner is not None
    assert int(after.lease_owner.split(":")[1]) == survivor.pid
    assert survivor.returncode == 0

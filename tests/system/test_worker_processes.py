"""Two service processes, each with its deadline worker, on one database: each move happens once."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.notifications import Recipient
from storage.mongo import Database
from storage.notifications import inbox_key
from tests.support.factories import pending_requests
from tests.support.notices import count_notices
from tests.support.processes import free_port, start_service, wait_for_line


def _service(uri: str, database: str, tmp_path: Path) -> subprocess.Popen[str]:
    return start_service(
        {
            "MONGODB_URI": uri,
            "AFTERSALES_DATABASE": database,
            "AFTERSALES_PORT": str(free_port()),
            "AFTERSALES_DEMO_DATA": "false",
            "AFTERSALES_WORKER_INTERVAL_SECONDS": "0.2",
            "AFTERSALES_WORKER_BATCH_SIZE": "25",
        },
        tmp_path,
    )


@pytest.mark.slow
async def test_c6_two_service_processes_move_each_overdue_request_once(
    mongodb_uri: str, db: Database, shop_id: str, tmp_path: Path
) -> None:
    # Requests made 49 hours ago by the wall clock the processes use: all overdue at start.
    made_at = datetime.now(UTC) - timedelta(hours=49)
    ids = await pending_requests(db, shop_id, [made_at] * 150)

    services = [_service(mongodb_uri, db.db.name, tmp_path) for _ in range(2)]
    try:
        for proc in services:
            wait_for_line(proc, "Uvicorn running")
        deadline = time.monotonic() + 60
        while await db.cancellations.count_documents({"shop_id": shop_id, "tabs": "TO_PROCEED"}):
            assert time.monotonic() < deadline, "the workers did not clear the backlog"
            await asyncio.sleep(0.2)
    finally:
        for proc in services:
            proc.terminate()
        for proc in services:
            proc.wait(timeout=30)

    for cid in ids:
        doc = await db.cancellations.find_one({"_id": cid})
        assert [r["action"] for r in doc["timeline"]] == ["REQUEST", "AUTO_ACCEPT"]
    shop_inbox = inbox_key(Recipient.SHOP, shop_id)
    notes = await count_notices(
        db, {"inboxes": shop_inbox, f"to.{shop_inbox}.kind": "ORDER_CANCELLED"}
    )
    assert notes == len(ids)  # one move, one notification, whichever process made it
    assert all(proc.returncode == 0 for proc in services)

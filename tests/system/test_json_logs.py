"""AFTERSALES_LOG_FORMAT=json: everything the service process prints is one JSON object a line."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.api_client import authorization
from tests.support.processes import free_port, start_service, wait_for_line


@pytest.mark.slow
def test_json_logs_are_one_object_a_line_with_the_operation_fields(tmp_path: Path) -> None:
    port = free_port()
    proc = start_service({"AFTERSALES_PORT": str(port), "AFTERSALES_LOG_FORMAT": "json"}, tmp_path)
    try:
        later: list[str] = []
        lines = wait_for_line(proc, "Uvicorn running", rest=later)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps({"query": "query Counts { cancellationTabCounts { tab } }"}).encode(),
            headers={"content-type": "application/json", **authorization("seller:a@shop-1")},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            request_id = response.headers["x-request-id"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    time.sleep(0.2)  # the reader thread takes the last lines
    records = [json.loads(line) for line in [*lines, *later] if line.strip()]
    assert any(r["msg"].startswith("loaded demo data:") for r in records)
    [operation] = [r for r in records if r["logger"] == "aftersales.graphql"]
    assert operation["request_id"] == request_id
    assert (operation["operation"], operation["type"], operation["outcome"]) == (
        "Counts",
        "query",
        "ok",
    )
    assert (operation["actor_kind"], operation["shop"]) == ("SELLER_AGENT", "shop-1")

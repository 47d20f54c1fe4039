"""The run command as a user meets it: `python -m api` in its own process, Ctrl-C, bad starts."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from tests.support.processes import (
    database_processes,
    free_port,
    start_dev_serve,
    start_service,
    wait_for_line,
)


@pytest.fixture
def port() -> Iterator[int]:
    yield free_port()


@pytest.mark.slow
def test_run_command_serves_demo_data_and_ctrl_c_stops_everything(
    tmp_path: Path, port: int
) -> None:
    proc = start_service({"AFTERSALES_PORT": str(port)}, tmp_path)
    after_start: list[str] = []
    try:
        lines = wait_for_line(proc, "Uvicorn running", rest=after_start)
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in lines
        assert any("loaded demo data:" in line for line in lines)
        assert database_processes(tmp_path / "data"), "the embedded database should be running"
        # Ready tokens for GraphiQL's header editor, the shop's agent who may act first.
        printed_headers = [json.loads(x) for x in lines if x.strip().startswith('{"Authorization')]
        assert len(printed_headers) == 4
        assert any("/dashboard?shop=" in line for line in lines)

        body = json.dumps({"query": "{ cancellationTabCounts { tab count } }"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=body,
            headers={"content-type": "application/json", **printed_headers[0]},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            counts = {
                c["tab"]: c["count"] for c in json.load(response)["data"]["cancellationTabCounts"]
            }
        assert all(counts[tab] > 0 for tab in ("TO_PROCEED", "COMPLETED", "CLOSED"))
        ide = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"}
        )
        with urllib.request.urlopen(ide, timeout=10) as page:
            assert "graphiql" in page.read().decode().lower()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    time.sleep(0.2)  # the reader thread takes the last lines
    assert not [line for line in after_start if "Traceback" in line], after_start
    deadline = time.monotonic() + 10
    while database_processes(tmp_path / "data") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert database_processes(tmp_path / "data") == [], "Ctrl-C must stop the database too"


@pytest.mark.slow
def test_a_taken_port_gives_one_line_saying_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start_service({"AFTERSALES_PORT": str(port)}, tmp_path)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert out.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is taken: stop what uses it, or choose another with"
        " --port (AFTERSALES_PORT)"
    ]


@pytest.mark.slow
def test_a_database_that_does_not_answer_gives_one_line(tmp_path: Path, port: int) -> None:
    dead = free_port()  # nothing listens there
    proc = start_service(
        {
            "AFTERSALES_PORT": str(port),
            "MONGODB_URI": f"mongodb://127.0.0.1:{dead}/?directConnection=true",
            "AFTERSALES_DB_TIMEOUT_MS": "500",
        },
        tmp_path,
    )
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    [line] = out.strip().splitlines()
    assert line.startswith("error: the database at mongodb://127.0.0.1:") and "MONGODB_URI" in line


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AFTERSALES_PORT", "eighty"),
        ("AFTERSALES_WORKER_INTERVAL_SECONDS", "0"),
        ("AFTERSALES_WORKER_INTERVAL_SECONDS", "-5"),
        ("AFTERSALES_WORKER_BATCH_SIZE", "0"),
    ],
)
def test_a_bad_setting_names_itself(tmp_path: Path, name: str, value: str) -> None:
    proc = start_service({name: value}, tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    [line] = out.strip().splitlines()
    assert line.startswith(f"error: setting {name} is invalid")


@pytest.mark.slow
def test_port_option_is_where_the_service_listens(tmp_path: Path, port: int) -> None:
    proc = start_service(
        # No demo data: what is proven is where it listens, and the load is most of a start.
        {"AFTERSALES_PORT": str(free_port()), "AFTERSALES_DEMO_DATA": "false"},
        tmp_path,
        ("--port", str(port)),
    )
    try:
        lines = wait_for_line(proc, "Uvicorn running")
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert json.load(answer)["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_help_lists_the_options(tmp_path: Path) -> None:
    proc = start_service({}, tmp_path, ("--help",))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    for option in ("--host", "--port", "--workers", "--data-dir", "--no-demo", "--reset-demo"):
        assert option in out
    assert "AFTERSALES_PORT" in out


@pytest.mark.slow
def test_a_second_service_on_the_same_data_folder_says_who_holds_it(tmp_path: Path) -> None:
    # No demo data: the second start is refused on the folder, whatever the first one loaded.
    first = start_service(
        {"AFTERSALES_PORT": str(free_port()), "AFTERSALES_DEMO_DATA": "false"}, tmp_path
    )
    try:
        wait_for_line(first, "Uvicorn running")
        second = start_service({"AFTERSALES_PORT": str(free_port())}, tmp_path)
        out, _ = second.communicate(timeout=60)
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
    assert second.returncode == 1
    [line] = [x for x in out.strip().splitlines() if "starting the embedded database" not in x]
    folder = tmp_path / "data" / "db"
    assert line.startswith(
        f"error: another service holds the data folder {folder} (SecantusDB pid "
    )
    assert f"started by pid {first.pid}: " in line
    assert "--data-dir" in line and "MONGODB_URI" in line


@pytest.mark.slow
@pytest.mark.parametrize(
    ("after_line", "delay"),
    [
        ("", 0.0),  # the interpreter starting
        ("", 0.3),
        ("", 1.0),  # the imports, on a quiet machine
        ("starting the embedded database", 0.0),  # the database booting
        ("starting the embedded database", 2.0),  # the demo data loading, on a quiet machine
    ],
)
def test_ctrl_c_at_any_moment_of_start_up_stops_cleanly(
    tmp_path: Path, after_line: str, delay: float
) -> None:
    """As `./dev serve` runs it, from the interpreter's start to the demo data's load: one
    line, exit 130 (or 0 once serving), and no database left behind."""
    proc = start_dev_serve({"AFTERSALES_PORT": str(free_port())}, tmp_path)
    before: list[str] = []
    rest: list[str] = []
    if after_line:
        before = wait_for_line(proc, after_line, rest=rest)
    time.sleep(delay)  # where in start-up the signal lands; nothing here is timed
    proc.send_signal(signal.SIGINT)
    if after_line:
        proc.wait(timeout=60)
        time.sleep(0.2)  # the reader thread takes the last lines
        out = "\n".join(before + rest)
    else:
        out, _ = proc.communicate(timeout=60)
    assert "Traceback" not in out, out
    assert proc.returncode in (0, 130), (proc.returncode, out)
    if proc.returncode == 130:
        assert out.strip().splitlines()[-1] == "stopped (Ctrl-C) before the service started"
    deadline = time.monotonic() + 10
    while database_processes(tmp_path / "data") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert database_processes(tmp_path / "data") == [], "Ctrl-C must stop the database too"


@pytest.mark.slow
def test_reset_demo_drops_the_database_and_loads_the_demo_data_afresh(
    tmp_path: Path, port: int, mongodb_uri: str
) -> None:
    name = f"reset_{uuid.uuid4().hex[:12]}"
    with MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000) as mongo:
        # An order there already: a start without --reset-demo would load nothing.
        mongo[name].orders.insert_one({"_id": "left-over"})
        env = {
            "MONGODB_URI": mongodb_uri,
            "AFTERSALES_DATABASE": name,
            "AFTERSALES_PORT": str(port),
        }
        proc = start_service(env, tmp_path, ("--reset-demo",))
        try:
            lines = wait_for_line(proc, "Uvicorn running")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        try:
            assert any("loaded demo data:" in line for line in lines), lines
            assert mongo[name].orders.find_one({"_id": "left-over"}) is None
            assert mongo[name].orders.find_one({"_id": "ord_10001"}) is not None
        finally:
            mongo.drop_database(name)


def test_reset_demo_is_refused_in_production(tmp_path: Path) -> None:
    env = {"AFTERSALES_PRODUCTION": "true", "AFTERSALES_JWT_SECRET": secrets.token_hex(32)}
    proc = start_service(env, tmp_path, ("--reset-demo",))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert out.strip().splitlines() == [
        "error: --reset-demo drops the database: refused with AFTERSALES_PRODUCTION"
    ]

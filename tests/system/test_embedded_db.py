"""EmbeddedDatabase against the real SecantusDB server (no mocks)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from api.embedded_db import DatabaseStartError, EmbeddedDatabase


@contextmanager
def client(uri: str) -> Iterator[MongoClient[dict[str, Any]]]:
    # Short timeouts: a failing test should say so in seconds, not after 30 s.
    mongo: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=2000)
    try:
        yield mongo
    finally:
        mongo.close()


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_starts_on_a_free_port_in_memory_and_answers_ping() -> None:
    with EmbeddedDatabase(":memory:") as db:
        assert db.uri == f"mongodb://127.0.0.1:{db.port}/?directConnection=true"
        with client(db.uri) as mongo:
            assert mongo.admin.command("ping")["ok"] == 1.0


def test_stop_leaves_no_process_and_can_be_repeated() -> None:
    db = EmbeddedDatabase(":memory:")
    db.start()
    pid = db.pid
    assert pid is not None and process_exists(pid)
    started = time.monotonic()
    db.stop()
    assert time.monotonic() - started < 2.0
    assert not process_exists(pid)
    db.stop()  # idempotent


def test_a_taken_port_fails_fast_with_a_one_line_message() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        db = EmbeddedDatabase(":memory:", port=port)
        with pytest.raises(DatabaseStartError) as caught:
            db.start()
    message = str(caught.value)
    assert "\n" not in message
    assert str(port) in message
    assert db.pid is None  # refused before spawning anything


def test_data_survives_a_restart_on_the_same_directory(tmp_path: Path) -> None:
    storage = tmp_path / "db"  # does not exist yet: start() creates it
    with EmbeddedDatabase(storage) as db, client(db.uri) as mongo:
        mongo.aftersales.cases.insert_one({"_id": "case-1", "status": "open"})
    with EmbeddedDatabase(storage) as db, client(db.uri) as mongo:
        assert mongo.aftersales.cases.find_one({"_id": "case-1"}) == {
            "_id": "case-1",
            "status": "open",
        }
    assert (storage / "secantusd.log").is_file()


def test_a_server_that_dies_at_start_gives_a_one_line_message(tmp_path: Path) -> None:
    db = EmbeddedDatabase(tmp_path, cache_size="lots")  # WiredTiger refuses it and exits
    with pytest.raises(DatabaseStartError) as caught:
        db.start()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("SecantusDB exited at start (code 1): ")
    assert db.pid is None


def test_a_second_server_on_a_folder_in_use_names_the_one_holding_it(tmp_path: Path) -> None:
    with EmbeddedDatabase(tmp_path) as first:
        second = EmbeddedDatabase(tmp_path)
        with pytest.raises(DatabaseStartError) as caught:
            second.start()
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(
            f"another service holds the data folder {tmp_path} (SecantusDB pid {first.pid}, "
            f"started by pid {os.getpid()}: "
        )
        assert "--data-dir" in message and "MONGODB_URI" in message
        with client(first.uri) as mongo:  # the first one is unharmed
            assert mongo.admin.command("ping")["ok"] == 1.0

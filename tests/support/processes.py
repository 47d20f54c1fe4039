"""Service processes for tests: `python -m api` started as a user would, and read as they would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(
    env_extra: dict[str, str], tmp_path: Path, args: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env |= {"AFTERSALES_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"} | env_extra
    return subprocess.Popen(
        [sys.executable, "-m", "api", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def start_dev_serve(
    env_extra: dict[str, str], tmp_path: Path, args: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """`./dev serve` itself, once its interpreter has become `python -m api` (its exec)."""
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env |= {"AFTERSALES_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"} | env_extra
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "dev"), "serve", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    cmdline = Path("/proc") / str(proc.pid) / "cmdline"
    deadline = time.monotonic() + 60
    while b"\0-m\0api" not in cmdline.read_bytes():
        assert proc.poll() is None and time.monotonic() < deadline, "./dev serve never ran api"
        time.sleep(0.005)
    return proc


def wait_for_line(
    proc: subprocess.Popen[str],
    needle: str,
    timeout: float = 60,
    count: int = 1,
    rest: list[str] | None = None,
) -> list[str]:
    """The lines printed until `needle` was seen `count` times; the later ones go to `rest`."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if needle in line and sum(needle in seen for seen in lines) == count:
            # Keep reading in the background, so a chatty process never blocks on a full pipe.
            threading.Thread(target=_drain, args=(proc.stdout, rest), daemon=True).start()
            return lines
    raise AssertionError(f"never printed {needle!r}: {lines}")


def _drain(stream: IO[str], rest: list[str] | None) -> None:
    for line in stream:
        if rest is not None:
            rest.append(line.rstrip())


def database_processes(data_dir: Path) -> list[int]:
    """The embedded database servers keeping their data under `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "secantusd" in cmdline and str(data_dir) in cmdline:
                found.append(int(entry.name))
    return found

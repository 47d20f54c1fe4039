"""Run SecantusDB as a child process for development and tests.

SecantusDB is GPL-2.0, so it is only ever started as a separate program
(`secantusd-py`) and spoken to over the MongoDB wire protocol; never import it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

MEMORY = ":memory:"
EXECUTABLE = "secantusd-py"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_STOP_GRACE_SECONDS = 5.0


class DatabaseStartError(Exception):
    """Carries a one-line, human message saying what went wrong and what to do."""


class EmbeddedDatabase:
    """A SecantusDB server owned by this process: started on demand, stopped with it."""

    def __init__(
        self,
        storage_path: str | Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 30.0,
        cache_size: str | None = None,
    ) -> None:
        self.storage_path = storage_path if storage_path == MEMORY else Path(storage_path)
        # WiredTiger's cache ("1G" unless given). With MEMORY it holds all the data: a run that
        # outgrows it slows down, so benchmarks with large backlogs set it.
        self.cache_size = cache_size
        self.host = host
        self._port_given = port is not None
        # Picked here so the uri is known before start() and stays the same across
        # stop()/start() of this object.
        self.port = port if port is not None else _free_port(host)
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._release_keeper: threading.Event | None = None
        self._log_path: Path | None = None

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mongodb://{host}:{self.port}/?directConnection=true"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def start(self) -> str:
        """Start the server and wait until it answers ping; return its uri."""
        if self._process is not None and self._process.poll() is None:
            return self.uri
        executable = _find_executable()
        if not _port_is_free(self.host, self.port):
            if self._port_given:
                raise DatabaseStartError(
                    f"port {self.port} on {self.host} is taken: another program listens there;"
                    " choose another with AFTERSALES_DB_PORT or stop what uses it"
                )
            self.port = _free_port(self.host)
        if self.storage_path != MEMORY and _servers_on(self.storage_path):
            self._raise_storage_taken()  # before WiredTiger fails on its lock with a traceback
        storage, self._log_path = self._prepare_storage()
        command = [executable, "--host", self.host, "--port", str(self.port)]
        command += ["--storage-path", storage]
        if self.cache_size:
            command += ["--cache-size", self.cache_size]
        with self._log_path.open("ab") as log:
            log_start = log.tell()  # only this run's lines explain a failure of this run
            try:
                self._process, self._release_keeper = _spawn_from_keeper_thread(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            except OSError as exc:
                raise DatabaseStartError(f"could not run {executable}: {exc}") from None
        atexit.register(self.stop)
        try:
            self._wait_until_ready(log_start)
        except BaseException:  # a failed start, or Ctrl-C while it boots: stop it now
            self._terminate()  # keeps the log, which the message names
            atexit.unregister(self.stop)
            raise
        return self.uri

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        if self._process is None:
            return
        self._terminate()
        atexit.unregister(self.stop)
        if self.storage_path == MEMORY and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> EmbeddedDatabase:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare_storage(self) -> tuple[str, Path]:
        """Return the --storage-path argument and the log file for this run."""
        if self.storage_path == MEMORY:
            if self._log_path is not None:
                return MEMORY, self._log_path
            fd, name = tempfile.mkstemp(prefix="secantusd-", suffix=".log")
            os.close(fd)
            return MEMORY, Path(name)
        assert isinstance(self.storage_path, Path)
        try:
            self.storage_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseStartError(
                f"cannot create the database directory {self.storage_path}: {exc.strerror}"
            ) from None
        return str(self.storage_path), self.storage_path / "secantusd.log"

    def _wait_until_ready(self, log_start: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                self._raise_if_storage_taken(log_start)
                raise DatabaseStartError(
                    f"SecantusDB exited at start (code {code}): {self._last_log_line(log_start)}"
                    f" (log: {self._log_path})"
                )
            # A cheap TCP probe first: pymongo's server selection would otherwise
            # sleep between its own retries while the server is still booting.
            if _accepts_connections(self.host, self.port) and _answers_ping(self.uri):
                return
            if time.monotonic() >= deadline:
                raise DatabaseStartError(
                    f"SecantusDB did not answer ping on {self.host}:{self.port} within"
                    f" {self.startup_timeout:g} s; last log line: "
                    f"{self._last_log_line(log_start)} (log: {self._log_path})"
                )
            time.sleep(0.05)

    def _raise_if_storage_taken(self, log_start: int) -> None:
        """WiredTiger refuses a data folder another server has open ("Device or resource
        busy", on its WiredTiger.lock): say so, and which server, instead of its traceback."""
        if "resource busy" in self._last_log_line(log_start).lower():
            self._raise_storage_taken()

    def _raise_storage_taken(self) -> None:
        holder = ", ".join(_describe_holder(pid) for pid in _servers_on(self.storage_path))
        raise DatabaseStartError(
            f"another service holds the data folder {self.storage_path}"
            f"{f' ({holder})' if holder else ''}: stop it (Ctrl-C where it runs), or give this"
            " one its own with --data-dir DIR (AFTERSALES_DATA_DIR) or MONGODB_URI"
        )

    def _terminate(self) -> None:
        process, self._process = self._process, None
        release, self._release_keeper = self._release_keeper, None
        try:
            if process is not None and process.poll() is None:
                _stop_process(process, self.host, self.port)
        finally:
            if release is not None:
                release.set()

    def _last_log_line(self, start: int) -> str:
        if self._log_path is None:
            return "(no log)"
        try:
            with self._log_path.open("rb") as log:
                log.seek(start)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return "(log unreadable)"
        last = next((line.strip() for line in reversed(lines) if line.strip()), "(log empty)")
        return last[:300]


def _find_executable() -> str:
    # The venv's bin dir first: PATH may hold another install, or none when the
    # venv's python is run without activating the venv.
    beside_python = Path(sys.executable).parent / EXECUTABLE
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise DatabaseStartError(
            "SecantusDB is not installed: run ./dev serve, which installs it, or set MONGODB_URI"
        )
    return found


def _servers_on(storage_path: str | Path) -> list[int]:
    """Pids of the SecantusDB servers started with this storage path (Linux's /proc)."""
    wanted = str(Path(storage_path).resolve())
    found = []
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError, ValueError):
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
                if not any(EXECUTABLE in arg for arg in argv[:2]):
                    continue
                path = argv[argv.index("--storage-path") + 1]
                cwd = (entry / "cwd").resolve()
                if str((cwd / path).resolve()) == wanted:
                    found.append(int(entry.name))
    return found


def _describe_holder(pid: int) -> str:
    """'SecantusDB pid 12, started by pid 10: python -m api --port 9000', as far as /proc says."""
    text = f"SecantusDB pid {pid}"
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = (Path("/proc") / str(pid) / "stat").read_text()
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state
        argv = (Path("/proc") / str(parent) / "cmdline").read_bytes().decode(errors="replace")
        command = " ".join(
            Path(a).name if i == 0 else a for i, a in enumerate(argv.split("\0")) if a
        )
        text += f", started by pid {parent}: {command[:120]}"
    return text


def _spawn_from_keeper_thread(
    command: list[str], **popen_kwargs: Any
) -> tuple[subprocess.Popen[bytes], threading.Event]:
    """Start the child from a daemon thread that waits until the returned event is set.

    Linux sends the parent-death signal when the *thread* that forked the child
    exits, so forking from the caller's thread would kill the server as soon as
    a short-lived caller (a pool worker, asyncio.to_thread) finishes. A daemon
    thread ends only with the process, or when stop() releases it.
    """
    spawned: Future[subprocess.Popen[bytes]] = Future()
    release = threading.Event()

    def keeper() -> None:
        try:
            spawned.set_result(
                subprocess.Popen(
                    command,
                    # Own process group: a terminal's Ctrl-C reaches only the parent,
                    # which then stops the server in order.
                    process_group=0 if os.name == "posix" else None,
                    preexec_fn=_die_with_parent(),
                    **popen_kwargs,
                )
            )
        except BaseException as exc:
            spawned.set_exception(exc)
            return
        release.wait()

    threading.Thread(target=keeper, name="secantusd-keeper", daemon=True).start()
    try:
        return spawned.result(), release
    except KeyboardInterrupt:  # Ctrl-C while the child is being forked: it must not outlive us
        with contextlib.suppress(Exception):
            child = spawned.result(timeout=5)
            child.kill()
            child.wait()
        release.set()
        raise


def _die_with_parent() -> Callable[[], None] | None:
    """Return a preexec_fn making the kernel kill the child when this process dies.

    SIGKILL, not SIGTERM: a process-wide SIGTERM may land on a thread other than
    SecantusDB's main one, which then never runs its handler (see _stop_process),
    and the orphan would keep the port and the storage lock. At worst SIGKILL
    loses the last few tens of ms of writes (the journal is flushed to the OS
    shortly after each commit, not at it), which a crashed parent loses anyway.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Resolved before fork: loading a library in the forked child is unsafe.
    prctl = _libc().prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _stop_process(process: subprocess.Popen[bytes], host: str, port: int) -> None:
    """SIGTERM to the child's main thread, then SIGKILL after the grace period."""
    # A process-wide SIGTERM may be delivered to any thread; SecantusDB's main
    # thread, blocked in Event.wait(), then never runs its handler and the server
    # hangs (seen on Linux 6.18 with Python 3.11 in 2 of 40 parent-death signals,
    # and in most stops combined with the wake-up below). tgkill targets the main
    # thread, whose thread id is the pid.
    tgkill = getattr(_libc(), "tgkill", None) if sys.platform.startswith("linux") else None
    if tgkill is None or tgkill(process.pid, process.pid, signal.SIGTERM) != 0:
        process.terminate()
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    while process.poll() is None:
        if time.monotonic() >= deadline:
            process.kill()
            process.wait()
            return
        # Its shutdown joins the accept thread, which stays blocked in accept()
        # (2 s timeout); a throwaway connection wakes it: stop takes ~0.1 s.
        _accepts_connections(host, port)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.02)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[Any, ...]]:
    family, _type, _proto, _name, sockaddr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    )[0]
    return family, sockaddr


def _port_is_free(host: str, port: int) -> bool:
    family, sockaddr = _address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server does: lingering TIME_WAIT connections do not make a port taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    family, sockaddr = _address(host, 0)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind(sockaddr)
        return int(probe.getsockname()[1])


def _accepts_connections(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _answers_ping(uri: str) -> bool:
    client: MongoClient[dict[str, Any]] = MongoClient(
        uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()

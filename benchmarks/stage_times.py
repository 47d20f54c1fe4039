"""Where an async worker's time goes, measured in its own process: named coroutine methods are
wrapped to add their wall time (nested stages counted in each), and processes' CPU seconds are
read from /proc. For benchmarks only; nothing of the service imports it."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pymongo import monitoring


class StageTimes:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, attribute: str, name: str | None = None) -> None:
        """Times every await of `owner.attribute` (a coroutine function) under `name`."""
        inner = getattr(owner, attribute)
        label = name or attribute

        @functools.wraps(inner)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await inner(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        setattr(owner, attribute, timed)

    def report(self, per: int, unit: str) -> str:
        """One line a stage: its calls, its total seconds, and its ms per `unit`."""
        lines = [f"stage times (wall, nested stages counted in each), per {unit}:"]
        for label, total in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            lines.append(
                f"  {label:<28} {self.calls[label]:>6} calls {total:8.2f} s "
                f"{1000 * total / max(per, 1):8.2f} ms"
            )
        return "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (Linux) has used so far, its children's not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _clock_ticks()


@functools.cache
def _clock_ticks() -> int:
    import os

    return os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def on_embedded_server(run: Callable[[str, int], Awaitable[None]]) -> None:
    """`run(uri, pid)` against a SecantusDB of its own, in memory: the pid to read its CPU."""
    from api.embedded_db import EmbeddedDatabase

    with EmbeddedDatabase(":memory:") as server:
        assert server.pid is not None
        asyncio.run(run(server.uri, server.pid))


class CommandTimes(monitoring.CommandListener):
    """The database commands a process sends, by command and collection: how many, and their
    round trips' wall time (the server's work and the wait for it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._names: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        where = target if isinstance(target, str) else ""
        self._names[event.request_id] = f"{event.command_name} {where}".strip()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def _done(self, request_id: int, micros: int) -> None:
        name = self._names.pop(request_id, "?")
        self.seconds[name] += micros / 1e6
        self.calls[name] += 1

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def report(self, per: int, unit: str, top: int = 25) -> str:
        lines = [f"database commands (round-trip wall), per {unit}:"]
        for name, total in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(
                f"  {name:<40} {self.calls[name]:>7} calls ({self.calls[name] / max(per, 1):5.2f} "
                f"per {unit}) {total:8.2f} s"
            )
        return "\n".join(lines)

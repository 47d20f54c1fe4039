"""Where a benchmark's database time goes: every command the driver sends, timed and grouped by
command and collection (pass a `CommandTimes` to `connect(event_listeners=...)`).

The time is the driver's round trip (the server's work plus the wire), as pymongo reports it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pymongo import monitoring


@dataclass
class _Tally:
    calls: int = 0
    seconds: float = 0.0
    docs: int = 0  # statements sent (updates, inserted documents)


@dataclass
class CommandTimes(monitoring.CommandListener):
    enabled: bool = False
    tallies: dict[tuple[str, str], _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    _pending: dict[int, tuple[str, str, int]] = field(default_factory=dict)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self.enabled:
            return
        cmd = event.command
        coll = cmd.get(event.command_name)
        coll = coll if isinstance(coll, str) else ""
        docs = len(cmd.get("updates", ())) or len(cmd.get("documents", ()))
        self._pending[event.request_id] = (event.command_name, coll, docs)

    def _done(self, request_id: int, duration_micros: int) -> None:
        key = self._pending.pop(request_id, None)
        if key is None:
            return
        name, coll, docs = key
        tally = self.tallies[(name, coll)]
        tally.calls += 1
        tally.seconds += duration_micros / 1e6
        tally.docs += docs

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def reset(self) -> None:
        self.tallies.clear()
        self._pending.clear()

    def report(self, wall_seconds: float, moves: int) -> str:
        total = sum(t.seconds for t in self.tallies.values())
        lines = [
            f"{'command':<16}{'collection':<18}{'calls':>7}{'stmts':>8}{'seconds':>9}"
            f"{'% wall':>8}{'ms/move':>9}"
        ]
        for (name, coll), t in sorted(self.tallies.items(), key=lambda kv: -kv[1].seconds):
            lines.append(
                f"{name:<16}{coll:<18}{t.calls:>7}{t.docs:>8}{t.seconds:>9.2f}"
                f"{100 * t.seconds / wall_seconds:>7.1f}%{1000 * t.seconds / max(moves, 1):>9.3f}"
            )
        client = wall_seconds - total
        lines.append(
            f"{'(all commands)':<34}{'':>15}{total:>9.2f}{100 * total / wall_seconds:>7.1f}%"
        )
        lines.append(
            f"{'(client: Python between commands)':<49}{client:>9.2f}"
            f"{100 * client / wall_seconds:>7.1f}%"
        )
        return "\n".join(lines)

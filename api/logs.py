"""Logging set-up: one JSON object a line in production, readable lines in development.

Structured fields travel in `extra={"fields": {...}}`; both formats print them. Uvicorn's own
loggers go through the same handler, so a process writes one format only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, FIELDS, {}),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, FIELDS, None)
        if not fields:
            return text
        head, sep, tail = text.partition("\n")  # a traceback follows the fields
        pairs = " ".join(f"{k}={_text(v)}" for k, v in fields.items() if v not in (None, []))
        return f"{head} {pairs}{sep}{tail}"


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


def configure_logging(
    log_format: str = "text",
    level: str = "INFO",
    access_log: bool = False,
    stream: TextIO | None = None,
) -> None:
    """`stream`: where the lines go (standard output unless given; benchmarks pass a sink)."""
    # Neither format prints the thread or the process: not collecting them for every record
    # (the logging HOWTO's "Optimization") saves ~8 us of the ~26 us a GraphQL operation's
    # line took (benchmarks/tab_query.py logs one per request, as the service does).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = name != "uvicorn.access" or access_log

"""One test process at a time: the suite runs in several (pytest-xdist), and an install on first
use (npm into .cache/node, apt-get's chromium) must run once, the others waiting for it."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def held(lock_file: Path) -> Iterator[None]:
    """Holds an exclusive lock on `lock_file` (made if missing) until the block ends."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes, or its process dies
        yield

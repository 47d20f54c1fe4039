"""Stopping a background task for sure.

On Python 3.11 `asyncio.wait_for` can swallow a cancellation that lands as its wait ends
(fixed in 3.12), and a driver call may finish its step before it sees one: a task cancelled once
may run on, and `await task` after `task.cancel()` then waits for as long as it runs (forever,
for a loop). `cancel_until_done` cancels again until the task has ended, within a bound.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("aftersales.shutdown")


async def cancel_until_done(task: asyncio.Task[Any], grace: float = 2.0, tries: int = 5) -> bool:
    """Cancels `task` and waits `grace` seconds for it to end, again up to `tries` times:
    whether it ended. Its result or exception is consumed (it was being stopped)."""
    for _ in range(tries):
        if task.done():
            break
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
    if not task.done():
        log.error("%s did not stop after %d cancellations", task.get_name(), tries)
        return False
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with %r while stopping", task.get_name(), task.exception())
    return True

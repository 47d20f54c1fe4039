"""Ctrl-C during start-up, kept even where Python drops the KeyboardInterrupt.

A SIGINT handler runs in whatever Python code the main thread is in. When that is a callback
whose exceptions Python only reports (a weakref callback of importlib's module locks, a
`__del__`), the KeyboardInterrupt is printed as "Exception ignored in ..." and start-up goes on:
the service then serves with nobody left to stop it (seen in tests/system/test_run_command.py,
a Ctrl-C a second into the imports). So the handler also records the press, such a report of it
is silenced, and start-up asks `check()` before it serves. Once serving, uvicorn's own handlers
take over.

While start-up runs a coroutine (`by_asyncio`: the database's preparation and the demo data),
asyncio.run handles Ctrl-C itself, as it does with Python's default handler: it cancels the
coroutine, which closes what it opened, then raises KeyboardInterrupt. Raised instead in
whatever callback the loop was running, the interrupt could leave a task whose cancellation
never ends, and start-up hung in asyncio.run's clean-up (seen once in
tests/system/test_run_command.py, a Ctrl-C two seconds after the database started).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

_pressed = False
_report_others = sys.unraisablehook


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _pressed
    _pressed = True
    raise KeyboardInterrupt


def _report_unraisable(unraisable: Any) -> None:
    if _pressed and isinstance(unraisable.exc_value, KeyboardInterrupt):
        return  # the press is recorded; check() raises it where it can be handled
    _report_others(unraisable)


def watch() -> None:
    """Handle SIGINT as Python does by default, and remember that it came."""
    global _report_others
    _report_others = sys.unraisablehook
    signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _report_unraisable


def check() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that a callback swallowed."""
    if _pressed:
        raise KeyboardInterrupt


def _terminate_like_ctrl_c(signum: int, frame: FrameType | None) -> None:
    signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def by_asyncio() -> Iterator[None]:
    """For an asyncio.run inside: SIGINT with Python's default handler, which asyncio.run
    replaces with its own (the main task cancelled), and SIGTERM sent on as SIGINT; the
    handlers before, and the press remembered, after."""
    global _pressed
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate_like_ctrl_c)
    try:
        yield
    except KeyboardInterrupt:
        _pressed = True
        raise
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])

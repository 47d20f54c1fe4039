"""A Ctrl-C during start-up that Python only reported still stops the start-up, and one while
start-up runs a coroutine cancels it, so it closes what it opened (api/ctrl_c.py)."""

from __future__ import annotations

import asyncio
import signal
import sys
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from api import ctrl_c


class _Module:  # anything a weak reference can point at
    pass


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """ctrl_c watching, with what reaches the previous unraisable hook collected; SIGINT's
    handler, the hook and the flag restored after."""
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    monkeypatch.setattr(ctrl_c, "_pressed", False)
    previous = signal.getsignal(signal.SIGINT)
    ctrl_c.watch()
    try:
        yield reported
    finally:
        signal.signal(signal.SIGINT, previous)


def _press_ctrl_c_inside_a_weakref_callback() -> None:
    # As in importlib's module locks: the callback runs when the last reference goes.
    target = _Module()
    ref = weakref.ref(target, lambda _: signal.raise_signal(signal.SIGINT))
    del target
    assert ref() is None


def test_a_ctrl_c_that_a_callback_swallowed_is_raised_by_check(watched: list[Any]) -> None:
    _press_ctrl_c_inside_a_weakref_callback()  # returns: Python dropped the KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        ctrl_c.check()
    assert watched == [], "the swallowed interrupt is not printed as 'Exception ignored'"


def test_without_a_ctrl_c_check_passes_and_other_reports_still_print(watched: list[Any]) -> None:
    target = _Module()
    ref = weakref.ref(target, lambda _: 1 / 0)
    del target
    assert ref() is None
    ctrl_c.check()
    [report] = watched
    assert isinstance(report.exc_value, ZeroDivisionError)


def test_a_ctrl_c_in_plain_code_raises_at_once(watched: list[Any]) -> None:
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        ctrl_c.check()


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_a_ctrl_c_while_start_up_runs_a_coroutine_cancels_it_and_its_clean_up_runs(
    watched: list[Any], sent: signal.Signals
) -> None:
    seen: list[str] = []

    async def preparing() -> None:
        try:
            signal.raise_signal(sent)
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        finally:
            await asyncio.sleep(0)  # its clean-up awaits, as closing a client does
            seen.append("closed")

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), ctrl_c.by_asyncio():
        asyncio.run(preparing())

    assert seen == ["cancelled", "closed"]  # not a KeyboardInterrupt inside the coroutine
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    with pytest.raises(KeyboardInterrupt):
        ctrl_c.check()

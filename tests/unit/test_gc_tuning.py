"""The serving process's collector settings (process/gc_tuning.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from process.gc_tuning import GEN0_THRESHOLD, tune_for_serving


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_start_up_objects_are_frozen_and_young_garbage_waits_longer(restored_gc: None) -> None:
    before = gc.get_threshold()
    tune_for_serving()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (GEN0_THRESHOLD, before[1], before[2])


def test_cycles_made_after_start_up_are_still_collected(restored_gc: None) -> None:
    tune_for_serving()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2

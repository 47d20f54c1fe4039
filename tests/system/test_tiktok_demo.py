"""`./dev serve --tiktok-standin`: the stand-in it starts, started again on the same data, never
repeats an id of an earlier run, which the service's database still holds (a repeated order or
cancellation id would be taken for the old one, a repeated webhook id dropped as a replay)."""

from __future__ import annotations

import os

import httpx
import pytest

from api.settings import default_settings
from api.tiktok_demo import standin_linked
from tests.support.processes import free_port


def test_h4_the_demo_stand_in_started_again_never_repeats_an_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # standin_linked links the demo shop through the environment: this test's copy only.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    settings = default_settings(host="127.0.0.1", port=free_port())
    runs: list[tuple[str, str, set[str]]] = []
    for _ in range(2):
        with standin_linked(settings) as base:
            order = httpx.post(f"{base}/_standin/orders", json={}, timeout=10).json()
            cancel = httpx.post(
                f"{base}/_standin/cancellations", json={"order_id": order["id"]}, timeout=10
            ).json()
            notes = httpx.get(f"{base}/_standin/webhooks", timeout=10).json()["notifications"]
            runs.append(
                (order["id"], cancel["cancel_id"], {n["tts_notification_id"] for n in notes})
            )
    (order_1, cancel_1, notes_1), (order_2, cancel_2, notes_2) = runs
    assert notes_1 and notes_2
    assert order_1 != order_2 and cancel_1 != cancel_2
    assert not notes_1 & notes_2

"""docs/deploy.md lists every index the service creates."""

from __future__ import annotations

from pathlib import Path

from storage import indexes

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def test_the_deploy_guide_lists_every_index() -> None:
    text = DEPLOY.read_text()
    every = [
        *indexes.CANCELLATION_INDEXES,
        *indexes.ORDER_INDEXES,
        *indexes.NOTIFICATION_INDEXES,
        *indexes.IDEMPOTENCY_INDEXES,
    ]
    for model in every:
        name = model.document["name"]
        keys = ", ".join(model.document["key"])
        assert f"| `{name}` | {keys} |" in text, f"docs/deploy.md misses index {name}"

"""Settings: the README lists every one with its default; a bad value names itself in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings, SettingsError, env_name, load_settings
from api.settings_table import BEGIN, END, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_is_generated_from_the_settings_model() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text, "README lost its settings table markers"
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert current == settings_table(), (
        "README's settings table is stale: run `./dev run api.settings_table` and paste it"
    )


def test_every_setting_has_a_description_and_an_environment_variable() -> None:
    table = settings_table()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} needs a description for the README"
        assert f"| `{env_name(name)}` |" in table


def test_mongodb_uri_is_read_without_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017/?replicaSet=rs0")
    assert load_settings().mongodb_uri == "mongodb://db.example:27017/?replicaSet=rs0"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AFTERSALES_PORT", "eighty"),
        ("AFTERSALES_PORT", "70000"),
        ("AFTERSALES_DATABASE", "no spaces allowed"),
        ("AFTERSALES_WORKER_INTERVAL_SECONDS", "0"),
        ("AFTERSALES_WORKER_BATCH_SIZE", "10001"),
        ("AFTERSALES_DB_TIMEOUT_MS", "10"),
        ("AFTERSALES_DEMO_DATA", "perhaps"),
    ],
)
def test_a_bad_value_gives_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"setting {name} is invalid: ")
    assert "\n" not in message

"""`./dev serve` options: each stands for its setting, and --help names the variable."""

from __future__ import annotations

import pytest

from api.command_line import help_text, parse_options
from api.settings import Settings, env_name


def test_each_option_sets_its_setting() -> None:
    options = parse_options(
        ["--host", "0.0.0.0", "--port", "9000", "--workers", "3", "--data-dir", "/tmp/x"]
    )
    assert options.settings == {
        "AFTERSALES_HOST": "0.0.0.0",
        "AFTERSALES_PORT": "9000",
        "AFTERSALES_WORKERS": "3",
        "AFTERSALES_DATA_DIR": "/tmp/x",
    }
    assert not options.reset_demo
    # Validated as settings are: the values the options give load into the settings model.
    settings = Settings(
        **{
            name: options.settings[env_name(name)]
            for name in ("host", "port", "workers", "data_dir")
        }
    )
    assert (settings.port, settings.workers, str(settings.data_dir)) == (9000, 3, "/tmp/x")


def test_no_options_leave_the_environment_in_charge() -> None:
    assert parse_options([]).settings == {}


def test_no_demo_and_reset_demo() -> None:
    assert parse_options(["--no-demo"]).settings == {"AFTERSALES_DEMO_DATA": "false"}
    reset = parse_options(["--reset-demo"])
    assert reset.reset_demo and reset.settings == {"AFTERSALES_DEMO_DATA": "true"}


@pytest.mark.parametrize(
    "argv",
    [["--port", "nine"], ["--workers", "many"], ["--no-demo", "--reset-demo"], ["--colour"]],
)
def test_a_bad_option_is_refused_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_options(argv)
    assert stopped.value.code == 2
    assert "usage: ./dev serve" in capsys.readouterr().err


def test_help_lists_every_option_with_its_environment_variable() -> None:
    text = " ".join(help_text().split())  # argparse wraps lines
    for option, name in [
        ("--host", "host"),
        ("--port", "port"),
        ("--workers", "workers"),
        ("--data-dir", "data_dir"),
        ("--no-demo", "demo_data"),
    ]:
        assert option in text
        assert env_name(name) in text, name
    assert "--reset-demo" in text and "MONGODB_URI" in text
    assert "(AFTERSALES_PORT, default 8000)" in text  # the settings' own defaults

"""The options of `python -m api` (`./dev serve`).

Each option but --reset-demo stands for a setting (api/settings.py) and is passed on as its
environment variable, so it is validated with the others and wins over the environment.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

from api.settings import Settings, env_name

PROG = "./dev serve"  # python -m api takes the same options


@dataclass(frozen=True)
class StartOptions:
    settings: dict[str, str] = field(default_factory=dict)  # environment variable -> value
    reset_demo: bool = False
    tiktok_standin: bool = False


def _setting(name: str) -> str:
    """'AFTERSALES_PORT, default 8000': the variable and default of a setting, for --help."""
    return f"{env_name(name)}, default {Settings.model_fields[name].default}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Start the after-sales GraphQL service: the embedded database (unless "
        "MONGODB_URI is set), demo data on first run, then the service.",
        epilog="Every other setting is an environment variable (or a line in .env): see "
        "Settings in the README. MONGODB_URI=mongodb://... uses that MongoDB instead of "
        "starting the embedded SecantusDB.",
    )
    parser.add_argument(
        "--host", metavar="ADDRESS", help=f"address to listen on ({_setting('host')})"
    )
    parser.add_argument(
        "--port", type=int, metavar="PORT", help=f"port to listen on ({_setting('port')})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"service processes sharing the port ({_setting('workers')})",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where the embedded database keeps its files, in DIR/db ({_setting('data_dir')})",
    )
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument(
        "--no-demo",
        action="store_true",
        help=f"do not load the demo data into an empty database ({env_name('demo_data')}=false)",
    )
    demo.add_argument(
        "--reset-demo",
        action="store_true",
        help=f"drop the database ({env_name('database')}) and load the demo data afresh; "
        "refused in production",
    )
    parser.add_argument(
        "--tiktok-standin",
        action="store_true",
        help="also start the TikTok Shop stand-in and link the first demo shop to it "
        "(docs/tiktok.md)",
    )
    return parser


_SETTINGS = ("host", "port", "workers", "data_dir")  # options named as their settings


def parse_options(argv: Sequence[str]) -> StartOptions:
    """The settings the command line gives; argparse exits 2 with usage on a bad one."""
    args = _parser().parse_args(list(argv))
    settings = {
        env_name(name): str(value)
        for name in _SETTINGS
        if (value := getattr(args, name)) is not None
    }
    if args.no_demo or args.reset_demo:
        settings[env_name("demo_data")] = "false" if args.no_demo else "true"
    return StartOptions(
        settings=settings, reset_demo=args.reset_demo, tiktok_standin=args.tiktok_standin
    )


def help_text() -> str:
    return _parser().format_help()

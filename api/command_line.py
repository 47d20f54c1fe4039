"""The options of `python -m api` (`./dev serve`).

Each option but --reset-demo stands for a setting (api/settings.py) and is passed on as its
environment variable, so it is validated with the others and wins over the environment.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

PROG = "./dev serve"  # python -m api takes the same options


@dataclass(frozen=True)
class StartOptions:
    settings: dict[str, str] = field(default_factory=dict)  # environment variable -> value
    reset_demo: bool = False


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
        "--host", metavar="ADDRESS", help="address to listen on (AFTERSALES_HOST; 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, metavar="PORT", help="port to listen on (AFTERSALES_PORT; 8000)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="service processes sharing the port (AFTERSALES_WORKERS; 1)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the embedded database keeps its files, in DIR/db (AFTERSALES_DATA_DIR; data)",
    )
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument(
        "--no-demo",
        action="store_true",
        help="do not load the demo data into an empty database (AFTERSALES_DEMO_DATA=false)",
    )
    demo.add_argument(
        "--reset-demo",
        action="store_true",
        help="drop the database (AFTERSALES_DATABASE) and load the demo data afresh; "
        "refused in production",
    )
    return parser


_SETTINGS = {  # option's attribute -> the environment variable it sets
    "host": "AFTERSALES_HOST",
    "port": "AFTERSALES_PORT",
    "workers": "AFTERSALES_WORKERS",
    "data_dir": "AFTERSALES_DATA_DIR",
}


def parse_options(argv: Sequence[str]) -> StartOptions:
    """The settings the command line gives; argparse exits 2 with usage on a bad one."""
    args = _parser().parse_args(list(argv))
    settings = {
        env: str(value)
        for attr, env in _SETTINGS.items()
        if (value := getattr(args, attr)) is not None
    }
    if args.no_demo:
        settings["AFTERSALES_DEMO_DATA"] = "false"
    if args.reset_demo:
        settings["AFTERSALES_DEMO_DATA"] = "true"
    return StartOptions(settings=settings, reset_demo=args.reset_demo)


def help_text() -> str:
    return _parser().format_help()

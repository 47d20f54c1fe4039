"""The command line that runs the stand-in as its own process (the demo, the tests and the
benchmarks start it the same way; `python -m devtools.tiktok_shop --help` lists the flags)."""

from __future__ import annotations

import sys


def standin_command(
    port: int, app_key: str, app_secret: str, webhook_url: str | None, *flags: str
) -> list[str]:
    return [
        sys.executable,
        *("-m", "devtools.tiktok_shop", "--port", str(port)),
        *("--app-key", app_key, "--app-secret", app_secret),
        *(("--webhook-url", webhook_url) if webhook_url else ()),
        *flags,
    ]

"""`./dev serve --tiktok-standin`: the TikTok Shop stand-in (devtools/tiktok_shop) started as a
child process, the first demo shop linked to it through the `AFTERSALES_TIKTOK_*` settings, and
its webhooks sent to this service; both stop together (docs/tiktok.md walks through it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx

from api.settings import Settings, env_name
from devtools.tiktok_shop.launch import standin_command

APP_KEY, APP_SECRET = "demo-key", "demo-secret"
# The stand-in's first shop (its defaults): TikTok's id, cipher and access token.
TIKTOK_SHOP, CIPHER, TOKEN = "7495540735365777507", "ROW_standin_cipher", "TTP_standin_access_token"
DEMO_SHOP = "shop-1"


class StandInStartError(Exception):
    """The stand-in did not start; one line says why."""


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def standin_linked(settings: Settings) -> Iterator[str]:
    """Starts the stand-in and sets the settings that link the demo shop to it (in the
    environment, which the service processes read); yields the stand-in's base URL."""
    port = _free_port(settings.host)
    base = f"http://{settings.host}:{port}"
    webhook_url = f"http://{settings.host}:{settings.port}/webhooks/tiktok"
    # Ids from the start time in milliseconds: the database keeps an earlier run's mirrors
    # and webhook ids, and a repeated id would be taken for the old order or request (or
    # dropped as a replayed webhook); a run never makes an id a millisecond.
    first_id = str(time.time_ns() // 1_000_000)
    command = standin_command(port, APP_KEY, APP_SECRET, webhook_url, "--first-id", first_id)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_up(process, base)
        os.environ.update(
            {
                env_name("tiktok_shop"): DEMO_SHOP,
                env_name("tiktok_shop_id"): TIKTOK_SHOP,
                env_name("tiktok_app_key"): APP_KEY,
                env_name("tiktok_app_secret"): APP_SECRET,
                env_name("tiktok_shop_cipher"): CIPHER,
                env_name("tiktok_access_token"): TOKEN,
                env_name("tiktok_api_base"): base,
                env_name("tiktok_auth_base"): base,
                # A newcomer sees a missed webhook repaired within seconds, not a minute.
                env_name("tiktok_reconcile_seconds"): "10",
            }
        )
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            last = error.strip().splitlines()[-1:] or ["no output"]
            raise StandInStartError(f"the TikTok stand-in stopped: {last[0]}")
        try:
            if httpx.get(f"{base}/_standin/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise StandInStartError("the TikTok stand-in did not answer within 20 s")


def welcome(base: str) -> list[str]:
    return [
        f"TikTok Shop stand-in: {base} (shop {DEMO_SHOP} is linked to it; docs/tiktok.md)",
        "  a TikTok order:  curl -s -X POST " + base + "/_standin/orders -d "
        '\'{"line_items": [{"product_name": "Mug", "sale_price": "12.50"}]}\'',
        "  the buyer cancels: curl -s -X POST " + base + "/_standin/cancellations -d "
        '\'{"order_id": "<id from the line above>"}\'',
    ]

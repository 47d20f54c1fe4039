"""python -m devtools.tiktok_shop --port N --app-key K --app-secret S [--webhook-url URL] ...

Runs the stand-in of TikTok Shop's Open API on 127.0.0.1 until Ctrl-C or SIGTERM, and prints one
line `tiktok-shop stand-in: http://127.0.0.1:N` once it listens."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from devtools.tiktok_shop.app import Settings, StandIn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.tiktok_shop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--app-key", required=True)
    parser.add_argument("--app-secret", required=True)
    parser.add_argument("--webhook-url", help="where signed webhooks go (none: only logged)")
    parser.add_argument("--shop-id", default=Settings.shop_id)
    parser.add_argument("--shop-cipher", default=Settings.shop_cipher)
    parser.add_argument("--access-token", default=Settings.access_token)
    parser.add_argument("--seed", type=int, default=0, help="seed of the chaos generators")
    parser.add_argument(
        "--response-window-seconds",
        type=int,
        default=Settings.response_window_seconds,
        help="the seller's time to answer a request before the marketplace approves it",
    )
    parser.add_argument(
        "--webhook-retry-delays",
        default="0.2,0.5,1",
        help="seconds between a failed webhook delivery and its retries, comma-separated",
    )
    parser.add_argument(
        "--manual-refunds",
        action="store_true",
        help="leave approved requests in _SUCCESS until the control API completes them",
    )
    parser.add_argument(
        "--first-id",
        type=int,
        default=Settings.first_id,
        help="where the ids of orders, requests and webhooks start counting (a restarted "
        "stand-in given a higher one never repeats an id a service already holds)",
    )
    parser.add_argument(
        "--webhook-concurrency",
        type=int,
        default=Settings.webhook_concurrency,
        help="webhooks delivered at once, each taken in order (1: one after another, as the "
        "tests' ordering faults expect; TikTok sends many at once)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        app_key=args.app_key,
        app_secret=args.app_secret,
        webhook_url=args.webhook_url,
        shop_id=args.shop_id,
        shop_cipher=args.shop_cipher,
        access_token=args.access_token,
        seed=args.seed,
        response_window_seconds=args.response_window_seconds,
        retry_delays=tuple(float(d) for d in args.webhook_retry_delays.split(",") if d),
        auto_complete=not args.manual_refunds,
        first_id=args.first_id,
        webhook_concurrency=args.webhook_concurrency,
    )
    app = StandIn(settings).app()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    Listening(config).run()


class Listening(uvicorn.Server):
    """Says where it listens once the socket is bound, not before."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            where = f"http://{self.config.host}:{self.config.port}"
            print(f"tiktok-shop stand-in: {where}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

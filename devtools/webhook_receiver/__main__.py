"""python -m devtools.webhook_receiver --port N --secret S [--scheme stripe|split] ...

Listens on 127.0.0.1 for the service's outbound webhooks until Ctrl-C or SIGTERM, and prints one
line `webhook receiver: http://127.0.0.1:N` once it listens."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from devtools.webhook_receiver.receiver import Receiver
from devtools.webhook_receiver.server import ReceiverServer
from devtools.webhook_receiver.signature import SCHEMES, Scheme


async def run(server: ReceiverServer) -> None:
    await server.start()
    print(f"webhook receiver: http://{server.host}:{server.port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.webhook_receiver", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--secret", required=True, help="the webhook's signing secret")
    parser.add_argument("--scheme", choices=SCHEMES, default="stripe")
    parser.add_argument("--signature-header", default="Webhook-Signature")
    parser.add_argument("--timestamp-header", default="Webhook-Timestamp")
    parser.add_argument("--tolerance-seconds", type=int, default=300)
    parser.add_argument("--id-header", default="Webhook-Id")
    parser.add_argument("--shop-header", default="Webhook-Shop")
    parser.add_argument("--sequence-header", default="Webhook-Sequence")
    args = parser.parse_args(argv)
    scheme = Scheme(
        name=args.scheme,
        signature_header=args.signature_header,
        timestamp_header=args.timestamp_header,
        tolerance_seconds=args.tolerance_seconds,
    )
    receiver = Receiver(
        args.secret,
        scheme,
        id_header=args.id_header,
        shop_header=args.shop_header,
        sequence_header=args.sequence_header,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(ReceiverServer(receiver, args.host, args.port)))


if __name__ == "__main__":
    main()

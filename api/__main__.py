"""`python -m api` (what `./dev serve` runs): database, demo data, then the service.

Without MONGODB_URI it starts the embedded SecantusDB as a child process, keeps its data under
AFTERSALES_DATA_DIR, and stops it on exit. Every expected failure prints one line and exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from typing import Any

import uvicorn
from pymongo.errors import PyMongoError

from api.app import create_app
from api.embedded_db import DatabaseStartError, EmbeddedDatabase
from api.identity import mint_token, parse_actor
from api.settings import Settings, SettingsError, load_settings
from models.clock import SystemClock
from services.bootstrap import build_services
from services.deadline_worker import DeadlineWorker
from services.demo_data import SHOPS, load_demo_data
from storage.mongo import connect


class StartError(Exception):
    pass


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise StartError(
                f"port {port} on {host} is taken: stop what uses it or set AFTERSALES_PORT"
            ) from None


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    if settings.mongodb_uri:
        yield settings.mongodb_uri
        return
    embedded = EmbeddedDatabase(settings.data_dir / "db", port=settings.db_port)
    print(f"starting the embedded database (SecantusDB) with data in {settings.data_dir}/db ...")
    with embedded:
        yield embedded.uri


DEMO_TOKEN_HOURS = 24


def demo_tokens(settings: Settings, shop: str) -> list[tuple[str, str]]:
    """Ready headers for GraphiQL's header editor: (who, header JSON)."""
    people = [
        (f"seller:agent-1@{shop}+adjustments", "a seller agent who may act"),
        (f"seller:agent-2@{shop}", "a seller agent who may only read"),
        ("buyer:buyer-1", "a buyer"),
        ("platform:ops-1", "the platform"),
    ]
    ttl = timedelta(hours=DEMO_TOKEN_HOURS)
    out = []
    for notation, who in people:
        actor = parse_actor(notation)
        assert actor is not None
        token = mint_token(actor, settings.signing_secret(), ttl=ttl)
        out.append((f"{who} ({notation})", f'{{"Authorization": "Bearer {token}"}}'))
    return out


def _print_welcome(settings: Settings, port: int) -> None:
    url = f"http://{settings.host}:{port}/graphql"
    shop = next(iter(SHOPS))
    lines = [""]
    if settings.graphiql_enabled:
        lines.append(f"GraphiQL: {url}")
    else:
        lines.append(f"GraphQL: {url}")
    if settings.production:
        lines.append("production mode: GraphiQL and introspection off; mint tokens with your IdP")
    else:
        lines.append(
            f"Paste one header into GraphiQL's Headers tab (valid {DEMO_TOKEN_HOURS} h; "
            "more: ./dev token --help):"
        )
        for who, header in demo_tokens(settings, shop):
            lines.append(f"  {who}:\n    {header}")
        if settings.demo_actor:
            lines.append(f"without a token you are {settings.demo_actor} (AFTERSALES_DEMO_ACTOR)")
    lines.append("Ctrl-C stops the service and the database it started.\n")
    print("\n".join(lines), flush=True)


async def _serve(settings: Settings, uri: str) -> None:
    db = connect(uri, settings.database, timeout_ms=settings.db_timeout_ms)
    try:
        try:
            await db.ping()
            services = await build_services(db, SystemClock())
            if settings.demo_data:
                summary = await load_demo_data(db, services.clock.now())
                if summary:
                    print(
                        f"loaded demo data: {summary.orders} orders, "
                        f"{summary.cancellations} cancellations, "
                        f"{summary.after_sales} after-sale requests"
                    )
        except PyMongoError as exc:
            raise StartError(
                f"the database at {uri} did not answer ({type(exc).__name__}): "
                "check MONGODB_URI and that the server is running"
            ) from None
        worker = None
        if settings.worker_enabled:
            worker = DeadlineWorker(
                services,
                interval=settings.worker_interval_seconds,
                batch_size=settings.worker_batch_size,
            )
        config = uvicorn.Config(
            create_app(services, settings=settings, worker=worker),
            host=settings.host,
            port=settings.port,
            log_level="info",
            lifespan="on",
            # Compressing each small feed message per connection cost ~20 us a delivery
            # (benchmarks/fanout.py); feed messages are a few hundred bytes.
            ws_per_message_deflate=False,
        )
        server = uvicorn.Server(config)
        _print_welcome(settings, settings.port)
        await server.serve()
    finally:
        await db.close()


def _run(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop where it is installed (uvicorn[standard] brings it): the live feed's fan-out
    is mostly callbacks and socket writes, which it does in C (benchmarks/fanout.py)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then raises it again; ending like Ctrl-C lets
    # the embedded database stop cleanly and the process exit 0.
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        settings = load_settings()
        _check_port(settings.host, settings.port)
        with _database(settings) as uri:
            _run(_serve(settings, uri))
    except (SettingsError, StartError, DatabaseStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

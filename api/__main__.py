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
from collections.abc import Iterator

import uvicorn
from pymongo.errors import PyMongoError

from api.app import create_app
from api.embedded_db import DatabaseStartError, EmbeddedDatabase
from api.logs import configure_logging
from api.metrics import DatabaseLatency, ObservedDeadlineWorker
from api.settings import Settings, SettingsError, load_settings
from models.clock import SystemClock
from services.bootstrap import build_services
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


def _print_welcome(settings: Settings, port: int) -> None:
    url = f"http://{settings.host}:{port}/graphql"
    shop = next(iter(SHOPS))
    print(
        f"\nGraphiQL: {url}\n"
        "Identify yourself with a request header (GraphiQL: Headers tab), for example:\n"
        f'  {{"X-Actor": "seller:agent-1@{shop}+adjustments"}}   a seller agent who may act\n'
        '  {"X-Actor": "buyer:buyer-1"}                          a buyer\n'
        '  {"X-Actor": "platform:ops-1"}                         the platform\n'
        "Ctrl-C stops the service and the database it started.\n",
        flush=True,
    )


async def _serve(settings: Settings, uri: str) -> None:
    db = connect(
        uri,
        settings.database,
        timeout_ms=settings.db_timeout_ms,
        event_listeners=[DatabaseLatency()],
    )
    try:
        try:
            await db.ping()
            services = await build_services(db, SystemClock())
            if settings.demo_data:
                summary = await load_demo_data(db, services.clock.now())
                if summary:
                    print(
                        f"loaded demo data: {summary.orders} orders, "
                        f"{summary.cancellations} cancellations"
                    )
        except PyMongoError as exc:
            raise StartError(
                f"the database at {uri} did not answer ({type(exc).__name__}): "
                "check MONGODB_URI and that the server is running"
            ) from None
        worker = None
        if settings.worker_enabled:
            worker = ObservedDeadlineWorker(
                services,
                interval=settings.worker_interval_seconds,
                batch_size=settings.worker_batch_size,
            )
        config = uvicorn.Config(
            create_app(
                services,
                graphiql=settings.graphiql,
                worker=worker,
                max_worker_lag_seconds=settings.ready_max_worker_lag_seconds,
                shutdown_timeout_seconds=settings.shutdown_timeout_seconds,
            ),
            host=settings.host,
            port=settings.port,
            log_config=None,  # configure_logging set up every logger, uvicorn's too
            access_log=settings.access_log,
            # SIGTERM or Ctrl-C: stop listening, let requests in flight finish within this,
            # then run the lifespan's shutdown (the deadline worker stops).
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        _print_welcome(settings, settings.port)
        await server.serve()
    finally:
        await db.close()


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then raises it again; ending like Ctrl-C lets
    # the embedded database stop cleanly and the process exit 0.
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        _check_port(settings.host, settings.port)
        with _database(settings) as uri:
            asyncio.run(_serve(settings, uri))
    except (SettingsError, StartError, DatabaseStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

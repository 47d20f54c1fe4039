"""What `python -m api` (`./dev serve`) runs: database, demo data, then the service.

The command-line options set the settings of the same name (`--port` is AFTERSALES_PORT, ...);
`--help` lists them. Without MONGODB_URI it starts the embedded SecantusDB as a child process,
keeps its data under AFTERSALES_DATA_DIR, and stops it on exit. The database is prepared once
(indexes, demo data), then one service process runs here, or N run as uvicorn workers sharing
the port (process/process_app.py is what each runs). Every expected failure prints one line and
exits 1; Ctrl-C (or SIGTERM) during start-up stops what was started, prints one line and exits 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from typing import Any

import uvicorn
from pymongo.errors import PyMongoError

from api import ctrl_c
from api.command_line import parse_options
from api.embedded_db import DatabaseStartError, EmbeddedDatabase
from api.identity import mint_token, parse_actor
from api.logs import configure_logging
from api.settings import Settings, SettingsError, load_settings
from api.tiktok_demo import StandInStartError, standin_linked, welcome
from feed.socket_writer import UVICORN_WS_OPTIONS
from feed.ws_messages import uvicorn_limits
from models.clock import SystemClock
from process.process_app import ProcessApp, close_served_subscriptions
from process.shutdown import GracefulMultiprocess, GracefulServer
from services.bootstrap import build_services
from services.demo_data import SHOPS, load_demo_data
from storage.mongo import connect

log = logging.getLogger("aftersales.start")


class StartError(Exception):
    pass


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise StartError(
                f"port {port} on {host} is taken: stop what uses it, or choose another with"
                " --port (AFTERSALES_PORT)"
            ) from None


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    if settings.mongodb_uri:
        yield settings.mongodb_uri
        return
    embedded = EmbeddedDatabase(settings.data_dir / "db", port=settings.db_port)
    log.info("starting the embedded database (SecantusDB) with data in %s/db", settings.data_dir)
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


@contextlib.contextmanager
def _tiktok(settings: Settings, wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    with standin_linked(settings) as base:
        yield base


def _print_welcome(settings: Settings, port: int) -> None:
    url = f"http://{settings.host}:{port}/graphql"
    shop = next(iter(SHOPS))
    lines = [""]
    if settings.graphiql_enabled:
        lines.append(f"GraphiQL: {url}")
    else:
        lines.append(f"GraphQL: {url}")
    lines.append(f"Live dashboard: http://{settings.host}:{port}/dashboard?shop={shop}")
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


async def _prepare(settings: Settings, uri: str, *, reset_demo: bool = False) -> None:
    """Once, before any service process: the database answers, indexes exist, demo data."""
    db = connect(uri, settings.database, timeout_ms=settings.db_timeout_ms)
    loading = False
    try:
        await db.ping()
        if reset_demo:
            await db.client.drop_database(settings.database)
            log.info("dropped the database %s (--reset-demo)", settings.database)
        services = await build_services(db, SystemClock())
        if settings.demo_data:
            loading = True
            summary = await load_demo_data(db, services.clock.now())
            loading = False
            if summary:
                log.info(
                    "loaded demo data: %d orders, %d cancellations, %d after-sale requests",
                    summary.orders,
                    summary.cancellations,
                    summary.after_sales,
                )
    except PyMongoError as exc:
        raise StartError(
            f"the database at {uri} did not answer ({type(exc).__name__}): "
            "check MONGODB_URI and that the server is running"
        ) from None
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this, then raises it
        if loading:  # the next start sees orders and would not load the rest
            print("the demo data is incomplete: start with --reset-demo", file=sys.stderr)
        raise
    finally:
        await db.close()


def _uvicorn_config(settings: Settings, app: ProcessApp | str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_config=None,  # configure_logging set up every logger, uvicorn's too
        access_log=settings.access_log,
        # SIGTERM or Ctrl-C: stop listening, let requests in flight finish within this,
        # then run the lifespan's shutdown (the deadline worker stops).
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        lifespan="on",
        **UVICORN_WS_OPTIONS,  # what feed/socket_writer.py writes feed messages to directly
        **uvicorn_limits(settings.max_body_bytes),  # a WebSocket message, as a request body
    )


def _serve_processes(settings: Settings) -> None:
    """N processes on one port: uvicorn's supervisor starts them, restarts one that dies, and
    passes SIGTERM/SIGINT on (each then shuts down gracefully)."""
    metrics_dir = None
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        metrics_dir = tempfile.mkdtemp(prefix="aftersales-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        config = _uvicorn_config(settings, "process.process_app:create_process_app")
        GracefulMultiprocess(config, [config.bind_socket()], close_served_subscriptions).run()
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


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


INTERRUPTED = 130  # what a shell reports for a program stopped by Ctrl-C (api/__main__.py)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(sys.argv[1:] if argv is None else argv)
    os.environ.update(options.settings)  # validated with the other settings
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    serving = False
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level, settings.access_log)
        if options.reset_demo and settings.production:
            raise StartError("--reset-demo drops the database: refused with AFTERSALES_PRODUCTION")
        _check_port(settings.host, settings.port)
        with _database(settings) as uri, _tiktok(settings, options.tiktok_standin) as standin:
            if standin:
                settings = load_settings()  # with the link to the stand-in
            with ctrl_c.by_asyncio():  # a Ctrl-C cancels the preparation, which closes its client
                asyncio.run(_prepare(settings, uri, reset_demo=options.reset_demo))
            # Service processes connect to the same database and never load demo data.
            settings = settings.model_copy(update={"mongodb_uri": uri, "demo_data": False})
            if settings.log_format == "text":  # JSON logs stay machine-readable only
                _print_welcome(settings, settings.port)
                if standin:
                    print("\n".join(welcome(standin)) + "\n", flush=True)
            ctrl_c.check()  # pressed where Python only reported it: stop before serving
            serving = True  # from here uvicorn handles Ctrl-C and logs its own shutdown
            if settings.workers == 1:
                app = ProcessApp(settings)
                server = GracefulServer(_uvicorn_config(settings, app), app.close_subscriptions)
                _run(server.serve())
            else:
                os.environ["MONGODB_URI"] = uri
                os.environ["AFTERSALES_DEMO_DATA"] = "false"
                _serve_processes(settings)
    except (SettingsError, StartError, DatabaseStartError, StandInStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if not serving:
            # The database it started is stopped by now (the with block, or start() itself).
            print("stopped (Ctrl-C) before the service started", file=sys.stderr)
            return INTERRUPTED
    return 0

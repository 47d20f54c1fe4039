"""The ASGI application: GraphQL (HTTP and WebSocket) with GraphiQL, on Starlette.

Who calls is decided by api/identity.py; what the settings harden (body size, WebSocket init
wait and subscriptions per connection, allowed origins, rate limit, masking, introspection,
GraphiQL) is wired here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from api import identity
from api.dashboard import dashboard_routes
from api.deadlines import OperationDeadline
from api.evidence_routes import evidence_routes
from api.graphiql import graphiql_page, graphiql_routes
from api.health import Readiness, database_check, feed_check, healthz, readyz, worker_check
from api.metrics import (
    FEED_EVENTS_DROPPED,
    CountWebSockets,
    guarded_metrics,
    mark_this_process_dead,
)
from api.middleware import BodySizeLimit, integration_body_cap
from api.request_id import RequestIdMiddleware, current_request_id, new_request_id
from api.settings import Settings, default_settings
from feed.handlers import FeedConnection, FeedProtocols, close_all
from feed.live_feed import LiveFeed
from feed.sharing import Broadcasts
from feed.socket_writer import ExposeDirectSender
from feed.ws_callers import Admission, CallerConnections, caller_key
from graphql_runtime.encodable_strings import encodable
from graphql_runtime.limits import Guard, RateLimiter
from graphql_runtime.operation_log import observe_operations
from models.actors import Actor
from models.errors import Forbidden
from models.evidence import Limits, reason_codes
from resolvers.context import Context
from resolvers.schema import schema
from services.bootstrap import Services
from services.deadline_worker import DeadlineWorker
from services.evidence import EvidenceConfig, EvidenceService, url_secret_of
from services.tiktok_connection import TikTokConnection
from services.webhook_delivery import WebhookDispatcher
from services.webhooks import WebhookService

observe_operations(schema)  # one log line, metrics and the request id per operation


# Strawberry's encoding (compact separators), without json's check for cycles: an answer is a
# tree the executor has just built, and the check kept a table of every dict and list of it
# (benchmarks/tab_stages.py times both on a tab page's answer).
_ANSWER_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


class AfterSalesGraphQL(FeedProtocols, GraphQL[Context, None]):
    def encode_json(self, data: object) -> str:
        return _ANSWER_JSON.encode(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's page, its scripts served by this service (api/graphiql.py).
        return HTMLResponse(graphiql_page())

    def __init__(
        self,
        services: Services,
        settings: Settings,
        *,
        worker: DeadlineWorker | None,
        feed: LiveFeed,
    ) -> None:
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if settings.ws_legacy_protocol:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            subscription_protocols=protocols,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_wait_seconds),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            allowed_origins=settings.origins,
        )
        self.services = services
        self.worker = worker
        self.feed = feed
        self.webhooks = WebhookService(services.db, services.clock, production=settings.production)
        self.open_handlers: set[FeedConnection] = set()  # closed with 1001 at shutdown
        self.max_message_bytes = settings.max_body_bytes  # a WebSocket message, as a body
        self.callers = CallerConnections(settings.ws_max_connections_per_caller)
        self.broadcasts = (
            Broadcasts(settings.subscriber_queue) if settings.ws_shared_execution else None
        )
        self.identity = identity.config_from(
            settings.signing_secret(), settings.demo_actor, production=settings.production
        )
        identity.configure(self.identity)  # for callers that do not pass a config
        limiter = None
        if settings.rate_limit_cost > 0:
            limiter = RateLimiter(settings.rate_limit_cost, settings.rate_limit_window_seconds)
        self.guard = Guard(
            mask_errors=settings.production,
            introspection=settings.introspection_enabled,
            rate_limiter=limiter,
        )

    def decode_json(self, data: str | bytes) -> object:
        """A body that is not one JSON object is the client's fault (400), never a crash: strawberry
        itself fails with a 500 on `0`, on bytes that are not UTF-8 and on very deep nesting."""
        try:
            decoded = json.loads(data)
        except (ValueError, RecursionError):
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(decoded, dict):
            raise HTTPException(400, "The request body must be one JSON object (no batching)")
        # Strings in the variables are checked by the schema (graphql_runtime/encodable_strings.py);
        # an operation name is repeated in the answer when no operation has it.
        name = decoded.get("operationName")
        if isinstance(name, str) and not encodable(name):
            raise HTTPException(400, "operationName is not valid Unicode text")
        return decoded

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        actor: Actor | None = None
        error = None
        if isinstance(request, Request):  # a WebSocket's caller comes with connection_init
            try:
                actor = identity.actor_from_headers(request.headers, self.identity)
            except identity.Unauthenticated as exc:
                error = str(exc)
        return Context(
            services=self.services,
            actor=actor,
            identity_error=error,
            worker=self.worker,
            feed=self.feed,
            webhooks=self.webhooks,
            request=request,
            response=response,
            request_id=current_request_id.get() or new_request_id(),
            guard=self.guard,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The connection's caller, from the connection_init payload; refused (4403) without,
        and (4429) when the caller has too many connections open here."""
        try:
            actor, expires_at = identity.connection_identity(
                context.connection_params, self.identity
            )
        except identity.Unauthenticated as exc:
            raise ConnectionRejectionError(
                {"code": "UNAUTHENTICATED", "message": str(exc)}
            ) from None
        client = getattr(context.request, "client", None)
        caller = caller_key(actor, expires_at is not None, getattr(client, "host", None))
        held: Admission | None = context.admission
        if held is None or held.caller != caller:  # a legacy client may initialise again
            self.callers.take(caller)  # raises Refused: the handler closes with its code
            if held is not None:
                self.callers.release(held.caller)
        context.admission = Admission(caller, expires_at)
        context.actor = actor
        return await super().on_ws_connect(context)

    def release(self, context: Context) -> None:
        """A WebSocket connection ended: its caller's slot is free again."""
        held: Admission | None = context.admission
        if held is not None:
            context.admission = None
            self.callers.release(held.caller)


def evidence_config(settings: Settings) -> EvidenceConfig:
    return EvidenceConfig(
        limits=Limits(settings.evidence_max_photo_bytes, settings.evidence_max_video_bytes),
        pending_ttl_seconds=settings.evidence_pending_ttl_seconds,
        url_ttl_seconds=settings.evidence_url_ttl_seconds,
        budget_bytes=settings.evidence_budget_bytes,
        budget_window_seconds=settings.evidence_budget_window_seconds,
        url_secret=url_secret_of(settings.signing_secret()),
        reasons_needing_evidence=reason_codes(settings.evidence_required_reasons),
    )


def create_app(
    services: Services,
    *,
    graphiql: bool = True,
    worker: DeadlineWorker | None = None,
    settings: Settings | None = None,
    dispatcher: WebhookDispatcher | None = None,
    tiktok: TikTokConnection | None = None,
) -> Starlette:
    """The service's routes. The live feed's watcher, and a worker and a webhook dispatcher
    given here, start and stop with the app (its lifespan; uvicorn runs the shutdown after the
    requests in flight are done).
    `app.state.close_subscriptions` closes every subscription with 1001: the server calls it
    first at shutdown (process/shutdown.py GracefulServer).
    Without settings: the defaults (development), not the environment. `app.state.readiness`
    takes more readiness checks (see api/health.py)."""
    settings = settings or default_settings(graphiql=graphiql)
    # This app's evidence limits and URL key: its own service, the shared one left as it is.
    services = dataclasses.replace(
        services, evidence=EvidenceService(services.db, services.clock, evidence_config(settings))
    )
    feed = LiveFeed(
        services.db,
        queue_limit=settings.subscriber_queue,
        on_dropped=FEED_EVENTS_DROPPED.labels("slow_consumer").inc,
    )
    graphql = AfterSalesGraphQL(services, settings, worker=worker, feed=feed)
    readiness = Readiness()
    readiness.register("database", database_check(services.db))
    readiness.register("change_watcher", feed_check(feed))
    if worker is not None:
        readiness.register(
            "deadline_worker", worker_check(worker, settings.ready_max_worker_lag_seconds)
        )

    async def close_subscriptions() -> None:
        await close_all(graphql.open_handlers)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        feed.start()
        if worker is not None:
            worker.start()
        if dispatcher is not None:
            dispatcher.start(feed)
        if tiktok is not None:
            await tiktok.prepare()
            tiktok.start()
        try:
            yield
        finally:
            # Normally done already (process/shutdown.py, before uvicorn drops the sockets).
            await close_subscriptions()
            if dispatcher is not None:
                await dispatcher.stop()  # gives its leases back: another process takes over
            if tiktok is not None:
                await tiktok.stop()  # its leases lapse: another process takes over after them
            if worker is not None:
                await worker.stop(timeout=settings.shutdown_timeout_seconds)
            await feed.stop()
            mark_this_process_dead()

    async def home(_: Request) -> Response:
        return RedirectResponse("/graphql")

    routes: list[Any] = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", guarded_metrics(settings.metrics_token, production=settings.production)),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        *graphiql_routes(),  # before the dashboard's /static, which would serve them too
        *dashboard_routes(settings),
        *evidence_routes(),
        *(tiktok.routes(tiktok_caller(graphql.identity)) if tiktok is not None else []),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        # The request id outside the rest, so every answer carries it (a 413 from the body
        # limit too); the direct sender before it, as it needs the server's own `send`.
        middleware=[
            Middleware(ExposeDirectSender),
            Middleware(RequestIdMiddleware),
            Middleware(CountWebSockets),
            # The evidence upload streams its file under its own caps (services/evidence.py); the
            # order intake's integrations may send larger batches (integration_body_cap).
            Middleware(
                BodySizeLimit,
                max_bytes=settings.max_body_bytes,
                exempt_prefix="/evidence",
                cap_for=integration_body_cap,
            ),
            Middleware(OperationDeadline, seconds=settings.operation_timeout_seconds),
        ],
    )
    app.state.evidence = services.evidence
    app.state.identity = graphql.identity
    app.state.readiness = readiness
    app.state.live_feed = feed
    app.state.webhook_dispatcher = dispatcher
    app.state.broadcasts = graphql.broadcasts
    app.state.close_subscriptions = close_subscriptions
    return app


def tiktok_caller(config: identity.IdentityConfig) -> Callable[[Request], Awaitable[Actor]]:
    """The caller of the TikTok link routes, from the bearer token: anonymous is refused."""

    async def actor_of(request: Request) -> Actor:
        try:
            actor = identity.actor_from_headers(request.headers, config)
        except identity.Unauthenticated as exc:
            raise Forbidden(str(exc)) from None
        if actor is None:
            raise Forbidden("send Authorization: Bearer <token>")
        return actor

    return actor_of

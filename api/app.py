"""The ASGI application: GraphQL (HTTP and WebSocket) with GraphiQL, on Starlette."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from api.broadcast import Broadcasts, SharedFeedHandler
from api.identity import HEADER, BadIdentity, actor_from_connection_params, parse_actor
from resolvers.context import Context
from resolvers.schema import schema
from services.bootstrap import Services
from services.deadline_worker import DeadlineWorker
from services.live_feed import LiveFeed


@dataclass(frozen=True)
class WebSocketSettings:
    legacy_protocol: bool = True  # also speak the old graphql-ws subprotocol
    max_subscriptions: int = 20  # per connection
    init_timeout: timedelta = timedelta(seconds=10)  # to send connection_init after connecting
    subscriber_queue: int = 1000  # live events a subscriber may have waiting
    shared_execution: bool = True  # identical feed subscriptions executed once (api/broadcast.py)


class AfterSalesGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SharedFeedHandler

    def __init__(
        self,
        services: Services,
        *,
        graphiql: bool,
        worker: DeadlineWorker | None,
        feed: LiveFeed,
        ws: WebSocketSettings,
    ) -> None:
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if ws.legacy_protocol:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=protocols,
            connection_init_wait_timeout=ws.init_timeout,
            max_subscriptions_per_connection=ws.max_subscriptions,
        )
        self.services = services
        self.worker = worker
        self.feed = feed
        self.broadcasts = Broadcasts(ws.subscriber_queue) if ws.shared_execution else None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        try:
            actor = parse_actor(request.headers.get(HEADER))
            error = None
        except BadIdentity as exc:
            actor, error = None, str(exc)
        return Context(
            services=self.services,
            actor=actor,
            identity_error=error,
            worker=self.worker,
            feed=self.feed,
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: Context) -> None:
        """The connection_init payload names the caller, as the X-Actor header does over HTTP
        (a header on the upgrade request also counts). Anyone else is refused (4403)."""
        try:
            actor = actor_from_connection_params(context.connection_params)
        except BadIdentity:
            raise ConnectionRejectionError() from None
        if actor is not None:
            context.actor, context.identity_error = actor, None
        if context.actor is None or context.identity_error:
            raise ConnectionRejectionError()


def create_app(
    services: Services,
    *,
    graphiql: bool = True,
    worker: DeadlineWorker | None = None,
    ws: WebSocketSettings | None = None,
) -> Starlette:
    """The service's routes. The live feed's watcher, and a worker given here, start and stop
    with the app (its lifespan)."""
    ws = ws or WebSocketSettings()
    feed = LiveFeed(services.db, queue_limit=ws.subscriber_queue)
    graphql = AfterSalesGraphQL(services, graphiql=graphiql, worker=worker, feed=feed, ws=ws)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        feed.start()
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await feed.stop()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def home(_: Request) -> Response:
        return RedirectResponse("/graphql")

    routes: list[Any] = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.live_feed = feed
    app.state.broadcasts = graphql.broadcasts
    return app

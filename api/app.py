"""The ASGI application: GraphQL (HTTP and WebSocket) with GraphiQL, on Starlette."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.health import Readiness, database_check, healthz, readyz, worker_check
from api.identity import HEADER, BadIdentity, parse_actor
from api.metrics import CountWebSockets, mark_this_process_dead, metrics_endpoint
from api.operation_log import observe_operations
from api.request_id import RequestIdMiddleware
from resolvers.context import Context
from resolvers.schema import schema
from services.bootstrap import Services
from services.deadline_worker import DeadlineWorker

observe_operations(schema)  # one log line, metrics and the request id per operation


class AfterSalesGraphQL(GraphQL[Context, None]):
    def __init__(
        self, services: Services, *, graphiql: bool, worker: DeadlineWorker | None
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.services = services
        self.worker = worker

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
            request=request,
            response=response,
        )


def create_app(
    services: Services,
    *,
    graphiql: bool = True,
    worker: DeadlineWorker | None = None,
    max_worker_lag_seconds: float = 120.0,
    shutdown_timeout_seconds: float = 20.0,
) -> Starlette:
    """The service's routes. A worker given here starts and stops with the app (its lifespan;
    uvicorn runs the shutdown after the requests in flight are done).
    `app.state.readiness` takes more readiness checks (see api/health.py)."""
    graphql = AfterSalesGraphQL(services, graphiql=graphiql, worker=worker)
    readiness = Readiness()
    readiness.register("database", database_check(services.db))
    if worker is not None:
        readiness.register("deadline_worker", worker_check(worker, max_worker_lag_seconds))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop(timeout=shutdown_timeout_seconds)
            mark_this_process_dead()

    async def home(_: Request) -> Response:
        return RedirectResponse("/graphql")

    routes: list[Any] = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RequestIdMiddleware), Middleware(CountWebSockets)],
    )
    app.state.readiness = readiness
    return app

"""The live dashboard: a static page (no build step) that uses the service's own GraphQL API."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


async def dashboard(_: Request) -> Response:
    return FileResponse(STATIC / "dashboard.html")


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/dashboard", dashboard),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

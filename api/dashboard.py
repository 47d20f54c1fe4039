"""The seller's console: a static page (no build step) that uses the service's own GraphQL API.

`/dashboard` serves the page, `/static/` its modules and styles. In development only,
`/dashboard/identities` lists the demo identities with fresh tokens (the ones `./dev serve`
prints), so an agent picks one from a list instead of pasting a token; in production it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.identity import actor_from_token
from api.settings import Settings
from services.demo_data import SHOPS

STATIC = Path(__file__).resolve().parent / "static"


async def dashboard(_: Request) -> Response:
    return FileResponse(STATIC / "dashboard.html")


def demo_identities(settings: Settings) -> list[dict[str, str | None]]:
    """Every shop's demo agents, then the buyer and the platform, each once: the label the
    start-up banner prints, and who the token names (read back from the token itself)."""
    # The banner's own minting; imported here, as api.start imports this app.
    from api.start import demo_tokens

    secret = settings.signing_secret()
    seen: dict[str, dict[str, str | None]] = {}
    for shop in SHOPS:
        for label, header in demo_tokens(settings, shop):
            authorization = json.loads(header)["Authorization"]
            actor = actor_from_token(authorization.removeprefix("Bearer "), secret)
            seen.setdefault(
                label,
                {
                    "label": label,
                    "kind": actor.kind.name,
                    "shopId": actor.shop_id,
                    "authorization": authorization,
                },
            )
    return list(seen.values())


def dashboard_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/dashboard", dashboard),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if not settings.production:

        async def identities(_: Request) -> Response:
            return JSONResponse(
                {"identities": demo_identities(settings)}, headers={"Cache-Control": "no-store"}
            )

        routes.insert(1, Route("/dashboard/identities", identities))
    return routes

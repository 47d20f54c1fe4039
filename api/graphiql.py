"""GraphiQL at `/graphql`, its scripts and styles served by the service (no CDN, works offline).

The files and their pinned versions: api/graphiql_assets.py.
"""

from __future__ import annotations

import functools

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from api.graphiql_assets import FOLDER, PAGE, URL_PREFIX


@functools.cache
def graphiql_page() -> str:
    return PAGE.read_text(encoding="utf-8")


def graphiql_routes() -> list[BaseRoute]:
    return [Mount(URL_PREFIX.rstrip("/"), StaticFiles(directory=FOLDER), name="graphiql")]

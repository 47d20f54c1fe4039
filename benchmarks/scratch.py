"""A throwaway database for a benchmark: on MONGODB_URI (or --mongodb-uri) when given, else on an
embedded SecantusDB started for the run; dropped, and the server stopped, when the run ends."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator

from api.embedded_db import EmbeddedDatabase
from storage.mongo import Database, connect


@contextlib.asynccontextmanager
async def scratch_database(uri: str | None, prefix: str) -> AsyncIterator[Database]:
    server = None
    uri = uri or os.environ.get("MONGODB_URI")
    if not uri:
        server = EmbeddedDatabase(":memory:")
        uri = server.start()
    db = connect(uri, f"{prefix}_{int(time.time())}")
    try:
        yield db
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()
        if server:
            server.stop()

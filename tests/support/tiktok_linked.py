"""A service linked to the TikTok Shop stand-in, for the connection's tests: the app under a real
uvicorn (the stand-in's webhooks reach it over HTTP), the stand-in as its own process, and
waits that poll without blocking the event loop both run in."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import uvicorn

from api.app import create_app
from api.settings import Settings
from integrations.tiktok_shop.credentials import ShopLink
from integrations.tiktok_shop.statuses import WARN_BEFORE
from models.clock import Clock, SystemClock
from services.bootstrap import Services, build_services
from services.tiktok_connection import TikTokConnection
from storage import tiktok_inbox
from storage import tiktok_requests as mirrors
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.processes import free_port
from tests.support.tiktok_standin import APP_KEY, APP_SECRET, StandIn, running_standin

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], what: str, timeout: float = 20.0, every: float = 0.05
) -> T:
    """Polls until check() is truthy, every `every` seconds (a check that reads hundreds of
    documents polls less often: the database serves the work it waits for too); fails naming
    what never happened (a wait, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(every)


@dataclass
class Linked:
    services: Services
    connection: TikTokConnection
    standin: StandIn
    shop_id: str
    tiktok_shop: str
    api: GraphQLClient
    http: httpx.AsyncClient

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The stand-in's control API, off the event loop (its webhooks come back to this loop)."""
        return await asyncio.to_thread(self.standin.ok, method, path, body)

    async def order(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("line_items", [{"product_name": "Mug", "sale_price": "12.50"}])
        return await self.control("POST", "/_standin/orders", {"shop_id": self.tiktok_shop, **spec})

    async def authorized_shop(self, tiktok_shop: str, cipher: str) -> dict[str, Any]:
        """A new shop at the stand-in, authorized by its seller: TikTok's answer to the auth
        code (`access_token`, `refresh_token`, ...)."""
        await self.control(
            "POST",
            "/_standin/shops",
            {"shop_id": tiktok_shop, "shop_cipher": cipher, "access_token": "TTP_unused"},
        )
        code = (await self.control("POST", f"/_standin/shops/{tiktok_shop}/auth_code"))["auth_code"]
        params = {
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
            "auth_code": code,
            "grant_type": "authorized_code",
        }
        got = await self.http.get(f"{self.standin.base}/api/v2/token/get", params=params)
        return dict(got.json()["data"])

    async def mirror(self, kind: str, tiktok_id: str) -> mirrors.Mirror | None:
        return await mirrors.get(self.services.db, self.shop_id, kind, tiktok_id)

    async def mirrored(self, kind: str, tiktok_id: str) -> str:
        """The id of the local request TikTok's `tiktok_id` is mirrored as, once it is."""

        async def local_id() -> str | None:
            mirror = await self.mirror(kind, tiktok_id)
            return mirror.local_id if mirror else None

        return await eventually(local_id, f"TikTok's {kind} {tiktok_id} mirrored")

    async def settled(self, timeout: float = 20.0) -> None:
        """The stand-in has sent every webhook, and the inbox has handled every one."""
        await eventually(
            lambda: asyncio.to_thread(lambda: self.standin.ok("GET", "/_standin/webhooks")["idle"]),
            "the stand-in's webhooks sent",
            timeout,
        )

        async def inbox_empty() -> bool:
            return await self.pending() == 0

        await eventually(inbox_empty, "the inbox handled", timeout)

    async def pending(self) -> int:
        """This shop's webhooks waiting in the inbox. The database is shared with other test
        modules, each with a shop of its own: what waits for theirs is not this test's."""
        inbox = tiktok_inbox.collection(self.services.db)
        return int(await inbox.count_documents({"shop_id": self.shop_id, "state": "NEW"}))


@contextlib.asynccontextmanager
async def linked_service(
    db: Database,
    *standin_flags: str,
    clock: Clock | None = None,
    warn_before: timedelta = WARN_BEFORE,
    **connection: Any,
) -> AsyncIterator[Linked]:
    """`connection`: the TikTokConnection's settings that differ from the tests' own below."""
    services = await build_services(db, clock or SystemClock(), tiktok_warn_before=warn_before)
    port = free_port()
    with running_standin(f"http://127.0.0.1:{port}/webhooks/tiktok", *standin_flags) as standin:
        # A TikTok shop of its own: a link is unique per TikTok shop, the database is shared.
        shop_id, tiktok_shop = f"shop-tt-{port}", f"74955{port}"
        cipher, token = f"ROW_cipher_{port}", f"TTP_token_{port}_secret"
        standin.ok(
            "POST",
            "/_standin/shops",
            {"shop_id": tiktok_shop, "shop_cipher": cipher, "access_token": token},
        )
        link = ShopLink(
            shop_id=shop_id,
            tiktok_shop_id=tiktok_shop,
            app_key=APP_KEY,
            shop_cipher=cipher,
            api_base=standin.base,
            app_secret=APP_SECRET,
            access_token=token,
        )
        tiktok = TikTokConnection(
            services,
            **{
                # The reconciler and the deadline warnings run when a test calls them.
                "reconcile_seconds": 3600,
                "warn_poll_seconds": 3600,
                "retry_base": 0.05,
                "settings_link": link,
                **connection,
            },
        )
        app = create_app(services, settings=Settings(), tiktok=tiktok)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                yield Linked(
                    services, tiktok, standin, shop_id, tiktok_shop, GraphQLClient(http), http
                )
        finally:
            server.should_exit = True
            await task
            # The inbox is shared and claimed across shops: a webhook this shop's service left
            # waiting would be claimed by the next module's, on a link whose stand-in is gone.
            await tiktok_inbox.collection(db).delete_many({"shop_id": shop_id})

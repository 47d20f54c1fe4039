"""The TikTok Shop connection of one process: linked shops, webhooks in, the reconciler, and
the decisions out (services/tiktok_decisions.py), started and stopped with the app.

In: `POST /webhooks/tiktok` checks the `Authorization` signature with the app of the shop the
body names (401 otherwise, logged without the body), stores the webhook in the inbox
(storage/tiktok_inbox.py), leased to this process, and answers 200: the work is done after,
by this process's inbox workers under that lease (another process's after it, if this one
dies), so an accepted webhook is never lost and TikTok's timeout is never near. A repeated
`tts_notification_id` within the replay window is answered 200 and not handled again; an older
one is answered 200 and ignored. The worker takes the waiting webhooks in batches, reads
TikTok's current view of what they name (one call per kind) and hands it to the mirror
(services/tiktok_batches.py, services/tiktok_mirror.py), which places a batch's orders and opens
its new requests in one transaction; a part that fails is handled again one webhook at a
time. The reconciler
pages through the search endpoints of every linked shop by update time and does the same for
what no webhook told.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.tiktok_shop.credentials import ShopLink
from integrations.tiktok_shop.open_api import (
    SECRET_PARAMS_HIDDEN,
    OpenApi,
)
from integrations.tiktok_shop.return_paths import target_of
from integrations.tiktok_shop.sealing import DEVELOPMENT_SEAL_KEY, Sealer
from integrations.tiktok_shop.signing import verify_webhook
from integrations.tiktok_shop.statuses import (
    cancellation_status,
)
from models import access
from models.actors import Actor, ActorKind
from models.errors import DomainError, Forbidden, ValidationFailed
from models.policy import DAY, CategoryPolicy
from process.stopping import cancel_until_done
from services.bootstrap import Services
from services.tiktok_batches import ORDER_KIND, RETRYABLE, Batches, named
from services.tiktok_decisions import DecisionSender
from services.tiktok_mirror import (
    CANCELLATION,
    CATEGORY,
    TikTokMirror,
    marketplace_seller,
)
from services.tiktok_returns import RETURN as RETURN_KIND
from services.tiktok_returns import TikTokReturns
from storage import policies
from storage import tiktok_inbox as inbox
from storage import tiktok_links as links
from storage import tiktok_requests as mirrors

log = logging.getLogger("aftersales.tiktok")

# Webhooks a process holds in memory for its workers; past it, one waits for a claim.
ACCEPTED_QUEUE = 10_000
# How long a webhook's check may use a link read before (`_link_of`).
LINK_CACHE = timedelta(seconds=1)
# The tag a ticket gets when TikTok's deadline for the seller's answer is near.
DEADLINE_TAG = "tiktok-deadline-soon"
# The linked shops' category (services/tiktok_mirror.py): TikTok decides every window, so the
# local ones never act first. No unconditional window: no cancellation happens at once here,
# even when TikTok's clock runs ahead of ours and stamps an order after our now; ten years: the
# deadline worker never approves on silence here.
TIKTOK_POLICY = CategoryPolicy(
    unconditional_cancel_window=timedelta(0),
    seller_response_window=3650 * DAY,
    return_refund_window=3650 * DAY,
    buyer_return_shipping_window=3650 * DAY,
    seller_receipt_window=3650 * DAY,
    appeal_window=3650 * DAY,
    # TikTok makes the replacement order at once when it approves one (no item back first).
    replacement_needs_item_back=False,
)


class TikTokConnection:
    def __init__(
        self,
        services: Services,
        *,
        replay_window: timedelta = timedelta(days=3),
        reconcile_seconds: float = 60.0,
        inbox_lease: timedelta = timedelta(seconds=30),
        retry_base: float = 0.2,
        http: httpx.AsyncClient | None = None,
        settings_link: ShopLink | None = None,
        warn_poll_seconds: float = 5.0,
        inbox_workers: int = 1,
        inbox_batch: int = 50,
        inbox_poll_seconds: float = 1.0,
        decision_senders: int = 1,
        reconcile_page_size: int = 50,
        sealer: Sealer | None = None,
    ) -> None:
        self.db = services.db
        # The links' secrets are sealed in the database (storage/tiktok_links.py), and the token
        # refresh's query, which carries them, is masked in httpx's log line.
        self.sealer = sealer or Sealer(DEVELOPMENT_SEAL_KEY)
        logging.getLogger("httpx").addFilter(SECRET_PARAMS_HIDDEN)
        self.clock = services.clock
        self.mirror = TikTokMirror(
            services.db, services.clock, services.orders.intake, services.requests
        )
        self.returns = TikTokReturns(self.mirror)
        self.batches = Batches(self.db, self.sealer, self.mirror, self.returns, self._api)
        self.decisions = services.tiktok_decisions  # the gate of every entry point's decisions
        self.sender = DecisionSender(
            services.db,
            services.clock,
            self.decisions,
            self.api_of,
            self.refresh,
            retry_base=retry_base,
        )
        self.replay_window = replay_window
        self.helpdesk = services.helpdesk
        # The same window the requests' `deadlineSoon` shows (services/marketplace_views.py).
        self.warn_before = services.marketplace.warn_before
        self.warn_poll_seconds = warn_poll_seconds
        # Inbox workers, each taking a batch at a time. More than one may handle two webhooks
        # about the same request together; each applies TikTok's current view, forward only,
        # and the mirror keeps the newest view (storage/tiktok_requests.py::record, which also
        # returns the mirror to both of two first writes at once). The chaos test runs two.
        self.inbox_workers = inbox_workers
        # Webhooks a worker claims and handles together (TikTok's id lists take up to 50).
        self.inbox_batch = inbox_batch
        self._claims = 0
        self._links: dict[str, tuple[datetime, ShopLink]] = {}  # by TikTok shop: (read at, link)
        # How often an idle worker looks for webhooks another process stored, or whose retry
        # is due; one this process stores wakes it at once.
        self.inbox_poll_seconds = inbox_poll_seconds
        # Decisions sent at once: each sender holds its own decision's lease.
        self.decision_senders = decision_senders
        self.reconcile_seconds = reconcile_seconds
        self.reconcile_page_size = reconcile_page_size
        self.inbox_lease = inbox_lease
        self.retry_base = retry_base
        self.http = http or httpx.AsyncClient()
        self.settings_link = settings_link
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.inbox_wake = asyncio.Event()
        # Webhooks that come while one is being stored are stored together, in one statement.
        self.accepting = inbox.Accepting(self.db)
        # The webhooks this process received and holds, for its workers (`_held_batch`).
        self._accepted: deque[inbox.Notification] = deque()
        self._accept_owner = f"{self.owner}/received"
        self._swept_at = time.monotonic()  # the last claim of the inbox
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    # ---- linking -----------------------------------------------------------------------

    async def prepare(self) -> None:
        """Indexes, the linked shops' policy, and the link from the settings."""
        await links.collection(self.db).create_indexes(links.LINK_INDEXES)
        await inbox.prepare(self.db)
        await mirrors.prepare(self.db)
        await policies.put(self.db, CATEGORY, TIKTOK_POLICY)
        if self.settings_link is not None:
            await links.put(self.db, self.settings_link, self.clock.now(), self.sealer)

    async def link(self, actor: Actor, link: ShopLink) -> ShopLink:
        """The platform, or an agent of the shop who may act on its requests, links it."""
        require_linker(actor, link.shop_id)
        await policies.put(self.db, CATEGORY, TIKTOK_POLICY)
        return await links.put(self.db, link, self.clock.now(), self.sealer)

    async def api_of(self, shop_id: str) -> OpenApi | None:
        link = await links.get(self.db, shop_id, self.sealer)
        return None if link is None else self._api(link)

    def _api(self, link: ShopLink) -> OpenApi:
        return OpenApi(
            link, self.http, on_refresh=lambda fresh: links.save_tokens(self.db, fresh, self.sealer)
        )

    # ---- webhooks in -------------------------------------------------------------------

    async def receive(self, raw: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        """The answer to one webhook: stored before a 200, or refused with 401."""
        try:
            body = json.loads(raw)
            tiktok_shop = str(body["shop_id"])
            ident = str(body["tts_notification_id"])
            kind = int(body["type"])
            stamp = int(body.get("timestamp") or 0)
        except (ValueError, KeyError, TypeError):
            body = None
        link = await self._link_of(tiktok_shop) if body else None
        if link is not None and not verify_webhook(
            link.app_key, link.app_secret, raw, authorization
        ):
            link = await self._link_of(tiktok_shop, fresh=True)  # linked again since, perhaps
        if (
            body is None
            or link is None
            or not verify_webhook(link.app_key, link.app_secret, raw, authorization)
        ):
            # Never the body: it is the caller's, and unproven.
            log.warning(
                "TikTok webhook refused: bad signature or unknown shop (%d bytes)", len(raw)
            )
            return 401, {"code": 106001, "message": "signature does not match"}
        now = self.clock.now()
        if stamp and now.timestamp() - stamp > self.replay_window.total_seconds():
            log.info("TikTok webhook %s older than the replay window: ignored", ident)
            return 200, {"accepted": False, "reason": "older than the replay window"}
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        # Stored as claimed by this process, which handles it from memory: no claim to read or
        # write (a worker past its queue's bound, or gone, leaves it to a claim after the lease).
        held = len(self._accepted) < ACCEPTED_QUEUE
        lease = (self._accept_owner, now + self.inbox_lease) if held else None
        stored = await self.accepting.accept(ident, link.shop_id, kind, data, stamp, now, lease)
        if stored is not None:
            if held:
                self._accepted.append(stored)
            self.inbox_wake.set()
        return 200, {"accepted": True, "duplicate": stored is None}

    async def _link_of(self, tiktok_shop: str, *, fresh: bool = False) -> ShopLink | None:
        """The link of a TikTok shop, as read at most LINK_CACHE ago: a webhook's check costs no
        read of its own at TikTok's rate (a change of app is seen at once: a webhook its cached
        app does not verify is checked again against the stored link)."""
        now = self.clock.now()
        cached = self._links.get(tiktok_shop)
        if not fresh and cached is not None and now - cached[0] < LINK_CACHE:
            return cached[1]
        link = await links.by_tiktok_shop(self.db, tiktok_shop, self.sealer)
        if link is None:
            self._links.pop(tiktok_shop, None)
        else:
            self._links[tiktok_shop] = (now, link)
        return link

    async def process_batch(self) -> int:
        """Up to `inbox_batch` webhooks under one lease, handled together and finished: those
        this process received and holds (no claim), or else, and at least every
        `inbox_poll_seconds`, those a claim of the inbox finds (another process's, a retry that
        is due, a lease that ran out). The number taken (0 when none is waiting)."""
        taken, finishing = await self._batch()
        if finishing is not None:
            await finishing
        return taken

    async def _batch(self) -> tuple[int, asyncio.Task[None] | None]:
        """A batch handled (`process_batch`), and its finish under way: a worker's next batch
        is handled meanwhile. A repeat of a webhook handled before is finished unhandled; what
        failed in the batch is handled again one webhook at a time, so one that keeps failing
        delays only itself."""
        items: list[inbox.Notification] = []
        if not self._accepted or time.monotonic() - self._swept_at >= self.inbox_poll_seconds:
            self._swept_at = time.monotonic()
            self._claims += 1
            owner = f"{self.owner}/{self._claims}"
            items = await inbox.claim_batch(
                self.db, owner, self.clock.now(), self.inbox_lease, self.inbox_batch
            )
        if not items:
            items, owner = await self._held_batch(), self._accept_owner
        if not items:
            return 0, None
        repeats = await inbox.seen_of(self.db, [i.id for i in items])
        failed = await self.batches.handle([i for i in items if i.id not in repeats])
        finished = [i for i in items if i.id not in failed]
        finishing = asyncio.create_task(inbox.finish_many(self.db, finished, owner))
        for item in items:
            if item.id in failed:
                await self._one(item)
        return len(items), finishing

    async def _held_batch(self) -> list[inbox.Notification]:
        """Up to a batch of the webhooks this process received, oldest first. Those with less
        than half their lease left have it renewed first, with one write for them (any a claim
        took once its lease ran out are left to that claim): left to a claim instead, as they
        were, each waited out its whole lease under a backlog of half a lease or more."""
        now = self.clock.now()
        count = min(len(self._accepted), self.inbox_batch)
        items = [self._accepted.popleft() for _ in range(count)]
        fresh_until = now + self.inbox_lease / 2
        stale = [i for i in items if i.lease_until is None or i.lease_until < fresh_until]
        if not stale:
            return items
        renewed = await inbox.renew(self.db, stale, self._accept_owner, now + self.inbox_lease)
        kept, stale_ids = {i.id: i for i in renewed}, {i.id for i in stale}
        return [kept.get(i.id, i) for i in items if i.id not in stale_ids or i.id in kept]

    async def _one(self, item: inbox.Notification) -> None:
        """Handles one claimed webhook: finished, or left for a later attempt with backoff."""
        owner = item.lease_owner or self.owner
        try:
            await self._handle(item)
        except RETRYABLE as exc:
            wait = min(60.0, self.retry_base * 2 ** min(item.attempts, 12))
            give_up = item.attempts >= 20
            at = self.clock.now() + timedelta(seconds=wait)
            await inbox.retry_later(self.db, item.id, owner, str(exc), at, give_up)
            return
        await inbox.finish(self.db, item, owner)

    async def _handle(self, item: inbox.Notification) -> None:
        link = await links.get(self.db, item.shop_id, self.sealer)
        if link is None:
            return  # unlinked since: nothing to mirror into
        api = self._api(link)
        for kind, tiktok_id in await named(self.db, link, item):
            if kind == ORDER_KIND:
                for view in await api.orders([tiktok_id]):
                    await self.mirror.apply_order(link, view)
            else:
                await self._refresh(link, api, kind, [tiktok_id])

    async def _refresh(self, link: ShopLink, api: OpenApi, kind: str, ids: list[str]) -> None:
        """TikTok's current view of these requests, applied where the mirror does not show it
        yet: the second and third webhooks of one move (TikTok's success, its completion, its
        refund) read the view the first one applied, and cost a read here."""
        if kind == CANCELLATION:
            found, _ = await api.search("cancellations", {"cancel_ids": ids})
        else:
            found, _ = await api.search("returns", {"return_ids": ids})
        await self._apply_new(link, api, kind, found)

    async def _apply_new(
        self, link: ShopLink, api: OpenApi, kind: str, views: list[dict[str, Any]]
    ) -> None:
        """Applies each view the mirror does not show yet (`_holds`)."""
        id_field = "cancel_id" if kind == CANCELLATION else "return_id"
        held = await mirrors.get_many(
            self.db, link.shop_id, kind, [str(v[id_field]) for v in views]
        )
        for view in views:
            if not _holds(held.get(str(view[id_field])), view):
                await self.batches.apply(link, api, kind, view)

    async def refresh(self, mirror: mirrors.Mirror) -> None:
        """TikTok's current view of one mirrored request, applied."""
        link = await links.get(self.db, mirror.shop_id, self.sealer)
        api = await self.api_of(mirror.shop_id)
        if link is None or api is None:
            return
        await self._refresh(link, api, mirror.kind, [mirror.tiktok_id])

    # ---- the reconciler ----------------------------------------------------------------

    async def reconcile(self, shop_id: str) -> int:
        """Every cancellation and return TikTok changed since the shop's marks, page by page,
        applied; each mark moves to the latest update time of a page applied whole. Then the
        decisions TikTok accepted are read again: one whose confirming webhook was lost and
        whose read after sending failed is confirmed here, not left in flight. The number of
        items read."""
        link = await links.get(self.db, shop_id, self.sealer)
        api = await self.api_of(shop_id)
        if link is None or api is None:
            return 0
        read = 0
        for kind, search in ((CANCELLATION, "cancellations"), (RETURN_KIND, "returns")):
            since = await links.reconciled_to(self.db, shop_id, search)
            # From the mark's own second: TikTok's times are seconds, and several changes can
            # share one; an item applied twice moves nothing the second time.
            body = {"update_time_ge": since} if since else {}
            token = ""
            while True:
                items, token = await api.search(search, body, token, self.reconcile_page_size)
                await self._apply_new(link, api, kind, items)
                stamps = [int(v.get("update_time") or 0) for v in items]
                if stamps:
                    await links.mark_reconciled(self.db, shop_id, search, max(stamps))
                read += len(items)
                if not token:
                    break
        for mirror in await mirrors.sent_decisions(self.db, shop_id):
            await self._refresh(link, api, mirror.kind, [mirror.tiktok_id])
        return read

    async def reconcile_all(self) -> int:
        read = 0
        for link in await links.all_links(self.db, self.sealer):
            try:
                read += await self.reconcile(link.shop_id)
            except RETRYABLE as exc:
                log.warning("TikTok reconciler, shop %s: %s", link.shop_id, exc)
        return read

    # ---- TikTok's deadlines --------------------------------------------------------------

    async def warn_deadlines(self) -> int:
        """Tags the ticket of every mirrored request whose TikTok deadline is within
        `warn_before` and that no decision from here is answering, once per deadline: a ticket
        event on the live feed, and a tag the shop's rules can act on. The number warned."""
        now = self.clock.now()
        due = await mirrors.deadlines_between(
            self.db, int(now.timestamp()), int((now + self.warn_before).timestamp())
        )
        warned = 0
        for mirror in due:
            d = mirror.decision
            if mirror.local_id is None or (d and d.get("state") in mirrors.IN_FLIGHT):
                continue
            actor = marketplace_seller(mirror.shop_id, "system")
            ticket = await self.helpdesk.for_request(actor, mirror.local_id)
            if ticket is not None:
                await self.helpdesk.tag(actor, ticket.id, DEADLINE_TAG)
            await mirrors.mark_warned(self.db, mirror.id, mirror.deadline or 0)
            warned += 1
        return warned

    # ---- running -----------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self.sender.stopping.clear()  # set by an earlier stop: its loop would end at once
        self._tasks = [
            *(
                asyncio.create_task(self._forever("TikTok inbox", self._inbox_loop))
                for _ in range(self.inbox_workers)
            ),
            *(
                asyncio.create_task(self._forever("TikTok decisions", self.sender.run))
                for _ in range(self.decision_senders)
            ),
            asyncio.create_task(self._forever("TikTok reconciler", self._reconcile_loop)),
            asyncio.create_task(self._forever("TikTok deadlines", self._deadline_loop)),
        ]

    async def stop(self, grace: float = 2.0) -> None:
        """Lets each loop finish the step it is in (a lease it holds lapses otherwise), then
        cancels what is still running after `grace` seconds: the process's exit never waits
        on a slow database."""
        self._stopping.set()
        self.sender.stopping.set()
        self.decisions.wake.set()
        self.inbox_wake.set()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        # Side by side: one at a time, each late loop's grace would add to the exit's wait.
        await asyncio.gather(*(cancel_until_done(task, grace) for task in late))

    async def _inbox_loop(self) -> None:
        # A batch's finish (its ids kept as handled, then deleted from the inbox: a tenth of
        # the worker's wall time, `./dev run benchmarks.ingest --profile`) goes on while the
        # next batch is handled, one at a time. Until it is done the webhooks stay in the
        # inbox under this worker's lease, so a repeat is still refused by the inbox's key.
        finishing: asyncio.Task[None] | None = None
        try:
            while not self._stopping.is_set():
                taken, started = await self._batch()
                if finishing is not None:
                    await finishing
                finishing = started
                if not taken:
                    self.inbox_wake.clear()
                    # Woken at once by a webhook this process stored; another process's are
                    # found within the poll.
                    await _woken(self.inbox_wake, self.inbox_poll_seconds)
        finally:
            if finishing is not None:
                await finishing

    async def _reconcile_loop(self) -> None:
        while not await _woken(self._stopping, self.reconcile_seconds):
            await self.reconcile_all()
            await inbox.prune(self.db, self.clock.now() - self.replay_window)

    async def _deadline_loop(self) -> None:
        while not self._stopping.is_set():
            await self.warn_deadlines()
            await _woken(self._stopping, self.warn_poll_seconds)

    async def _forever(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Runs `loop` until the connection stops; a failure (a database hiccup), or a loop that
        ended without being stopped, starts it again after a pause (never at once: a loop that
        ends without awaiting anything would hold the event loop)."""
        while not self._stopping.is_set():
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped; starting again", name)
            else:
                if not self._stopping.is_set():
                    log.warning("%s ended without a stop; starting again", name)
            await _woken(self._stopping, 1.0)

    # ---- routes ------------------------------------------------------------------------

    def routes(self, actor_of: Callable[[Request], Awaitable[Actor]]) -> list[Route]:
        async def webhook(request: Request) -> Response:
            status, answer = await self.receive(
                await request.body(), request.headers.get("authorization")
            )
            return JSONResponse(answer, status_code=status)

        async def link_route(request: Request) -> Response:
            try:
                actor = await actor_of(request)
                shop_id = request.path_params["shop_id"]
                if request.method == "GET":
                    require_linker(actor, shop_id)
                    found = await links.get(self.db, shop_id, self.sealer)
                    if found is None:
                        return JSONResponse({"code": "NOT_FOUND"}, status_code=404)
                    return JSONResponse(found.public())
                saved = await self.link(actor, link_from_body(shop_id, await _json(request)))
                return JSONResponse(saved.public())
            except Forbidden as err:
                return JSONResponse({"code": err.code, "message": err.message}, status_code=403)
            except DomainError as err:
                problem = {"code": err.code, "message": err.message, "field": err.field}
                return JSONResponse(problem, status_code=400)

        return [
            Route("/webhooks/tiktok", webhook, methods=["POST"]),
            Route("/integrations/tiktok/shops/{shop_id}", link_route, methods=["GET", "PUT"]),
        ]


def _holds(mirror: mirrors.Mirror | None, view: dict[str, Any]) -> bool:
    """Whether the mirror already shows this view of TikTok's: applying it again would move
    nothing (most of a reconciler's page, when the webhooks came)."""
    if mirror is None or mirror.local_id is None or mirror.status is None:
        return False
    if mirror.decision is not None and mirror.decision.get("state") == mirrors.SENT:
        return False  # its confirmation is read from this view
    status = view.get("cancel_status") or view.get("return_status")
    if "cancel_status" in view:
        goal = cancellation_status(str(status or ""), str(view.get("reject_reason") or ""))
    else:
        goal = target_of(view)
    return (
        mirror.update_time == int(view.get("update_time") or 0)
        and mirror.tiktok_status == str(status or "")
        and mirror.arbitration_status == str(view.get("arbitration_status") or "")
        # The view seen but its move not made here (it failed, or lost a race): not held, so
        # the reconciler's next page makes it.
        and (goal is None or mirror.status == goal.value)
    )


def require_linker(actor: Actor, shop_id: str) -> None:
    if actor.kind is ActorKind.PLATFORM:
        return
    access.require_seller_of(actor, shop_id)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValidationFailed("the body is one JSON object")
    return body


def link_from_body(shop_id: str, body: dict[str, Any]) -> ShopLink:
    def text(name: str, default: str | None = None) -> str:
        value = body.get(name, default)
        if not isinstance(value, str):
            raise ValidationFailed(f"{name} is a string", field=name)
        return value

    return ShopLink(
        shop_id=shop_id,
        tiktok_shop_id=text("tiktokShopId"),
        app_key=text("appKey"),
        shop_cipher=text("shopCipher"),
        api_base=text("apiBase"),
        app_secret=text("appSecret"),
        access_token=text("accessToken"),
        refresh_token=text("refreshToken", ""),
        auth_base=text("authBase", ""),
    )


async def _woken(event: asyncio.Event, seconds: float) -> bool:
    """Waits for `event` at most `seconds`; whether it was set. (`asyncio.timeout`, not
    `wait_for`: on Python 3.11 `wait_for` can swallow a cancellation that arrives as the
    wait ends, and a loop that swallows one never stops.)"""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()

"""A batch of TikTok webhooks handled together, a shop at a time (the connection takes them
from the inbox, services/tiktok_connection.py): TikTok's views of what they name read with one
call per kind, the batch's orders placed and its new requests opened in one transaction, then
each view applied by its kind's mirror. What failed is told by the ids of the webhooks
whose part it was, which the connection handles again one at a time (`named` is what one
webhook names, for both ways)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from integrations.tiktok_shop.credentials import ShopLink
from integrations.tiktok_shop.open_api import OpenApi, OpenApiRefused, OpenApiUnavailable
from integrations.tiktok_shop.sealing import Sealer
from integrations.tiktok_shop.statuses import CANCELLATION_STATUSES, RETURN_STATUSES
from models.errors import DomainError
from services.tiktok_mirror import CANCELLATION, Known, TikTokMirror, placed_as_is
from services.tiktok_returns import RETURN as RETURN_KIND
from services.tiktok_returns import TikTokReturns
from storage import tiktok_inbox as inbox
from storage import tiktok_links as links
from storage import tiktok_requests as mirrors
from storage.mongo import Database

log = logging.getLogger("aftersales.tiktok")

ORDER, CANCEL, RETURN, REFUND = 1, 11, 12, 67
ORDER_KIND = "order"
# What a webhook's handling may fail with and be tried again for, later or on its own.
RETRYABLE = (OpenApiUnavailable, OpenApiRefused, DomainError, LookupError)
# The request kinds a batch reads from TikTok: (kind, search, its ids' field, a view's id field).
REQUEST_SEARCHES = (
    (CANCELLATION, "cancellations", "cancel_ids", "cancel_id"),
    (RETURN_KIND, "returns", "return_ids", "return_id"),
)


@dataclass
class _Kind:
    """A kind of request a batch names: TikTok's views of them and what is here of them."""

    kind: str
    search: str
    id_field: str
    ids: list[str]  # named by the batch's webhooks
    views: list[dict[str, Any]]
    known: Known


class Batches:
    """The connection's handling of a batch, with the mirrors it applies TikTok's views by."""

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        mirror: TikTokMirror,
        returns: TikTokReturns,
        api: Callable[[ShopLink], OpenApi],
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.mirror = mirror
        self.returns = returns
        self.api = api  # a linked shop's Open API client

    async def handle(self, items: list[inbox.Notification]) -> set[str]:
        """Each shop's webhooks of the batch: TikTok's views read with one call per kind (the
        orders, the cancellations, the returns they name, each once), its orders placed and the
        requests new here opened in one transaction, then each view applied (a move, the
        mirror), side by side. The ids of the webhooks whose part failed, for
        handling them again one at a time."""
        failed: set[str] = set()
        by_shop: dict[str, list[inbox.Notification]] = {}
        for item in items:
            by_shop.setdefault(item.shop_id, []).append(item)
        for shop_id, group in by_shop.items():
            try:
                failed |= await self._shop(shop_id, group)
            except Exception as exc:
                failed_part(shop_id, "the batch", exc)
                failed |= {i.id for i in group}
        return failed

    async def _shop(self, shop_id: str, items: list[inbox.Notification]) -> set[str]:
        link = await links.get(self.db, shop_id, self.sealer)
        if link is None:
            return set()  # unlinked since: nothing to mirror into
        api = self.api(link)
        named_ids: dict[tuple[str, str], list[str]] = {}  # (kind, TikTok id) -> its webhooks
        for item in items:
            for kind, tiktok_id in await named(self.db, link, item):
                named_ids.setdefault((kind, tiktok_id), []).append(item.id)
        # TikTok's views of the batch's requests are read while its orders are.
        searches = {
            kind: asyncio.ensure_future(api.search(search, {field: ids}))
            for kind, search, field, _ in REQUEST_SEARCHES
            if (ids := [i for k, i in named_ids if k == kind])
        }
        try:
            return await self._apply_all(link, api, named_ids, searches)
        finally:
            for task in searches.values():  # those not awaited (the worker is stopping)
                task.cancel()

    async def _apply_all(
        self,
        link: ShopLink,
        api: OpenApi,
        named_ids: dict[tuple[str, str], list[str]],
        searches: dict[str, asyncio.Future[tuple[list[dict[str, Any]], str]]],
    ) -> set[str]:
        """The batch's orders placed and each kind's requests (`searches`: TikTok's views of
        them, being read) opened, the orders with the first kind's openings in one
        transaction, then each view applied; the ids of the webhooks whose part failed."""
        shop_id = link.shop_id
        failed: set[str] = set()

        def fail(kind: str, ids: list[str]) -> None:
            for tiktok_id in ids:
                failed.update(named_ids.get((kind, tiktok_id), []))

        order_ids = [i for k, i in named_ids if k == ORDER_KIND]
        if not searches:  # orders alone: placed in one transaction, moved in another
            try:
                if order_ids:
                    await self.mirror.apply_orders(link, await api.orders(order_ids))
            except Exception as exc:
                failed_part(shop_id, "orders", exc)
                fail(ORDER_KIND, order_ids)
            return failed
        placing: list[dict[str, Any]] = []  # placed with the openings
        if order_ids:
            try:
                placing = await self._orders(link, api, order_ids)
            except Exception as exc:
                failed_part(shop_id, "orders", exc)
                fail(ORDER_KIND, order_ids)
        coming = {str(v["id"]) for v in placing}
        kinds: list[_Kind] = []
        for kind, search, _, id_field in REQUEST_SEARCHES:
            if kind not in searches:
                continue
            ids = [i for k, i in named_ids if k == kind]
            try:
                views, _ = await searches[kind]
                known = await self.mirror.known(link, kind, views, coming)
                kinds.append(_Kind(kind, search, id_field, ids, views, known))
            except Exception as exc:
                failed_part(shop_id, search, exc)
                fail(kind, ids)
        absent = {o for k in kinds for o in self.mirror.orders_absent(k.known, k.views)} - coming
        if absent:
            # Named before their own webhooks came (late, or lost): read with one call to
            # TikTok and placed with the batch's, not each by its request's own, one at a time.
            try:
                placing += await self._orders(link, api, sorted(absent), kinds)
            except Exception as exc:  # each request then looks for its order on its own
                failed_part(shop_id, "the orders the requests name", exc)
        if placing and not kinds:
            try:
                await self.mirror.apply_orders(link, placing)
            except Exception as exc:
                failed_part(shop_id, "orders", exc)
                fail(ORDER_KIND, order_ids)
        for index, k in enumerate(kinds):
            together = placing if index == 0 else []
            try:
                await self.mirror.open_together(link, k.kind, k.views, k.known, together)
            except Exception as exc:  # nothing of it written: the orders, then the openings
                failed_part(shop_id, f"opening {k.search} together", exc)
                await self._apart(link, k, together, fail)
            for later in kinds[index + 1 :]:
                later.known.orders.update(k.known.orders)
            await self._apply_views(link, api, k, fail)
        return failed

    async def _orders(
        self, link: ShopLink, api: OpenApi, order_ids: list[str], kinds: Sequence[_Kind] = ()
    ) -> list[dict[str, Any]]:
        """TikTok's views of these orders, those to place as they are (paid or before) returned
        for the openings' transaction; the others placed and moved now, and `kinds` told."""
        views = await api.orders(order_ids)
        moving = [v for v in views if not placed_as_is(v)]
        if moving:
            await self.mirror.apply_orders(link, moving)
            here = await self.mirror.orders_here(link, [str(v["id"]) for v in moving])
            for k in kinds:
                k.known.orders.update(here)
        return [v for v in views if placed_as_is(v)]

    async def _apart(
        self,
        link: ShopLink,
        k: _Kind,
        placing: list[dict[str, Any]],
        fail: Callable[[str, list[str]], None],
    ) -> None:
        """After a failed transaction of a kind's openings (and the batch's orders): the orders
        placed on their own, then the openings together; what fails again is left to each
        view's own pass."""
        if placing:
            ids = [str(v["id"]) for v in placing]
            try:
                await self.mirror.apply_orders(link, placing)
                k.known.orders.update(await self.mirror.orders_here(link, ids))
            except Exception as exc:
                failed_part(link.shop_id, "orders", exc)
                fail(ORDER_KIND, ids)
        try:
            await self.mirror.open_together(link, k.kind, k.views, k.known)
        except Exception as exc:  # nothing of it written: each view opens its own after
            failed_part(link.shop_id, f"opening {k.search} together", exc)

    async def _apply_views(
        self,
        link: ShopLink,
        api: OpenApi,
        k: _Kind,
        fail: Callable[[str, list[str]], None],
    ) -> None:
        """Each of a kind's views applied (a move, the mirror), side by side, then their mirrors
        recorded together; what failed is told to `fail`."""
        shop_id = link.shop_id
        outcomes = await asyncio.gather(
            *(self.apply(link, api, k.kind, view, k.known) for view in k.views),
            return_exceptions=True,
        )
        for view, outcome in zip(k.views, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                continue
            if not isinstance(outcome, Exception):
                raise outcome  # a cancellation: the worker is stopping
            failed_part(shop_id, f"{k.kind} {view.get(k.id_field)}", outcome)
            fail(k.kind, [str(view[k.id_field])])
        try:
            await self.mirror.record_known(link, k.known)
        except Exception as exc:
            failed_part(shop_id, f"recording {k.search}", exc)
            fail(k.kind, k.ids)

    async def apply(
        self,
        link: ShopLink,
        api: OpenApi,
        kind: str,
        view: dict[str, Any],
        known: Known | None = None,
    ) -> None:
        """One view of TikTok's applied by its kind's mirror."""
        if kind == CANCELLATION:
            await self.mirror.apply_cancellation(link, api, view, known)
        else:
            await self.returns.apply_return(link, api, view, known)


async def named(db: Database, link: ShopLink, item: inbox.Notification) -> list[tuple[str, str]]:
    """What a webhook names, as (kind, TikTok id); a status the tables do not know is
    recorded on the request as it came, never dropped."""
    data = item.data
    found: list[tuple[str, str]] = []
    if item.type == ORDER and data.get("order_id"):
        found.append((ORDER_KIND, str(data["order_id"])))
    for kinds, kind, id_field, status_field, known in (
        ((CANCEL, REFUND), CANCELLATION, "cancel_id", "cancel_status", CANCELLATION_STATUSES),
        ((RETURN, REFUND), RETURN_KIND, "return_id", "return_status", RETURN_STATUSES),
    ):
        if item.type not in kinds or not data.get(id_field):
            continue
        reported = str(data.get(status_field) or "")
        if reported and reported not in known:
            await mirrors.record(
                db,
                kind,
                link.shop_id,
                str(data[id_field]),
                {"unknown_status": reported, "tiktok_order_id": str(data.get("order_id"))},
            )
            log.warning("TikTok webhook %s: unknown %s %s", item.id, status_field, reported)
        found.append((kind, str(data[id_field])))
    return found


def failed_part(shop_id: str, part: str, exc: Exception) -> None:
    """A part of a batch that failed is handled again on its own; an unexpected failure is
    logged with its traceback."""
    if isinstance(exc, RETRYABLE):
        log.info(
            "TikTok inbox, shop %s: %s failed in a batch (%s); one at a time", shop_id, part, exc
        )
    else:
        log.exception(
            "TikTok inbox, shop %s: %s failed in a batch; one at a time",
            shop_id,
            part,
            exc_info=exc,
        )

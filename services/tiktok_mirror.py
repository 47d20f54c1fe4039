"""The marketplace's truth applied here: TikTok's orders and cancellations as this service's
orders (through the order intake) and requests (through the request commands), forward only.

Every notification and every reconciler page ends in `apply_order` or `apply_cancellation`
with TikTok's current view of the item (fetched, not taken from the notification), so a late,
repeated or out-of-order notification cannot move anything back: the mirror moves only when
TikTok's status ranks above the local one (integrations/tiktok_shop/statuses.py).

A TikTok request becomes a local one as its buyer asked it, keyed by TikTok's id (a repeat
finds the first outcome). Its later moves are made by the marketplace's own identities: the
seller's decision as `tiktok-seller` (an agent of the shop: the decision taken in Seller
Center, or here and confirmed by TikTok), TikTok's own moves (approval on silence) as
`tiktok-system`, a withdrawal as the buyer. Tickets, rules and the live feed follow, as for
any request.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from integrations.tiktok_shop.credentials import ShopLink
from integrations.tiktok_shop.open_api import OpenApi
from integrations.tiktok_shop.statuses import ORDER_STEPS, cancellation_status, moves_forward
from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.cancellation_states import CancellationStatus
from models.clock import Clock
from models.commands import (
    AcceptCancellation,
    RejectCancellation,
    RequestCancellation,
    WithdrawCancellation,
)
from models.errors import DomainError
from models.order_intake import NewLine, OrderUpdate, PlaceOrder
from models.orders import Order, PaymentMethod
from services.commands import RequestCommands, Steps
from services.order_intake import ExternalUpdate, OrderIntake, Placed
from storage import cancellations as cancellation_store
from storage import idempotency, order_records
from storage import orders as order_store
from storage import tiktok_requests as mirrors
from storage.batch_writes import read_ahead
from storage.mongo import Database
from storage.tiktok_requests import CONFIRMED, IN_FLIGHT, OVERTAKEN, SENT

log = logging.getLogger("aftersales.tiktok")

CANCELLATION = "cancellation"
# Orders of a linked shop are placed in this category; its policy (services/tiktok_link.py)
# leaves the windows to TikTok: no cancellation at once here, no approval on silence here.
CATEGORY = "tiktok_shop"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _id(value: Any) -> str:
    return _SAFE.sub("_", str(value))[:64] or "unknown"


def _minor(amount: Any) -> int:
    return int((Decimal(str(amount or "0")) * 100).to_integral_value())


def _time(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def _placement(view: dict[str, Any]) -> PlaceOrder:
    """TikTok's view of an order as the order intake places it."""
    payment = view.get("payment") or {}
    return PlaceOrder(
        external_id=_id(view["id"]),
        buyer_id=_id(view.get("buyer_user_id")),
        currency=str(payment.get("currency") or "USD"),
        lines=tuple(
            NewLine(
                _id(li["id"]),
                _id(li.get("sku_id") or li["id"]),
                str(li.get("product_name") or "Item"),
                1,  # TikTok lists one line item per unit
                _minor(li.get("sale_price")),
                CATEGORY,
            )
            for li in view.get("line_items", [])
        ),
        shipping_fee_minor=_minor(payment.get("shipping_fee")),
        payment_method=PaymentMethod.PREPAID,
        placed_at=_time(view["create_time"]),
        paid=str(view.get("status", "")) != "UNPAID",
    )


def _opening(cancel_id: str, order: Order, view: dict[str, Any]) -> tuple[Actor, Any, str]:
    """A TikTok cancellation opened here as its buyer asked it, keyed by TikTok's id within the
    shop, as the mirror is: a second pass over the same request finds the first outcome, and
    another shop's request of the same id (a stand-in numbers from one again) is its own."""
    buyer = buyer_of(order.shop_id, order.buyer_id)
    reason = str(view.get("cancel_reason_text") or view.get("cancel_reason") or "")[:200]
    key = f"tiktok-open:{mirrors.mirror_id(order.shop_id, CANCELLATION, cancel_id)}"
    return buyer, RequestCancellation(order.id, "OTHER", reason or None), key


def seen_of(view: dict[str, Any], status_field: str) -> dict[str, Any]:
    """What a mirror records of a TikTok view of either kind: its status, order, update time,
    the seller's deadline and the arbitration's status."""
    actions = view.get("seller_next_action_response") or []
    return {
        "tiktok_status": str(view.get(status_field, "")),
        "tiktok_order_id": str(view.get("order_id", "")),
        "update_time": int(view.get("update_time") or 0),
        "deadline": next((int(a["deadline"]) for a in actions if a.get("deadline")), None),
        "arbitration_status": str(view.get("arbitration_status") or ""),
    }


def placed_as_is(view: dict[str, Any]) -> bool:
    """Whether TikTok's order is placed here at its status with no move after: paid or before
    (one TikTok shows further on is placed, then moved there)."""
    step = ORDER_STEPS.get(str(view.get("status", "")))
    return step is None or step.value == "PAID"


def buyer_of(shop_id: str, buyer_id: str) -> Actor:
    """A buyer's own step, made here as TikTok showed it. With the shop it is made in (buyers
    see and do the same with or without one): the write is queued on that shop without
    reading the request's or the order's shop first."""
    return Actor(ActorKind.BUYER, buyer_id, shop_id)


def integration_of(shop_id: str) -> Actor:
    return Actor(ActorKind.INTEGRATION, "tiktok-shop", shop_id)


def marketplace_seller(shop_id: str, role: str = "seller") -> Actor:
    """The identity a move TikTok made is recorded under (`tiktok-seller`, `tiktok-system`)."""
    return Actor(ActorKind.SELLER_AGENT, f"tiktok-{role}", shop_id, frozenset({ADJUSTMENTS}))


class TikTokMirror:
    def __init__(
        self, db: Database, clock: Clock, intake: OrderIntake, requests: RequestCommands
    ) -> None:
        self.db = db
        self.clock = clock
        self.intake = intake
        self.requests = requests
        # What open_together opens, by kind: (TikTok id, (actor, command, key) or None).
        self.openings: dict[str, Callable[[dict[str, Any], Known], tuple[str, Any]]] = {
            CANCELLATION: self._cancellation_opening
        }

    # ---- orders ------------------------------------------------------------------------

    async def known(
        self,
        link: ShopLink,
        kind: str,
        views: list[dict[str, Any]],
        placing: Collection[str] = (),
    ) -> Known:
        """What a batch of views about `kind` finds here already, read with two or three
        queries for the batch instead of three for each view. The orders of `placing` (TikTok's
        ids), which the batch places with its openings, are not read: their placement tells
        (`open_together`), and a batch whose requests all name its own orders reads none."""
        ids = [str(v["cancel_id" if kind == CANCELLATION else "return_id"]) for v in views]
        found = await mirrors.get_many(self.db, link.shop_id, kind, ids)
        orders = [o for v in views if (o := str(v["order_id"])) not in placing]
        return Known(found, await self.orders_here(link, orders))

    async def orders_here(self, link: ShopLink, tiktok_ids: list[str]) -> dict[str, Order]:
        """The local orders of these TikTok orders that are here, by their id here (`_id`)."""
        externals = [_id(i) for i in tiktok_ids]
        records = await order_records.by_external(self.db, link.shop_id, externals)
        orders = await order_store.get_many(self.db, [r["_id"] for r in records.values()])
        return {ext: orders[r["_id"]] for ext, r in records.items() if r["_id"] in orders}

    def orders_absent(self, known: Known, views: list[dict[str, Any]]) -> list[str]:
        """TikTok's ids of the orders these views name that are not here (`known`), each once."""
        named = {str(v["order_id"]) for v in views if v.get("order_id")}
        return sorted(o for o in named if _id(o) not in known.orders)

    async def local_order(self, link: ShopLink, tiktok_order_id: str) -> Order | None:
        return (await self.orders_here(link, [tiktok_order_id])).get(_id(tiktok_order_id))

    async def ensure_order(
        self, link: ShopLink, api: OpenApi, tiktok_order_id: str, known: Known | None = None
    ) -> Order:
        order = known.orders.get(_id(tiktok_order_id)) if known else None
        if order is not None:
            return order
        order = await self.local_order(link, tiktok_order_id)
        if order is not None:
            return order
        views = await api.orders([tiktok_order_id])
        if not views:
            raise LookupError(f"TikTok has no order {tiktok_order_id} for this shop")
        await self.apply_order(link, views[0])
        order = await self.local_order(link, tiktok_order_id)
        if order is None:
            raise LookupError(f"order {tiktok_order_id} could not be mirrored")
        return order

    async def apply_order(self, link: ShopLink, view: dict[str, Any]) -> None:
        """Places the order (a repeat is a no-op) and moves it to TikTok's status."""
        await self.apply_orders(link, [view])

    async def apply_orders(self, link: ShopLink, views: list[dict[str, Any]]) -> None:
        """Places the shop's orders (repeats are no-ops) in one transaction, then moves those
        TikTok shows past paid in another: two commits for a batch, not two an order."""
        if not views:
            return
        actor = integration_of(link.shop_id)
        updates = []
        for view, _ in await self._place(link, views):
            external = _id(view["id"])
            if placed_as_is(view):
                continue
            step = ORDER_STEPS[str(view.get("status", ""))]
            update = OrderUpdate(
                step,
                _time(view.get("update_time") or view["create_time"]),
                carrier="TikTok Shipping",
                tracking_number=f"tts-{external}",
            )
            updates.append(ExternalUpdate(external, update))
        if not updates:
            return
        moved_all = await self.intake.move(actor, link.shop_id, updates)
        for update, moved in zip(updates, moved_all, strict=True):
            if isinstance(moved, DomainError) and moved.code != "STALE_UPDATE":
                log.warning(
                    "TikTok order %s not moved: %s (%s)", update.external_id, moved.code, moved
                )

    async def _place(
        self, link: ShopLink, views: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], Placed]]:
        """The shop's orders placed through the order intake (a repeat is a no-op; in a batch's
        transaction, when it commits): each view placed with its order, those refused logged."""
        actor = integration_of(link.shop_id)
        results = await self.intake._place(actor, link.shop_id, [_placement(v) for v in views])
        placed = []
        for view, result in zip(views, results, strict=True):
            if isinstance(result, DomainError):
                external = _id(view["id"])
                log.warning("TikTok order %s not placed: %s (%s)", external, result.code, result)
                continue
            placed.append((view, result))
        return placed

    # ---- cancellations -----------------------------------------------------------------

    async def apply_cancellation(
        self, link: ShopLink, api: OpenApi, view: dict[str, Any], known: Known | None = None
    ) -> mirrors.Mirror | None:
        """TikTok's view applied; the mirror as recorded, or None when `known` is given: then
        its record waits in `known.seen` for `record_known`."""
        cancel_id = str(view["cancel_id"])
        seen = seen_of(view, "cancel_status")
        tiktok_status = seen["tiktok_status"]
        reject_reason = str(view.get("reject_reason") or "")
        status = cancellation_status(tiktok_status, reject_reason)
        if status is None:  # recorded as it came, never guessed
            log.warning("TikTok cancellation %s has an unknown status %s", cancel_id, tiktok_status)
            return await mirrors.record(
                self.db,
                CANCELLATION,
                link.shop_id,
                cancel_id,
                seen | {"unknown_status": tiktok_status},
            )
        if known is None:
            mirror = await mirrors.get(self.db, link.shop_id, CANCELLATION, cancel_id)
        else:
            mirror = known.mirrors.get(cancel_id)
        order = await self.ensure_order(link, api, str(view["order_id"]), known)
        local = await self._opened(link, mirror, cancel_id, order, view, known)
        seen["local_id"] = local.id
        if moves_forward(local.status, status):
            local = await self._move(link, mirror, local, status, reject_reason, view)
        seen["status"] = local.status.value
        final = local.status

        async def settle(recorded: mirrors.Mirror) -> None:
            await self._settle_decision(recorded, final)

        if known is not None:  # recorded with the batch's others (record_known)
            known.seen.append(Seen(CANCELLATION, cancel_id, seen, settle))
            return None
        mirror = await mirrors.record(self.db, CANCELLATION, link.shop_id, cancel_id, seen)
        await settle(mirror)
        return mirror

    async def record_known(self, link: ShopLink, known: Known) -> None:
        """The mirrors of a batch's applied views recorded with one write and one read a kind,
        then each decision the views answer settled."""
        by_kind: dict[str, list[Seen]] = {}
        for seen in known.seen:
            by_kind.setdefault(seen.kind, []).append(seen)
        for kind, group in by_kind.items():
            views = [(s.tiktok_id, s.fields) for s in group]
            absent = frozenset(s.tiktok_id for s in group if s.tiktok_id not in known.mirrors)
            recorded = await mirrors.record_many(self.db, kind, link.shop_id, views, absent)
            for seen in group:
                await seen.settle(recorded[seen.tiktok_id])
        known.seen.clear()

    async def _opened(
        self,
        link: ShopLink,
        mirror: mirrors.Mirror | None,
        cancel_id: str,
        order: Order,
        view: dict[str, Any],
        known: Known | None = None,
    ) -> Any:
        if known is not None and cancel_id in known.opened:
            return known.opened[cancel_id]
        if mirror is not None and mirror.local_id:
            found = await cancellation_store.get(self.db, mirror.local_id)
            if found is not None:
                return found
        buyer, command, key = _opening(cancel_id, order, view)
        return await self.requests.apply(buyer, command, key)

    async def open_together(
        self,
        link: ShopLink,
        kind: str,
        views: list[dict[str, Any]],
        known: Known,
        placing: list[dict[str, Any]] | None = None,
    ) -> None:
        """Opens here, in one transaction, the requests of these views that are not opened yet
        and whose orders are here (`known.opened` gets them): one commit, one write of the
        shop's counters, for the batch. A view in a status not known here is left to its own
        pass, which records it. `placing`: TikTok's views of orders to place first in the same
        transaction (each paid or before: placed as it is, `placed_as_is`); `known.orders`
        gets them, and a request opened on one is written with it: the order inserted once,
        as the opening left it, not inserted and then updated. Nothing is written, and
        `known` is as it was, when the transaction fails."""
        ids: list[str] = []
        before = dict(known.orders)

        async def steps() -> Steps:
            new: set[str] = set()  # the orders placed now, not before
            if placing:
                for view, placed in await self._place(link, placing):
                    known.orders[_id(view["id"])] = placed.order
                    if not placed.repeated:
                        new.add(placed.order.id)
            ids[:], todo = self._openings_of(kind, views, known)
            await self._read_ahead(todo, new)
            return todo

        if not placing and not self._openings_of(kind, views, known)[1]:
            return
        try:
            opened = await self.requests.apply_together(link.shop_id, steps)
        except BaseException:
            known.orders.clear()
            known.orders.update(before)
            raise
        known.opened.update(zip(ids, opened, strict=True))

    def _openings_of(
        self, kind: str, views: list[dict[str, Any]], known: Known
    ) -> tuple[list[str], Steps]:
        """The TikTok ids and the openings of the views whose requests open here now."""
        ids, steps = [], []
        for view in views:
            tiktok_id, opening = self.openings[kind](view, known)
            if opening is not None:
                ids.append(tiktok_id)
                steps.append(opening)
        return ids, steps

    async def _read_ahead(self, steps: Steps, new_orders: Collection[str] = ()) -> None:
        """Each opening reads its order and its idempotency key by id: read for all at once,
        those of an order only one opening names (a second would read the first's write). The
        keys of openings on `new_orders` (placed in the same transaction) are not read: a first
        outcome would be a request on that order, which did not exist."""
        named = Counter(command.order_id for _, command, _ in steps)  # type: ignore[attr-defined]
        orders = [order_id for order_id, n in named.items() if n == 1]
        keys = [(actor, key) for actor, _, key in steps if key is not None]
        new = [
            (actor, key)
            for actor, command, key in steps
            if key is not None and command.order_id in new_orders  # type: ignore[attr-defined]
        ]
        await read_ahead(self.db, self.db.orders, orders)
        await idempotency.read_ahead_keys(self.db, keys, new)

    def _cancellation_opening(self, view: dict[str, Any], known: Known) -> tuple[str, Any]:
        cancel_id = str(view["cancel_id"])
        status = str(view.get("cancel_status", ""))
        mirror = known.mirrors.get(cancel_id)
        order = known.orders.get(_id(view["order_id"]))
        if cancellation_status(status, str(view.get("reject_reason") or "")) is None:
            return cancel_id, None
        if order is None or (mirror is not None and mirror.local_id):
            return cancel_id, None
        return cancel_id, _opening(cancel_id, order, view)

    async def _move(
        self,
        link: ShopLink,
        mirror: mirrors.Mirror | None,
        local: Any,
        status: CancellationStatus,
        reject_reason: str,
        view: dict[str, Any],
    ) -> Any:
        key = f"tiktok-move:{local.id}:{status.value}"
        if status is CancellationStatus.WITHDRAWN:
            actor = buyer_of(link.shop_id, local.buyer_id)
            command: Any = WithdrawCancellation(local.id)
        elif status is CancellationStatus.REJECTED:
            actor = marketplace_seller(link.shop_id)
            text = str(view.get("reject_reason_text") or reject_reason)[:500]
            command = RejectCancellation(local.id, "OTHER", text or None)
        else:
            ours = _ours(mirror, "APPROVE")
            actor = marketplace_seller(link.shop_id, "seller" if ours else "system")
            command = AcceptCancellation(local.id)
        try:
            return await self.requests.apply(actor, command, key)
        except DomainError as err:
            log.warning("TikTok cancellation move %s refused here: %s", local.id, err.code)
            return await cancellation_store.get(self.db, local.id) or local

    async def _settle_decision(self, mirror: mirrors.Mirror, status: CancellationStatus) -> None:
        """A decision TikTok accepted (SENT) is CONFIRMED when TikTok shows its outcome, and
        OVERTAKEN when TikTok shows another final one. One still SENDING is left to its next
        send: TikTok's answer to the same key tells whether it was applied (a timeout or an
        ambiguous 500 that TikTok applied anyway) or refused (overtaken)."""
        decision = mirror.decision
        if not decision or decision.get("state") != SENT:
            return
        if status is CancellationStatus.PENDING:
            return
        wanted = OUTCOME_OF[decision["action"]]
        state = CONFIRMED if status is wanted else OVERTAKEN
        await mirrors.update_decision(
            self.db, mirror.id, decision["key"], {"state": state, "settled_at": self.clock.now()}
        )


@dataclass(frozen=True)
class Known:
    """What a batch found here before applying its views: the mirrors by TikTok id (one
    absent has none yet) and the local orders by their TikTok id."""

    mirrors: dict[str, mirrors.Mirror]
    orders: dict[str, Order]
    opened: dict[str, Any] = field(default_factory=dict)  # by TikTok id, by open_together
    seen: list[Seen] = field(default_factory=list)  # applied, to record (record_known)


@dataclass(frozen=True)
class Seen:
    """A view applied, its mirror's fields to record, and what follows the record."""

    kind: str
    tiktok_id: str
    fields: dict[str, Any]
    settle: Callable[[mirrors.Mirror], Awaitable[None]]


OUTCOME_OF = {"APPROVE": CancellationStatus.CANCELLED, "REJECT": CancellationStatus.REJECTED}


def _ours(mirror: mirrors.Mirror | None, action: str) -> bool:
    d = mirror.decision if mirror else None
    return bool(d and d.get("action") == action and d.get("state") in IN_FLIGHT)

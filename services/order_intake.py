"""The order intake: one handler for every order placed and every payment or fulfilment step,
whether the marketplace's order system sends it (`place`, `move`, through the API as an
integration), the platform's own mutations (`move_order`: recordPayment, handToCarrier,
recordDelivery) or the demo data.

A batch (up to 500) is one transaction: every item is decided in order by the domain
(models/order_intake.py), each answered with its own outcome or typed error; the accepted items
are written together with their records and their events (the live feed), the refused ones
leave nothing but, for a known order, their entry on its record. A batch is therefore not
all-or-nothing: a bad item does not stop the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from models import access
from models.actors import Actor
from models.clock import Clock
from models.errors import DomainError, NotFound, ValidationFailed
from models.events import OrderEvent
from models.order_intake import (
    DEFAULT_CATEGORIES,
    MAX_BATCH,
    IntakeEntry,
    OrderConflict,
    OrderStep,
    OrderUpdate,
    PlaceOrder,
    Stage,
    advance,
    check_update,
    differences,
    placed_order,
    placement_of,
    stage_of,
    stage_time,
)
from models.orders import Order
from storage import events as event_log
from storage import order_records as records
from storage import orders as order_store
from storage import policies
from storage.mongo import ConcurrentUpdate, Database, Session

PLACED = "PLACED"
APPLIED = "APPLIED"
REPEATED = "REPEATED"


@dataclass(frozen=True)
class Placed:
    order: Order
    external_id: str
    repeated: bool  # True: the marketplace sent it before; nothing was written


@dataclass(frozen=True)
class Moved:
    order: Order
    external_id: str | None
    stage: Stage
    repeated: bool  # True: the order was there already; nothing moved


@dataclass(frozen=True)
class ExternalUpdate:
    external_id: str
    update: OrderUpdate


def new_order_id() -> str:
    return f"ord_{ObjectId()}"


def _check_batch(items: Sequence[Any], field: str) -> None:
    if not 1 <= len(items) <= MAX_BATCH:
        raise ValidationFailed(f"a batch has 1 to {MAX_BATCH} items", field=field)


@dataclass
class _Tracked:
    """An order as a batch moves it: as read, as it now is, where, and the record's news."""

    before: Order
    now: Order
    stage: Stage
    stage_at: datetime
    external_id: str | None
    entries: list[dict[str, Any]]
    moved: bool = False


# P4: what follows an order's move in the same transaction (the after-sale requests whose
# replacement orders moved; services/after_sales.py::follow_replacement_orders).
OnOrdersMoved = Callable[[Session, Actor, list[Order]], Awaitable[None]]


class OrderIntake:
    def __init__(
        self, db: Database, clock: Clock, on_orders_moved: OnOrdersMoved | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.on_orders_moved = on_orders_moved  # P4 (services/bootstrap.py)

    # ---- placing ---------------------------------------------------------------------------

    async def place(
        self, actor: Actor, shop_id: str, commands: Sequence[PlaceOrder]
    ) -> list[Placed | DomainError]:
        """Place the shop's orders; a repeat returns the stored order, a changed repeat is an
        OrderConflict naming what differs."""
        access.require_integration_of(actor, shop_id)
        return await self._place(actor, shop_id, commands)

    async def _place(
        self, actor: Actor, shop_id: str, commands: Sequence[PlaceOrder]
    ) -> list[Placed | DomainError]:
        _check_batch(commands, "orders")
        now = self.clock.now()
        categories = {li.category for c in commands for li in c.lines}

        async def work(session: Session) -> list[Placed | DomainError]:
            # In the transaction: a batch that opens requests on these orders in the same one
            # reads the policies once for both (storage/batch_writes.py `read_once`).
            book = await policies.book_for(self.db, categories, session)
            known = DEFAULT_CATEGORIES | frozenset(book.by_category)
            ext_ids = [c.external_id for c in commands if isinstance(c.external_id, str)]
            stored = await records.by_external(self.db, shop_id, ext_ids, session)
            stored_orders = await order_store.get_many(
                self.db, [r["_id"] for r in stored.values()], session
            )
            seen: dict[str, tuple[dict[str, Any], Order]] = {
                ext: (r["placement"], stored_orders[r["_id"]])
                for ext, r in stored.items()
                if r["_id"] in stored_orders
            }
            results: list[Placed | DomainError] = []
            new_orders: list[Order] = []
            new_records: list[dict[str, Any]] = []
            events: list[OrderEvent] = []
            for cmd in commands:
                try:
                    new_id = cmd.order_id or new_order_id()
                    # C8, Y2: the payment window of the order's categories.
                    cats = [li.category for li in cmd.lines if isinstance(li.category, str)]
                    window = book.for_order(cats).payment_window
                    order = placed_order(cmd, shop_id, new_id, known, now, window)
                    placement = placement_of(cmd)
                    prior = seen.get(cmd.external_id)
                    if prior is not None:
                        differ = differences(prior[0] or {}, placement)
                        if differ:
                            raise OrderConflict(
                                f"order {cmd.external_id} was placed before with other "
                                f"{', '.join(differ)}",
                                order_id=prior[1].id,
                                fields=differ,
                            )
                        results.append(Placed(prior[1], cmd.external_id, True))
                        continue
                except DomainError as err:
                    results.append(err)
                    continue
                seen[cmd.external_id] = (placement, order)
                new_orders.append(order)
                first = records.entry(PLACED, order.placed_at, PLACED, actor, now)
                new_records.append(records.new_record(order, cmd.external_id, placement, first))
                events.append(_event(order, cmd.external_id, PLACED, None, actor, order.placed_at))
                results.append(Placed(order, cmd.external_id, False))
            try:
                await records.insert_placed(self.db, new_orders, new_records, session)
            except (DuplicateKeyError, BulkWriteError) as exc:
                # Another process placed one of these ids first: decide again, as a repeat.
                # SecantusDB reports that race as a write conflict, which the driver retries
                # (tests/integration/test_order_intake_races.py); a duplicate key reruns the
                # batch alike.
                raise ConcurrentUpdate("placed meanwhile") from exc
            await event_log.append_many(self.db, events, session)
            return results

        return await self.db.transaction(work, serial=shop_id)

    async def timeline(self, order: Order) -> list[IntakeEntry]:
        """What the intake received about an order its caller has read (access checked there)."""
        return [
            IntakeEntry(
                e["action"], e["at"], e["outcome"], e["actor_kind"], e["actor_id"], e["received_at"]
            )
            for e in await records.timeline(self.db, order.id)
        ]

    # ---- moving ----------------------------------------------------------------------------

    async def move(
        self, actor: Actor, shop_id: str, updates: Sequence[ExternalUpdate]
    ) -> list[Moved | DomainError]:
        """Apply the marketplace's updates to the shop's orders, found by its ids, in order."""
        access.require_integration_of(actor, shop_id)
        _check_batch(updates, "updates")
        now = self.clock.now()

        async def work(session: Session) -> list[Moved | DomainError]:
            ext_ids = [u.external_id for u in updates]
            found = await records.by_external(self.db, shop_id, ext_ids, session)
            order_ids = {ext: r["_id"] for ext, r in found.items()}
            tracked = await self._track(list(order_ids.values()), found, session)
            results: list[Moved | DomainError] = []
            events: list[OrderEvent] = []
            for item in updates:
                order_id = order_ids.get(item.external_id)
                if order_id is None or order_id not in tracked:
                    results.append(
                        NotFound(f"no order {item.external_id} in this shop", field="externalId")
                    )
                    continue
                results.append(
                    self._decide(actor, tracked[order_id], item.update, now, events, False)
                )
            await self._write(tracked, events, session, actor)
            return results

        return await self.db.transaction(work, serial=shop_id)

    async def move_order(
        self, actor: Actor, order_id: str, update: OrderUpdate, *, handing_to_carrier: bool
    ) -> Order:
        """The platform's own one-step mutations, by the service's order id: the same decision
        and write as the intake's, the order's own refusals raised as before."""
        now = self.clock.now()

        async def work(session: Session) -> Order:
            tracked = await self._track([order_id], None, session)
            if order_id not in tracked:
                raise NotFound(f"no order {order_id}", field="orderId")
            t = tracked[order_id]
            missing = NotFound(f"no order {order_id}", field="orderId")
            access.require_known(actor, t.now.shop_id, t.now.buyer_id, missing)
            access.require_order_mover(actor, t.now.shop_id, handing_to_carrier)
            events: list[OrderEvent] = []
            outcome = self._decide(actor, t, update, now, events, True)
            if isinstance(outcome, DomainError):
                raise outcome
            await self._write(tracked, events, session, actor)
            return outcome.order

        order = await self.db.transaction(work)
        return order

    async def _track(
        self,
        order_ids: list[str],
        found: dict[str, dict[str, Any]] | None,
        session: Session,
    ) -> dict[str, _Tracked]:
        orders = await order_store.get_many(self.db, order_ids, session)
        by_order = (
            {r["_id"]: r for r in found.values()}
            if found is not None
            else await records.by_order(self.db, order_ids, session)
        )
        tracked = {}
        for oid, order in orders.items():
            rec = by_order.get(oid, {})
            recorded = Stage(rec["stage"]) if rec.get("stage") else None
            stage = stage_of(order, recorded)
            at = stage_time(order, stage, rec.get("stage_at") if recorded is stage else None)
            tracked[oid] = _Tracked(order, order, stage, at, rec.get("external_id"), [])
        return tracked

    def _decide(
        self,
        actor: Actor,
        t: _Tracked,
        update: OrderUpdate,
        now: datetime,
        events: list[OrderEvent],
        one_step: bool,
    ) -> Moved | DomainError:
        try:
            check_update(update, now)
            result = advance(t.now, t.stage, t.stage_at, update, one_step=one_step)
        except DomainError as err:
            if err.field != "at":  # a well-formed update about a known order: on its record
                t.entries.append(records.entry(update.step.value, update.at, err.code, actor, now))
            return err
        outcome = APPLIED if result.changed else REPEATED
        t.entries.append(records.entry(update.step.value, update.at, outcome, actor, now))
        if result.changed:
            events.append(
                _event(
                    result.order,
                    t.external_id,
                    update.step.value,
                    t.stage,
                    actor,
                    result.stage_at,
                    to=result.stage,
                )
            )
            t.now, t.stage, t.stage_at, t.moved = result.order, result.stage, result.stage_at, True
        return Moved(t.now, t.external_id, t.stage, not result.changed)

    async def _write(
        self, tracked: dict[str, _Tracked], events: list[OrderEvent], session: Session, actor: Actor
    ) -> None:
        changed = [(t.before, t.now) for t in tracked.values() if t.now is not t.before]
        await order_store.save_many(self.db, changed, session)
        await records.append(
            self.db,
            {oid: t.now.shop_id for oid, t in tracked.items()},
            {oid: (t.stage.value, t.stage_at) for oid, t in tracked.items() if t.moved},
            {oid: t.entries for oid, t in tracked.items() if t.entries},
            session,
        )
        await event_log.append_many(self.db, events, session)
        replacements = [now for before, now in changed if now.replacement_request_id]
        if replacements and self.on_orders_moved is not None:
            await self.on_orders_moved(session, actor, replacements)


def _event(
    order: Order,
    external_id: str | None,
    action: str,
    from_stage: Stage | None,
    actor: Actor,
    at: datetime,
    to: Stage | None = None,
) -> OrderEvent:
    return OrderEvent(
        order_id=order.id,
        shop_id=order.shop_id,
        buyer_id=order.buyer_id,
        external_id=external_id,
        action=action,
        from_stage=from_stage.value if from_stage else None,
        to_stage=(to or stage_of(order)).value,
        fulfilment_state=order.fulfilment_state.value,
        payment_state=order.payment_state.value,
        actor_kind=actor.kind,
        actor_id=actor.id,
        at=at,
    )


__all__ = ["ExternalUpdate", "Moved", "OrderIntake", "OrderStep", "Placed"]

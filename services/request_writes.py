"""What every kind of request writes the same way, parameterised by kind.

A keyed use case runs once (`RequestWrites.once`): in one transaction, queued on its shop, it
recalls the caller's idempotency key (a repeat returns the first outcome if the caller may still
make the call on it, a different command under the same key is refused), writes, and remembers
the key with the command's fingerprint (models/commands.py). After the kind's own documents (the
request, its order, the ledger), every write records the same effects in the same transaction
(`effects`): the tab counters of the kind's section, the live feed's status events with the
notifications they carry, and the request's ticket with its events (services/ticket_sync.py).
A refund the write decided becomes its refund instruction (services/refunds.py), written in the
request's own document with its change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from models import access
from models.access import Permit
from models.actors import Actor
from models.clock import Clock
from models.commands import Command, fingerprint
from models.errors import NotFound
from models.events import StatusEvent
from models.notifications import Notification
from models.refund_ledger import RefundBreakdown
from models.tickets import RequestFacts
from services.refunds import announce, instructions
from services.ticket_sync import RequestChange, on_requests_written
from storage import events as event_log
from storage import idempotency, tab_counts
from storage import refunds as refund_store
from storage.mongo import Database, Session
from storage.request_store import RequestStore
from storage.shops import shop_of


class Request(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def shop_id(self) -> str: ...
    @property
    def buyer_id(self) -> str: ...
    @property
    def tab(self) -> Any: ...
    @property
    def refund(self) -> RefundBreakdown | None: ...


R = TypeVar("R", bound=Request)

# E1: a hook in a write's transaction, given each request before (None: new) and after; it
# attaches the evidence the step's caller named (services/evidence.py::attach_claimed).
OnWrite = Callable[[Session, Actor, list[tuple[Any, Any]]], Awaitable[None]]

# A tab counter's move: the shop, the tab left (None: a new request), the tab reached.
TabMove = tuple[str, Any, Any]


class RequestWrites(Generic[R]):
    """The write path one kind of request shares with every other: `section` names its tab
    counters, `store` holds its requests, `facts` is what its ticket knows of one."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        section: str,
        name: str,
        store: RequestStore[R],
        facts: Callable[[R], RequestFacts],
        on_write: OnWrite | None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.section = section
        self.name = name  # "cancellation", "after-sale request": what a miss says
        self.store = store
        self.facts = facts
        self.on_write = on_write

    async def deciding(
        self, session: Session, actor: Actor, changes: list[tuple[R | None, R]]
    ) -> None:
        """Before a write's documents: the hook on what it decided (E1: the step's evidence)."""
        if self.on_write is not None:
            await self.on_write(session, actor, changes)

    async def opening(
        self,
        actor: Actor,
        command: Command,
        key: str | None,
        order_id: str,
        write: Callable[[Session], Awaitable[R]],
        permit: Permit,
    ) -> R:
        """`once` for a use case that opens a request on an order, queued on the order's shop."""
        shop = actor.shop_id or await shop_of(self.db, self.db.orders, order_id)
        return await self.once(actor, command, key, write, permit, shop)

    async def step(
        self,
        actor: Actor,
        command: Command,
        key: str | None,
        request_id: str,
        field: str,
        write: Callable[[Session, R], Awaitable[R]],
        permit: Permit,
    ) -> R:
        """`once` for a step on one request: read in the transaction (a missing one is
        NotFound on `field`), checked against `permit`, then `write`."""

        async def work(session: Session) -> R:
            r = await self.store.get(self.db, request_id, session)
            missing = NotFound(f"no {self.name} {request_id}", field=field)
            if r is None:
                raise missing
            access.require_known(actor, r.shop_id, r.buyer_id, missing)
            permit(r.shop_id, r.buyer_id)
            return await write(session, r)

        shop = actor.shop_id or await shop_of(self.db, self.store.of(self.db), request_id)
        return await self.once(actor, command, key, work, permit, shop)

    async def once(
        self,
        actor: Actor,
        command: Command,
        key: str | None,
        write: Callable[[Session], Awaitable[R]],
        permit: Permit,
        shop: Hashable | Iterable[Hashable] | None,
    ) -> R:
        """`write` in one transaction queued on `shop` (storage/mongo.py), unless this caller's
        key recalls a first outcome: that one is returned if `permit` still lets the caller
        make the call on it (models/access.py)."""
        print_ = fingerprint(command)

        async def work(session: Session) -> R:
            result_id = await idempotency.recall(self.db, actor, key, print_, session)
            if result_id is not None:
                replayed = await self.store.get(self.db, result_id, session)
                if replayed is not None:
                    permit(replayed.shop_id, replayed.buyer_id)
                    return replayed
            saved = await write(session)
            await idempotency.remember(
                self.db, actor, key, print_, saved.id, self.clock.now(), session
            )
            return saved

        return await self.db.transaction(work, serial=shop)

    async def record(
        self,
        session: Session,
        actor: Actor,
        created: list[R],
        moved: list[tuple[R, R]],
        notes: Sequence[Notification],
        status_events: Sequence[StatusEvent],
    ) -> dict[str, R]:
        """The requests (new ones inserted, moved ones saved with compare-and-set against the
        state they were decided on), then their effects; the saved requests by id."""
        # Every refund a request decides, whatever the kind, is written in the request's own
        # document, in the same statement as its change (services/refunds.py).
        now = self.clock.now()
        refunds = await instructions(self.db, session, self.facts, created, moved, now)
        with_refund = refund_store.fields_of(refunds)
        await self.store.insert_many(self.db, created, session, with_refund)
        saved = await self.store.save_many(self.db, moved, session, with_refund)
        tab_moves = [(before.shop_id, before.tab, after.tab) for before, after in moved]
        tab_moves += [(r.shop_id, None, r.tab) for r in created]
        changed = [RequestChange(self.facts(r), created=True) for r in created]
        changed += [RequestChange(self.facts(after), created=False) for _, after in moved]
        await self.effects(session, actor, tab_moves, notes, status_events, changed)
        await announce(self.db, session, actor, refunds)
        return {r.id: r for r in [*created, *saved]}

    async def effects(
        self,
        session: Session,
        actor: Actor,
        tab_moves: Sequence[TabMove],
        notes: Sequence[Notification],
        status_events: Sequence[StatusEvent],
        changed: Sequence[RequestChange],
    ) -> None:
        await tab_counts.move(self.db, self.section, list(tab_moves), session)
        # H3: the request's events first, then (H1) its ticket opens or follows it and appends
        # the ticket's events: all in the same transaction, numbered in that order. Each
        # change's notice rides on its status event's document (storage/events.py).
        await event_log.append_many(self.db, list(status_events), session, notes)
        await on_requests_written(self.db, session, actor, list(changed), self.clock.now())

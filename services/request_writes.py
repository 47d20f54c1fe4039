"""What every kind of request writes the same way, parameterised by kind.

A use case on one request (`RequestWrites.one`) opens one on an order or takes a step on the
request its command names, checked against the command's permit (who may take it: the kind of
actor whose step it is), and runs once: in one transaction, queued on its shop, it
recalls the caller's idempotency key (a repeat returns the first outcome if the caller may still
make the call on it, a different command under the same key is refused), writes, and remembers
the key with the command's fingerprint (models/commands.py). Whatever a kind decided, a batch of
steps included, is written the same way (`record`): the hook on what was decided (E1), the
orders with the ledgers they book (storage/orders.py), the requests, then the same effects: the
tab counters of the kind's section, the live feed's status events with the notifications they
carry, and the requests' tickets with their events (services/ticket_sync.py). A refund the write
decided becomes its refund instruction (services/refunds.py), written in the request's own
document with its change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from models import access, events
from models.actors import Actor, ActorKind
from models.clock import Clock
from models.commands import Command, Opening, fingerprint
from models.errors import NotFound
from models.orders import Order
from models.refund_ledger import RefundLedger
from models.requests import Outcome
from models.tickets import RequestFacts
from services.refunds import announce, instructions
from services.ticket_sync import RequestChange, on_requests_written
from storage import events as event_log
from storage import idempotency, tab_counts
from storage import orders as order_store
from storage import refunds as refund_store
from storage.mongo import Database, Session
from storage.request_store import Request, RequestStore, save_changes
from storage.shops import shop_of

R = TypeVar("R", bound=Request)

# E1: a hook in a write's transaction, given each request before (None: new) and after; it
# attaches the evidence the step's caller named (services/evidence.py::attach_claimed).
OnWrite = Callable[[Session, Actor, list[tuple[Any, Any]]], Awaitable[None]]

# A kind's batches of the deadline worker's, by their command: the service's method that runs
# each, given the command (its ids) and the actor.
Batches = dict[type[Command], Callable[[Actor, Any], Awaitable[list[Any]]]]

# Who may take a step, by the kind of actor whose step it is (models/commands.py, `sender`).
_PERMITS = {
    ActorKind.BUYER: access.permit_buyer,
    ActorKind.SELLER_AGENT: access.permit_seller,
    ActorKind.PLATFORM: access.permit_platform,
}


def admit(actor: Actor, order: Order, permit: access.Permit) -> None:
    """Who may open a request on this order: an order the actor may not know of is not found."""
    missing = NotFound(f"no order {order.id}", field="orderId")
    access.require_known(actor, order.shop_id, order.buyer_id, missing)
    permit(order.shop_id, order.buyer_id)


@dataclass(frozen=True)
class Change(Generic[R]):
    """What one step decided, and the request as read that it was decided from (None: a new
    one; the state it is written against, with compare-and-set)."""

    outcome: Outcome[R]
    before: R | None


@dataclass(frozen=True)
class Decided(Generic[R]):
    """What a batch of steps decided, written together: each step's change (its request, its
    notifications and its status events), the orders (as read, as decided) with the ledgers
    they book by order id, and the requests `closed` on the way (R5)."""

    changes: Sequence[Change[R]]
    orders: Sequence[tuple[Order, Order]]
    ledgers: Mapping[str, RefundLedger]
    closed: Sequence[tuple[R, R]] = ()


@dataclass(frozen=True)
class KindOfRequest(Generic[R]):
    """What the write path and the reads need of one kind of request: the store of its
    requests, what its ticket knows of one, the section of its tab counters, what a miss calls
    it, and the field of a step's command that names its request ("cancellation_id", which the
    API spells "cancellationId")."""

    store: RequestStore[R]
    facts: Callable[[R], RequestFacts]
    section: str
    name: str
    request_field: str

    @property
    def api_field(self) -> str:
        head, *rest = self.request_field.split("_")
        return head + "".join(word.title() for word in rest)


@dataclass(eq=False)  # a service: equal to itself alone
class RequestWrites(Generic[R]):
    """The write path one kind of request shares with every other; with its reads
    (services/request_reads.py), the base of the kind's service."""

    db: Database
    clock: Clock
    kind: KindOfRequest[R]
    on_write: OnWrite | None
    batches: Batches = field(default_factory=dict, init=False)  # the kind's, set by its service

    async def handle(self, actor: Actor, command: Command, key: str | None = None) -> R | list[R]:
        """The one entry of every use case of the kind (models/commands.py): a batch of the
        deadline worker's by the method the kind runs it with, or one command run once."""
        if (batch := self.batches.get(type(command))) is not None:
            return await batch(actor, command)
        return await self.one(actor, command, key)

    async def _open(self, actor: Actor, c: Any, permit: access.Permit, session: Session) -> R:
        """The kind's use case that opens a request on an order (`c` names it), in the
        transaction of `session`, for an actor the command's permit is checked for."""
        raise NotImplementedError

    async def _take(self, actor: Actor, c: Any, r: R, session: Session) -> R:
        """The kind's step on one request, `r` as read in the transaction of `session` (who may
        take it is the command's permit, checked before)."""
        raise NotImplementedError

    async def one(self, actor: Actor, command: Command, key: str | None) -> R:
        """`command` run once: one that opens a request on its order (the kind's `_open`), queued
        on the order's shop; or a step (`_take`) on the request it names, read in the transaction
        (a missing one is NotFound), checked against the command's permit, then written. In one
        transaction queued on that shop (storage/mongo.py), unless this caller's key recalls a
        first outcome: that one is returned if the permit still lets the caller make the call on
        it (models/access.py)."""
        permit = _PERMITS[command.sender](actor)
        write: Callable[[Session], Awaitable[R]]
        if isinstance(command, Opening):
            shop = actor.shop_id or await shop_of(self.db, self.db.orders, command.order_id)  # type: ignore[attr-defined]
            write = partial(self._open, actor, command, permit)
        else:
            request_id = getattr(command, self.kind.request_field)
            shop = actor.shop_id or await shop_of(self.db, self.kind.store.of(self.db), request_id)

            async def write(session: Session) -> R:
                r = await self.kind.store.get(self.db, request_id, session)
                missing = NotFound(f"no {self.kind.name} {request_id}", field=self.kind.api_field)
                if r is None:
                    raise missing
                access.require_known(actor, r.shop_id, r.buyer_id, missing)
                permit(r.shop_id, r.buyer_id)
                return await self._take(actor, command, r, session)

        print_ = fingerprint(command)

        async def work(session: Session) -> R:
            result_id = await idempotency.recall(self.db, actor, key, print_, session)
            if result_id is not None:
                replayed = await self.kind.store.get(self.db, result_id, session)
                if replayed is not None:
                    permit(replayed.shop_id, replayed.buyer_id)
                    return replayed
            saved = await write(session)
            await idempotency.remember(
                self.db, actor, key, print_, saved.id, self.clock.now(), session
            )
            return saved

        return await self.db.transaction(work, serial=shop)

    async def record(self, session: Session, actor: Actor, decided: Decided[R]) -> list[R]:
        """What a batch decided, in the caller's transaction, from states read in it: new
        requests inserted, moved ones (and those closed) saved with compare-and-set against the
        state they were decided on, then their effects; the decided ones as saved, in order."""
        requests = [(ch.before, ch.outcome.request) for ch in decided.changes]
        if self.on_write is not None:
            await self.on_write(session, actor, requests)
        await order_store.save_many(self.db, list(decided.orders), session, decided.ledgers)
        created = [after for before, after in requests if before is None]
        moved = [(before, after) for before, after in requests if before is not None]
        moved += decided.closed
        # Every refund a request decides, whatever the kind, is written in the request's own
        # document, in the same statement as its change (services/refunds.py).
        now = self.clock.now()
        refunds = await instructions(self.db, session, self.kind.facts, created, moved, now)
        with_refund = refund_store.fields_of(refunds)
        store = self.kind.store
        await store.insert_many(self.db, created, session, with_refund)
        saved = await save_changes(store.of(self.db), store.to_doc, moved, session, with_refund)
        tab_moves = [(before.shop_id, before.tab, after.tab) for before, after in moved]
        tab_moves += [(r.shop_id, None, r.tab) for r in created]
        await tab_counts.move(self.db, self.kind.section, tab_moves, session)
        # H3: the request's events first (one per timeline record, a closed request's too),
        # then (H1) its ticket opens or follows it and appends the ticket's events: all in the
        # same transaction, numbered in that order. Each change's notice rides on its status
        # event's document (storage/events.py).
        status_events = [e for ch in decided.changes for e in events.of_outcome(ch.outcome)]
        notes = [n for ch in decided.changes for n in ch.outcome.notifications]
        await event_log.append_many(self.db, status_events, session, notes)
        changed = [RequestChange(self.kind.facts(r), created=True) for r in created]
        changed += [RequestChange(self.kind.facts(after), created=False) for _, after in moved]
        await on_requests_written(self.db, session, actor, changed, now)
        await announce(self.db, session, actor, refunds)
        by_id = {r.id: r for r in [*created, *saved]}
        return [by_id[after.id] for _, after in requests]

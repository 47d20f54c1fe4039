"""What every kind of request writes the same way, parameterised by kind.

A keyed use case runs once (`RequestWrites.once`): in one transaction, queued on its shop, it
recalls the caller's idempotency key (a repeat returns the first outcome if the caller may still
make the call on it, a different command under the same key is refused), writes, and remembers
the key with the command's fingerprint (models/commands.py). A creating use case then runs the
shop's helpdesk rules on the new request (`created`). After the kind's own documents (the
request, its order, the ledger), every write records the same effects in the same transaction
(`effects`): the tab counters of the kind's section, the notifications, the live feed's status
events, and the request's ticket with its events (services/ticket_sync.py); and a refund the
write decided becomes its refund instruction (services/refunds.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from models.access import Permit
from models.actors import Actor
from models.clock import Clock
from models.commands import Command, fingerprint
from models.events import StatusEvent
from models.notifications import Notification
from models.refund_ledger import RefundBreakdown
from models.tickets import RequestFacts
from services.refunds import instruct
from services.ticket_sync import (
    AfterCreate,
    RequestChange,
    on_requests_written,
    run_rules_after_create,
)
from storage import events as event_log
from storage import idempotency, notifications, tab_counts
from storage.mongo import Database, Session
from storage.request_store import RequestStore


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
        store: RequestStore[R],
        facts: Callable[[R], RequestFacts],
    ) -> None:
        self.db = db
        self.clock = clock
        self.section = section
        self.store = store
        self.facts = facts

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

    async def created(
        self,
        actor: Actor,
        command: Command,
        key: str | None,
        write: Callable[[Session], Awaitable[R]],
        permit: Permit,
        shop: Hashable | Iterable[Hashable] | None,
        after_create: AfterCreate | None,
    ) -> R:
        """`once`, then the shop's rules on the new request; a rule's decision is shown."""
        saved = await self.once(actor, command, key, write, permit, shop)
        if saved.id in await run_rules_after_create(after_create, [saved.id]):
            return await self.store.get(self.db, saved.id, None) or saved
        return saved

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
        await self.store.insert_many(self.db, created, session)
        saved = await self.store.save_many(self.db, moved, session)
        tab_moves = [(before.shop_id, before.tab, after.tab) for before, after in moved]
        tab_moves += [(r.shop_id, None, r.tab) for r in created]
        changed = [RequestChange(self.facts(r), created=True) for r in created]
        changed += [RequestChange(self.facts(after), created=False) for _, after in moved]
        await self.effects(session, actor, tab_moves, notes, status_events, changed)
        # Every refund a request decides leaves here, whatever the kind (services/refunds.py).
        await instruct(self.db, session, actor, self.facts, created, moved, self.clock.now())
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
        await notifications.insert_many(self.db, tuple(notes), session)
        # H3: the request's events first, then (H1) its ticket opens or follows it and appends
        # the ticket's events: all in the same transaction, numbered in that order.
        await event_log.append_many(self.db, list(status_events), session)
        await on_requests_written(self.db, session, actor, list(changed), self.clock.now())

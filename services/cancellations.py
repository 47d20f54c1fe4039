"""Cancellation use cases: load, let the domain decide, write everything in one transaction.

A command's step is found in `STEPS` by the command's class: it is given the request as read (or
a new request's `Opening`), its order with the order's refund ledger, and the command, and its
outcome is written whole: the request (compare-and-set on its version), the order with its
ledger, the tab counters, the notifications and the idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from bson import ObjectId

from models import access, commands, line_cancels
from models import cancellations as domain
from models.actors import Actor
from models.cancellations import Cancellation, CancellationOutcome, CancellationTab, OnOrder
from models.clock import Clock
from models.commands import CancelOrder, CancelOrderLines, CancelUnpaidOrder, RequestCancellation
from models.errors import DomainError
from models.orders import Order
from models.refund_ledger import RefundBreakdown
from models.requests import Opening
from models.ticket_facts import facts_of_cancellation
from services.request_reads import RequestReads
from services.request_writes import Change, Decided, KindOfRequest, OnWrite, admit
from storage import cancellations as store
from storage import orders as order_store
from storage import policies
from storage.mongo import Database, Session
from storage.shops import shops_of

KIND = KindOfRequest(
    store.REQUESTS, facts_of_cancellation, "cancellations", "cancellation", "cancellation_id"
)

# Each command's step: given what it starts from (a new request's Opening, or the request as
# read), where it acts and the command (C1, C2, C4, C5, C7, C8, C10; the buyer withdraws).
STEPS: Mapping[type[commands.Command], Callable[[Any, OnOrder, Any], CancellationOutcome]] = {
    commands.RequestCancellation: domain.request_by_buyer,
    commands.CancelOrder: domain.cancel_by_seller,
    commands.CancelOrderLines: line_cancels.cancel_lines_by_seller,
    commands.CancelUnpaidOrder: domain.cancel_by_system,
    commands.WithdrawCancellation: domain.withdraw,
    commands.AcceptCancellation: domain.accept,
    commands.RejectCancellation: domain.reject,
}

# The commands that open a cancellation on an order.
OpensRequest = RequestCancellation | CancelOrder | CancelOrderLines | CancelUnpaidOrder


def new_cancellation_id() -> str:
    return f"can_{ObjectId()}"


class CancellationService(RequestReads[Cancellation, CancellationTab, store.CancellationFilter]):
    def __init__(self, db: Database, clock: Clock, on_write: OnWrite | None = None) -> None:
        super().__init__(db, clock, KIND, on_write, CancellationTab, store.CancellationFilter())
        self.batches[commands.AutoAcceptCancellations] = self.auto_accept
        self.batches[commands.CancelUnpaidOrders] = self.cancel_unpaid_orders

    async def _open(
        self, actor: Actor, c: OpensRequest, permit: access.Permit, session: Session
    ) -> Cancellation:
        """A command that opens a request on its order, decided on the order as read in the
        transaction, written in one go."""
        order, ledger = await self.order(c.order_id, session)
        admit(actor, order, permit)
        # A request keeps the policy it was opened under (Y1): read it once, here.
        book = await policies.book_for(self.db, order.categories, session)
        policy, now = book.for_order(order.categories), self.clock.now()
        opening = Opening(policy, now, new_cancellation_id(), book.calendar)
        outcome = STEPS[type(c)](opening, OnOrder(order, ledger, actor, now), c)
        return (await self._write(session, actor, [(Change(outcome, None), order)]))[0]

    async def _take(
        self, actor: Actor, c: commands.Command, before: Cancellation, session: Session
    ) -> Cancellation:
        """A command on a waiting request, decided on its order as read in the transaction."""
        order, ledger = await self.order(before.order_id, session)
        outcome = STEPS[type(c)](before, OnOrder(order, ledger, actor, self.clock.now()), c)
        return (await self._write(session, actor, [(Change(outcome, before), order)]))[0]

    async def auto_accept(
        self, actor: Actor, command: commands.AutoAcceptCancellations
    ) -> list[Cancellation]:
        """C6: these requests, if still waiting past their response window, accepted by the
        platform, in one transaction. One that someone decided meanwhile is skipped; if a
        decision commits while the transaction runs, it reruns on the state that won."""
        ids = list(command.cancellation_ids)
        now = self.clock.now()

        async def work(session: Session) -> list[Cancellation]:
            found = await store.get_many(self.db, ids, session)
            orders = await order_store.with_ledgers(self.db, [c.order_id for c in found], session)
            changes = []
            for c in found:
                order, ledger = orders[c.order_id]
                with suppress(DomainError):  # decided by someone else, or not due after all
                    outcome = domain.auto_accept(c, OnOrder(order, ledger, actor, now))
                    changes.append((Change(outcome, c), order))
            return await self._write(session, actor, changes)

        shops = await shops_of(self.db, self.db.cancellations, ids)
        return await self.db.transaction(work, serial=shops)

    async def auto_accept_due(self, actor: Actor, limit: int = 100) -> list[Cancellation]:
        """C6 for up to `limit` of the requests due now."""
        due = await store.due_for_auto_accept(self.db, self.clock.now(), limit)
        if not due:
            return []
        ids = tuple(cid for cid, _ in due)
        return await self.auto_accept(actor, commands.AutoAcceptCancellations(ids))

    async def cancel_unpaid_orders(
        self, actor: Actor, command: commands.CancelUnpaidOrders
    ) -> list[Cancellation]:
        """C8: these orders, if still unpaid past their payment window, cancelled by the
        platform, in one transaction (skipping any paid or cancelled meanwhile)."""
        order_ids = list(command.order_ids)
        now = self.clock.now()

        async def work(session: Session) -> list[Cancellation]:
            orders = list((await order_store.with_ledgers(self.db, order_ids, session)).values())
            categories = [c for o, _ in orders for c in o.categories]
            book = await policies.book_for(self.db, categories, session)
            changes = []
            for order, ledger in orders:
                opening = Opening(book.for_order(order.categories), now, new_cancellation_id())
                at = OnOrder(order, ledger, actor, now)
                with suppress(DomainError):  # paid or cancelled since it was found due
                    outcome = domain.cancel_by_system(opening, at, CancelUnpaidOrder(order.id))
                    changes.append((Change(outcome, None), order))
            return await self._write(session, actor, changes)

        shops = await shops_of(self.db, self.db.orders, order_ids)
        return await self.db.transaction(work, serial=shops)

    # ---- reads ---------------------------------------------------------------------------

    async def eligibility(self, actor: Actor, order_id: str) -> domain.Eligibility:
        order, _ = await self.visible_order(actor, order_id)
        book = await policies.book_for(self.db, order.categories)
        return domain.buyer_eligibility(order, book.for_order(order.categories), self.clock.now())

    async def quote(self, actor: Actor, cancellation_id: str) -> RefundBreakdown:
        """What a cancellation paid, or would pay if accepted now (the cancellation's own code)."""
        c = await self.get(actor, cancellation_id, "cancellationId")
        if c.refund is not None:  # its lines are the ledger's business
            return RefundBreakdown(c.refund.items, c.refund.shipping)
        order, _ = await self.order(c.order_id)
        return domain.refund_if_accepted(c, order, self.clock.now())

    # ---- the one write path --------------------------------------------------------------

    async def _write(
        self, session: Session, actor: Actor, changes: list[tuple[Change[Cancellation], Order]]
    ) -> list[Cancellation]:
        """The one write path (services/request_writes.py): each step's change with its order
        as read (the state the order is written against), each order with the ledger its
        cancellation booked, from states read in the caller's transaction."""
        orders = [(order, ch.outcome.order) for ch, order in changes]
        ledgers = {order.id: ch.outcome.ledger for ch, order in changes if ch.outcome.ledger}
        decided = Decided([ch for ch, _ in changes], orders, ledgers)
        return await self.record(session, actor, decided)

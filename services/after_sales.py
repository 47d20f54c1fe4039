"""After-sale use cases (R1-R11, P1-P3, Y1): load, let the domain decide, write in one transaction.

The shape of services/cancellations.py. A use case loads, inside one snapshot transaction, the
request, its order, the order's refund ledger and every after-sale request of the order; asks
the domain's step for its command (`_STEPS`) for the outcome; and `_write` saves all of it
together: the new or moved request (compare-and-set on what was read), the requests a second
request closed (R5), the order with its ledger, the tab counters, the notifications and the
idempotency key. The order's document is written by every step, so two steps on one order at
the same instant conflict and the loser reruns on the state that won (storage/orders.py).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from bson import ObjectId

from models import access, commands
from models import after_sale_decisions as decisions
from models import after_sale_shipping as shipping
from models.actors import Actor
from models.after_sale_opening import line_eligibility, refund_without_request, request_by_buyer
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, LineEligibility, Step
from models.after_sales import act_on_deadline
from models.after_sales_case import AfterSalesCase, quote_for_request
from models.after_sales_machine import AfterSaleTab
from models.clock import Clock
from models.errors import DomainError, NotFound, ValidationFailed
from models.orders import Order
from models.policy import DEFAULT_POLICY, BusinessCalendar, CategoryPolicy, PolicyBook
from models.refund_ledger import RefundBreakdown
from models.requests import Opening
from models.ticket_facts import facts_of_after_sale
from services.request_reads import RequestReads
from services.request_writes import Change, Decided, KindOfRequest, OnWrite, admit
from storage import after_sales as store
from storage import orders as order_store
from storage import policies, replacement_orders
from storage.mongo import Database, Session
from storage.shops import shops_of

KIND = KindOfRequest(
    store.REQUESTS, facts_of_after_sale, "after_sales", "after-sale request", "request_id"
)


# Each step on a request, by its command (models/commands.py).
_STEPS: dict[type[commands.AfterSaleCommand], Callable[[Step, Any], AfterSaleOutcome]] = {
    commands.WithdrawAfterSale: decisions.withdraw,
    commands.AppealAfterSale: decisions.appeal,
    commands.ShipReturn: shipping.ship_return,
    commands.ApproveAfterSale: decisions.approve,
    commands.RejectAfterSale: decisions.reject,
    commands.ConfirmReturnReceived: shipping.confirm_receipt,
    commands.RejectReturnOnReceipt: decisions.reject,
    commands.OfferPartialRefund: decisions.offer_partial_refund,
    commands.AnswerOffer: decisions.answer_offer,
    commands.IssueReplacementRefund: shipping.issue_replacement_refund,
    commands.ShipReplacement: shipping.ship_replacement,
    commands.DecideAppeal: decisions.decide_appeal,
    commands.RecordReplacementDelivered: shipping.replacement_delivered,
}


# The commands that open a request on an order.
OpensRequest = commands.RequestAfterSale | commands.RefundOrder | commands.PlatformRefund
Cases = dict[str, AfterSalesCase]  # each order's case, by order id
# A move on one request as its order's case holds it (None: nothing to do for it).
Move = Callable[[Step], AfterSaleOutcome | None]


class AfterSaleService(RequestReads[AfterSaleRequest, AfterSaleTab, store.AfterSaleFilter]):
    def __init__(self, db: Database, clock: Clock, on_write: OnWrite | None = None) -> None:
        super().__init__(db, clock, KIND, on_write, AfterSaleTab, store.AfterSaleFilter())
        self.batches[commands.ActOnAfterSaleDeadlines] = self.act_on_deadlines

    async def _open(
        self, actor: Actor, c: OpensRequest, permit: access.Permit, session: Session
    ) -> AfterSaleRequest:
        """R1, P1 (a buyer's request), R5 (a second one, linked), R10 (instant refund); R9, R10
        (a refund with no buyer request): decided on the order's case, written in one go."""
        cases = await self._cases([c.order_id], session)
        case, new_id, now = cases[c.order_id], f"afs_{ObjectId()}", self.clock.now()
        order = case.order
        admit(actor, order, permit)
        # A request keeps the policy it was opened under (Y1): read once, here.
        book = await policies.book_for(self.db, order.categories, session)
        if isinstance(c, commands.RequestAfterSale):
            asked = dict(c.lines)
            categories = [line.category for line in order.lines if line.line_id in asked]
            policy = book.for_order(categories or order.categories)  # kept on the request (Y1)
            outcome = request_by_buyer(case, actor, c, Opening(policy, now, new_id, book.calendar))
        else:
            opening = Opening(book.for_order(order.categories), now, new_id)
            outcome = refund_without_request(case, actor, c, opening)
        case.apply(outcome)
        return (await self._write(session, actor, cases, [Change(outcome, None)]))[0]

    async def _take(
        self, actor: Actor, c: commands.AfterSaleCommand, r: AfterSaleRequest, session: Session
    ) -> AfterSaleRequest:
        """A step on one request: the domain's rule (`_STEPS`) on the order's case, written in
        one go (who may take it is the command's permit, checked before: RequestWrites.one)."""
        return (await self._decide_each(session, actor, [r], lambda s: _STEPS[type(c)](s, c)))[0]

    async def act_on_deadlines(
        self, actor: Actor, c: commands.ActOnAfterSaleDeadlines
    ) -> list[AfterSaleRequest]:
        """R3, R5, R8: the platform's move on each of these requests whose deadline has passed,
        in one transaction. One that someone moved meanwhile is skipped; a step committed while
        the transaction runs makes it rerun on the state that won."""
        ids = list(c.request_ids)

        def due(s: Step) -> AfterSaleOutcome | None:
            with suppress(DomainError):  # moved by someone else, or not due after all
                return act_on_deadline(s)
            return None

        async def work(session: Session) -> list[AfterSaleRequest]:
            found = await store.get_many(self.db, ids, session)
            return await self._decide_each(session, actor, found, due)

        shops = await shops_of(self.db, self.db.after_sales, ids)
        return await self.db.transaction(work, serial=shops)

    async def follow_replacement_orders(
        self, session: Session, actor: Actor, orders: list[Order]
    ) -> None:
        """P4: the requests whose replacement orders the order intake just moved, moved after
        them in the intake's transaction, through the one write path (wired by
        services/bootstrap.py as the intake's `on_orders_moved`)."""
        ids = [o.replacement_request_id for o in orders if o.replacement_request_id]
        if ids:
            # None when the request moved on (refunded instead, say): the order alone moves.
            found = await store.get_many(self.db, ids, session)
            await self._decide_each(session, actor, found, shipping.follow_replacement_order)

    async def set_policy(self, actor: Actor, category: str, policy: CategoryPolicy) -> None:
        """Y1: the platform sets a category's policy; requests already open keep theirs."""
        access.require_platform(actor)
        category = category.strip()
        if not category or len(category) > 100:
            raise ValidationFailed("a category is 1 to 100 characters", field="category")
        if category.startswith("*"):  # "*" is the default, "*calendar" the calendar's (Y2)
            raise ValidationFailed("a category does not start with *", field="category")
        await policies.put(self.db, category, policy)

    async def set_calendar(self, actor: Actor, calendar: BusinessCalendar) -> None:
        """Y2: the platform sets the business calendar; deadlines already set keep theirs."""
        access.require_platform(actor)
        await policies.put_calendar(self.db, calendar)

    # ---- reads ---------------------------------------------------------------------------

    async def line_eligibility(self, actor: Actor, order_id: str) -> tuple[LineEligibility, ...]:
        order, ledger = await self.visible_order(actor, order_id)
        case = AfterSalesCase(order, ledger, await self.for_order(order))
        book = await policies.book_for(self.db, order.categories)
        return line_eligibility(case, book, self.clock.now())

    async def quote(self, actor: Actor, request_id: str) -> RefundBreakdown:
        """What the request paid, or would pay now: the code that pays it (quote_for_request)."""
        r = await self.get(actor, request_id)
        return quote_for_request(r, *await self.order(r.order_id))

    async def policy_book(self, categories: list[str]) -> PolicyBook:
        """These categories' policies (Y1: the default for one that sets none) and the business
        calendar (Y2), in one read."""
        return await policies.book_for(self.db, categories)

    async def all_policies(self) -> dict[str, CategoryPolicy]:
        return {"*": DEFAULT_POLICY, **await policies.all_policies(self.db)}

    # ---- the one write path --------------------------------------------------------------

    async def _cases(self, order_ids: list[str], session: Session) -> Cases:
        ids = sorted(set(order_ids))
        orders = await order_store.with_ledgers(self.db, ids, session)
        if missing := [i for i in ids if i not in orders]:
            raise NotFound(f"no order {missing[0]}", field="orderId")
        existing = await store.for_orders(self.db, ids, session)
        linked = [rid for o, _ in orders.values() for rid in o.replacement_order_ids]
        replacements = await order_store.get_many(self.db, linked, session) if linked else {}
        cases = {}
        for i, (order, ledger) in orders.items():
            its_own = {rid: replacements[rid] for rid in order.replacement_order_ids}
            cases[i] = AfterSalesCase(order, ledger, existing[i], its_own)
        return cases

    async def _decide_each(
        self, session: Session, actor: Actor, found: list[AfterSaleRequest], move: Move
    ) -> list[AfterSaleRequest]:
        """These requests as read, each moved in turn now on its order's case as the ones
        before left it (None: nothing to do for it), and what was decided written."""
        cases = await self._cases([r.order_id for r in found], session)
        now = self.clock.now()
        changes = []
        for r in found:
            case = cases[r.order_id]
            # A step on `r` as its order's case holds it now.
            outcome = move(Step(r, case.order, case.ledger, actor, now, case.replacement_order(r)))
            if outcome is not None:
                case.apply(outcome)
                changes.append(Change(outcome, r))
        return await self._write(session, actor, cases, changes)

    async def _write(
        self, session: Session, actor: Actor, cases: Cases, changes: list[Change[AfterSaleRequest]]
    ) -> list[AfterSaleRequest]:
        """The one write path: requests (with their timeline records), the requests a second
        request closed, orders, ledgers, tab counters, notifications, the requests' tickets and
        the live feed's events, in the caller's transaction, from states read in that
        transaction."""
        if not changes:
            return []
        touched = [cases[i] for i in dict.fromkeys(ch.outcome.request.order_id for ch in changes)]
        # P4: the replacement orders the steps placed (with their intake records) or moved.
        placed = [o for ch in changes for o in ch.outcome.new_orders]
        moved = [m for ch in changes for m in ch.outcome.moved_orders]
        await replacement_orders.write(self.db, actor, placed, moved, self.clock.now(), session)
        # Every step writes its order with the ledger, paying or not: the claim on the case.
        orders = [(case.order_before, case.order) for case in touched]
        ledgers = {case.order.id: case.claim for case in touched}
        # R5: a request a step closed is of the step's order, read in its case.
        superseded = [r for ch in changes for r in ch.outcome.superseded]
        closed = [(cases[r.order_id].as_read(r.id), r) for r in superseded]
        return await self.record(session, actor, Decided(changes, orders, ledgers, closed))

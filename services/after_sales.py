"""After-sale use cases (R1-R11, P1-P3, Y1): load, let the domain decide, write in one transaction.

The shape of services/cancellations.py. A use case loads, inside one snapshot transaction, the
request, its order, the order's refund ledger and every after-sale request of the order; asks
models/after_sales.py for the outcome; and `_write` saves all of it together: the new or moved
request (compare-and-set on what was read), the requests a second request closed (R5), the order,
the ledger, the tab counters, the notifications and the idempotency key. The ledger document of
the order is written by every step, so two steps on one order at the same instant conflict and the
loser reruns on the state that won (storage/refund_ledgers.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from models import access, events
from models import after_sales as domain
from models.actors import Actor
from models.after_sales import (
    AfterSaleKind,
    AfterSaleOutcome,
    AfterSaleRequest,
    AfterSaleTab,
    DecisionType,
    LineEligibility,
    RefundBreakdown,
    RefundLedger,
)
from models.cancellations import _cancel_order
from models.clock import Clock
from models.errors import DomainError, NotFound, ValidationFailed
from models.money import Money
from models.orders import Order
from models.policy import DEFAULT_POLICY, CategoryPolicy, PolicyBook
from models.ticket_facts import facts_of_after_sale
from services.ticket_sync import (
    AfterCreate,
    RequestChange,
    on_requests_written,
    run_rules_after_create,
)
from storage import after_sales as store
from storage import cancellations as cancellation_store
from storage import events as event_log
from storage import idempotency, notifications, policies, refund_ledgers, tab_counts
from storage import orders as order_store
from storage.after_sales import AfterSaleFilter
from storage.mongo import Database, Session
from storage.pagination import Page
from storage.shops import shop_of, shops_of

SECTION = "after_sales"


# Runs the helpdesk rules on new requests, after their transaction (services/tickets.py); it
# returns the ids of the requests a rule decided, so the caller shows their new state.

Decide = Callable[[AfterSaleRequest, Order, RefundLedger], AfterSaleOutcome]
Create = Callable[["_OrderState", PolicyBook, str], AfterSaleOutcome]
OnWrite = Callable[
    [Session, Actor, list[tuple[AfterSaleRequest | None, AfterSaleRequest]]], Awaitable[None]
]


def new_after_sale_id() -> str:
    return f"afs_{ObjectId()}"


@dataclass
class _OrderState:
    """One order as read in the transaction, and as the steps decided so far leave it."""

    order_before: Order
    ledger_before: RefundLedger
    existing_before: list[AfterSaleRequest]
    order: Order = field(init=False)
    ledger: RefundLedger = field(init=False)
    existing: list[AfterSaleRequest] = field(init=False)

    def __post_init__(self) -> None:
        self.order = self.order_before
        self.ledger = self.ledger_before
        self.existing = list(self.existing_before)

    def current(self, request_id: str) -> AfterSaleRequest | None:
        return next((r for r in self.existing if r.id == request_id), None)

    def apply(self, outcome: AfterSaleOutcome) -> None:
        self.order = outcome.order
        if outcome.ledger is not None:
            self.ledger = outcome.ledger
        moved = {outcome.request.id: outcome.request} | {r.id: r for r in outcome.superseded}
        self.existing = [moved.pop(r.id, r) for r in self.existing] + list(moved.values())


@dataclass(frozen=True)
class _Change:
    outcome: AfterSaleOutcome
    before: AfterSaleRequest | None  # None: a new request


def _lines(lines: Mapping[str, int] | None) -> dict[str, int] | None:
    return dict(lines) if lines is not None else None


class AfterSaleService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.after_create: AfterCreate | None = None  # wired by services/bootstrap.py
        # E1: attaches the evidence a step's caller named, in the step's transaction (wired by
        # services/bootstrap.py; services/evidence.py::EvidenceService.attach_claimed).
        self.on_write: OnWrite | None = None

    # ---- buyer ---------------------------------------------------------------------------

    async def request(
        self,
        actor: Actor,
        order_id: str,
        kind: AfterSaleKind,
        lines: Mapping[str, int],
        reason: str,
        note: str | None,
        key: str | None,
    ) -> AfterSaleRequest:
        """R1, P1 (a buyer's request), R5 (a second one, linked), R10 (instant refund)."""

        def create(st: _OrderState, book: PolicyBook, new_id: str) -> AfterSaleOutcome:
            order = st.order
            asked = [line.category for line in order.lines if line.line_id in lines]
            policy = book.for_order(asked or order.categories)  # kept on the request (Y1)
            return domain.request_by_buyer(
                order,
                st.existing,
                st.ledger,
                actor,
                kind,
                lines,
                reason,
                note,
                policy,
                self.clock.now(),
                new_id,
            )

        args = {"order": order_id, "kind": kind.value, "lines": dict(lines), "reason": reason}
        args["note"] = note
        return await self._create(
            actor, order_id, "requestAfterSale", args, key, create, access.permit_buyer(actor)
        )

    async def withdraw(self, actor: Actor, request_id: str, key: str | None) -> AfterSaleRequest:
        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.withdraw(r, order, actor, self.clock.now())

        return await self._decide(
            actor, request_id, "withdrawAfterSale", {}, key, decide, access.permit_buyer(actor)
        )

    async def appeal(
        self, actor: Actor, request_id: str, reason: str, comment: str | None, key: str | None
    ) -> AfterSaleRequest:
        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.appeal(r, order, actor, reason, comment, self.clock.now())

        args = {"reason": reason, "comment": comment}
        return await self._decide(
            actor, request_id, "appealAfterSale", args, key, decide, access.permit_buyer(actor)
        )

    async def ship_return(
        self, actor: Actor, request_id: str, carrier: str, tracking: str, key: str | None
    ) -> AfterSaleRequest:
        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.ship_return(r, order, actor, carrier, tracking, self.clock.now())

        args = {"carrier": carrier, "tracking": tracking}
        return await self._decide(
            actor, request_id, "shipReturn", args, key, decide, access.permit_buyer(actor)
        )

    # ---- seller agent --------------------------------------------------------------------

    async def approve(
        self,
        actor: Actor,
        request_id: str,
        decision: DecisionType,
        key: str | None,
        *,
        lines: Mapping[str, int] | None = None,
        buyer_keeps_item: bool = False,
        partial_amount: Money | None = None,
        reason: str | None = None,
        comment: str | None = None,
    ) -> AfterSaleRequest:
        """R7, P2: approve with a decision, for some lines, maybe for less money."""

        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.approve(
                r,
                order,
                ledger,
                actor,
                decision,
                self.clock.now(),
                lines=lines,
                buyer_keeps_item=buyer_keeps_item,
                partial_amount=partial_amount,
                reason=reason,
                comment=comment,
            )

        args = {
            "decision": decision.value,
            "lines": _lines(lines),
            "keeps": buyer_keeps_item,
            "amount": partial_amount,
            "reason": reason,
            "comment": comment,
        }
        return await self._decide(
            actor, request_id, "approveAfterSale", args, key, decide, access.permit_seller(actor)
        )

    async def reject(
        self, actor: Actor, request_id: str, reason: str, comment: str | None, key: str | None
    ) -> AfterSaleRequest:
        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.reject(r, order, actor, reason, comment, self.clock.now())

        args = {"reason": reason, "comment": comment}
        return await self._decide(
            actor, request_id, "rejectAfterSale", args, key, decide, access.permit_seller(actor)
        )

    async def confirm_receipt(
        self, actor: Actor, request_id: str, key: str | None
    ) -> AfterSaleRequest:
        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.confirm_receipt(r, order, ledger, actor, self.clock.now())

        return await self._decide(
            actor, request_id, "confirmReturnReceived", {}, key, decide, access.permit_seller(actor)
        )

    async def reject_on_receipt(
        self, actor: Actor, request_id: str, reason: str, comment: str | None, key: str | None
    ) -> AfterSaleRequest:
        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.reject_on_receipt(r, order, actor, reason, comment, self.clock.now())

        args = {"reason": reason, "comment": comment}
        return await self._decide(
            actor,
            request_id,
            "rejectReturnOnReceipt",
            args,
            key,
            decide,
            access.permit_seller(actor),
        )

    async def ship_replacement(
        self, actor: Actor, request_id: str, carrier: str, tracking: str, key: str | None
    ) -> AfterSaleRequest:
        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.ship_replacement(r, order, actor, carrier, tracking, self.clock.now())

        args = {"carrier": carrier, "tracking": tracking}
        return await self._decide(
            actor, request_id, "shipReplacement", args, key, decide, access.permit_seller(actor)
        )

    async def refund_by_seller(
        self,
        actor: Actor,
        order_id: str,
        reason: str,
        comment: str | None,
        key: str | None,
        *,
        lines: Mapping[str, int] | None = None,
        partial_amount: Money | None = None,
    ) -> AfterSaleRequest:
        """R9: the seller refunds with no buyer request."""

        def create(st: _OrderState, book: PolicyBook, new_id: str) -> AfterSaleOutcome:
            return domain.refund_by_seller(
                st.order,
                st.existing,
                st.ledger,
                actor,
                reason,
                comment,
                book.for_order(st.order.categories),
                self.clock.now(),
                new_id,
                lines=lines,
                partial_amount=partial_amount,
            )

        args = {"order": order_id, "reason": reason, "comment": comment, "lines": _lines(lines)}
        args["amount"] = partial_amount
        return await self._create(
            actor, order_id, "refundBySeller", args, key, create, access.permit_seller(actor)
        )

    # ---- platform ------------------------------------------------------------------------

    async def refund_by_platform(
        self,
        actor: Actor,
        order_id: str,
        reason: str,
        comment: str | None,
        key: str | None,
        *,
        lines: Mapping[str, int] | None = None,
        partial_amount: Money | None = None,
    ) -> AfterSaleRequest:
        """R10: the platform refunds with no seller step."""

        def create(st: _OrderState, book: PolicyBook, new_id: str) -> AfterSaleOutcome:
            return domain.refund_by_platform(
                st.order,
                st.existing,
                st.ledger,
                actor,
                reason,
                comment,
                book.for_order(st.order.categories),
                self.clock.now(),
                new_id,
                lines=lines,
                partial_amount=partial_amount,
            )

        args = {"order": order_id, "reason": reason, "comment": comment, "lines": _lines(lines)}
        args["amount"] = partial_amount
        return await self._create(
            actor, order_id, "refundByPlatform", args, key, create, access.permit_platform(actor)
        )

    async def decide_appeal(
        self, actor: Actor, request_id: str, for_buyer: bool, note: str, key: str | None
    ) -> AfterSaleRequest:
        """R6: the mediator decides for the buyer (the refund goes ahead) or for the seller."""

        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            now = self.clock.now()
            if for_buyer:
                return domain.decide_for_buyer(r, order, ledger, actor, note, now)
            return domain.decide_for_seller(r, order, actor, note, now)

        args = {"for_buyer": for_buyer, "note": note}
        return await self._decide(
            actor, request_id, "decideAppeal", args, key, decide, access.permit_platform(actor)
        )

    async def replacement_delivered(
        self, actor: Actor, request_id: str, key: str | None
    ) -> AfterSaleRequest:
        """P2: the carrier delivered the replacement (a platform event)."""

        def decide(r: AfterSaleRequest, order: Order, ledger: RefundLedger) -> AfterSaleOutcome:
            return domain.replacement_delivered(r, order, actor, self.clock.now())

        return await self._decide(
            actor,
            request_id,
            "recordReplacementDelivered",
            {},
            key,
            decide,
            access.permit_platform(actor),
        )

    async def act_on_deadlines(self, actor: Actor, ids: list[str]) -> list[AfterSaleRequest]:
        """R3, R5, R8: the platform's move on each of these requests whose deadline has passed,
        in one transaction. One that someone moved meanwhile is skipped; a step committed while
        the transaction runs makes it rerun on the state that won."""
        now = self.clock.now()

        async def work(session: Session) -> list[AfterSaleRequest]:
            found = await store.get_many(self.db, ids, session)
            states = await self._states([r.order_id for r in found], session)
            changes = []
            for r in found:
                st = states[r.order_id]
                try:
                    outcome = domain.act_on_deadline(r, st.order, st.ledger, actor, now)
                except DomainError:
                    continue  # moved by someone else, or not due after all
                st.apply(outcome)
                changes.append(_Change(outcome, r))
            return await self._write(session, actor, states, changes)

        return await self.db.transaction(
            work, serial=await shops_of(self.db, self.db.after_sales, ids)
        )

    async def set_policy(self, actor: Actor, category: str, policy: CategoryPolicy) -> None:
        """Y1: the platform sets a category's policy; requests already open keep theirs."""
        access.require_platform(actor)
        category = category.strip()
        if not category or len(category) > 100:
            raise ValidationFailed("a category is 1 to 100 characters", field="category")
        await policies.put(self.db, category, policy)

    # ---- reads ---------------------------------------------------------------------------

    async def get(self, actor: Actor, request_id: str) -> AfterSaleRequest:
        r = await store.get(self.db, request_id)
        if r is None:
            raise NotFound(f"no after-sale request {request_id}", field="id")
        access.require_view(actor, r.shop_id, r.buyer_id, f"after-sale request {request_id}")
        return r

    async def page(
        self,
        actor: Actor,
        shop_id: str | None,
        tab: AfterSaleTab | None,
        f: AfterSaleFilter,
        sort: str,
        first: int,
        after: str | None,
    ) -> tuple[list[AfterSaleRequest], Page]:
        scope = access.request_scope(actor, shop_id)
        return await store.page(self.db, scope, tab, f, sort, first, after)

    async def tab_counts(
        self, actor: Actor, shop_id: str | None, f: AfterSaleFilter
    ) -> dict[AfterSaleTab, int]:
        """Counters when the whole shop is asked for (one read); index-backed counts otherwise."""
        scope = access.request_scope(actor, shop_id)
        if scope.shop_id and not scope.buyer_id and f == AfterSaleFilter():
            stored = await tab_counts.read(self.db, scope.shop_id, SECTION)
            return {tab: max(0, stored.get(tab.value, 0)) for tab in AfterSaleTab}
        return {tab: await store.count(self.db, scope, tab, f) for tab in AfterSaleTab}

    async def line_eligibility(self, actor: Actor, order_id: str) -> tuple[LineEligibility, ...]:
        order = await self._visible_order(actor, order_id)
        existing = (await store.for_orders(self.db, [order.id]))[order.id]
        book = await policies.book_for(self.db, order.categories)
        return domain.line_eligibility(order, existing, book, self.clock.now())

    async def quote_request(self, actor: Actor, request_id: str) -> RefundBreakdown:
        """What the request paid, or would pay now: the code that pays it (quote_for_request)."""
        r = await self.get(actor, request_id)
        order = await self._load_order(r.order_id, None)
        ledger = await refund_ledgers.get(self.db, order)
        return domain.quote_for_request(r, order, ledger)

    async def quote_cancellation(self, actor: Actor, cancellation_id: str) -> RefundBreakdown:
        """What a cancellation paid, or would pay if accepted now (the cancellation's own code)."""
        c = await cancellation_store.get(self.db, cancellation_id)
        if c is None:
            raise NotFound(f"no cancellation {cancellation_id}", field="cancellationId")
        access.require_view(actor, c.shop_id, c.buyer_id, f"cancellation {cancellation_id}")
        if c.refund is not None:
            items, shipping = c.refund.items, c.refund.shipping
        else:
            order = await self._load_order(c.order_id, None)
            _, refund = _cancel_order(order, self.clock.now(), c.id)
            items, shipping = refund.items, refund.shipping
        return RefundBreakdown(items, shipping)

    async def ledger(self, actor: Actor, order_id: str) -> tuple[Order, RefundLedger]:
        order = await self._visible_order(actor, order_id)
        return order, await refund_ledgers.get(self.db, order)

    async def policy(self, category: str) -> CategoryPolicy:
        return (await policies.book_for(self.db, [category])).for_category(category)

    async def all_policies(self) -> dict[str, CategoryPolicy]:
        stored = await policies.all_policies(self.db)
        return {"*": DEFAULT_POLICY, **stored}

    # ---- the one write path --------------------------------------------------------------

    async def _visible_order(self, actor: Actor, order_id: str) -> Order:
        order = await self._load_order(order_id, None)
        access.require_view(actor, order.shop_id, order.buyer_id, f"order {order_id}")
        return order

    async def _load_order(self, order_id: str, session: Session | None) -> Order:
        order = await order_store.get(self.db, order_id, session)
        if order is None:
            raise NotFound(f"no order {order_id}", field="orderId")
        return order

    async def _states(self, order_ids: list[str], session: Session) -> dict[str, _OrderState]:
        ids = sorted(set(order_ids))
        orders = await order_store.get_many(self.db, ids, session)
        missing = [i for i in ids if i not in orders]
        if missing:
            raise NotFound(f"no order {missing[0]}", field="orderId")
        ledgers = await refund_ledgers.get_many(self.db, list(orders.values()), session)
        existing = await store.for_orders(self.db, ids, session)
        return {i: _OrderState(orders[i], ledgers[i], existing[i]) for i in ids}

    async def _create(
        self,
        actor: Actor,
        order_id: str,
        operation: str,
        args: dict[str, Any],
        key: str | None,
        create: Create,
        permit: access.Permit,
    ) -> AfterSaleRequest:
        print_ = idempotency.fingerprint(operation, args)

        async def work(session: Session) -> AfterSaleRequest:
            replayed = await self._replay(actor, key, print_, session, permit)
            if replayed:
                return replayed
            states = await self._states([order_id], session)
            st = states[order_id]
            permit(st.order.shop_id, st.order.buyer_id)
            # A request keeps the policy it was opened under (Y1): read once, here.
            book = await policies.book_for(self.db, st.order.categories, session)
            outcome = create(st, book, new_after_sale_id())
            st.apply(outcome)
            [saved] = await self._write(session, actor, states, [_Change(outcome, None)])
            await idempotency.remember(
                self.db, actor, key, print_, saved.id, self.clock.now(), session
            )
            return saved

        shop = actor.shop_id or await shop_of(self.db, self.db.orders, order_id)
        saved = await self.db.transaction(work, serial=shop)
        if saved.id in await run_rules_after_create(self.after_create, [saved.id]):
            return await store.get(self.db, saved.id) or saved
        return saved

    async def _decide(
        self,
        actor: Actor,
        request_id: str,
        operation: str,
        args: dict[str, Any],
        key: str | None,
        decide: Decide,
        permit: access.Permit,
    ) -> AfterSaleRequest:
        print_ = idempotency.fingerprint(operation, {"id": request_id, **args})

        async def work(session: Session) -> AfterSaleRequest:
            replayed = await self._replay(actor, key, print_, session, permit)
            if replayed:
                return replayed
            r = await store.get(self.db, request_id, session)
            if r is None:
                raise NotFound(f"no after-sale request {request_id}", field="requestId")
            permit(r.shop_id, r.buyer_id)
            states = await self._states([r.order_id], session)
            st = states[r.order_id]
            outcome = decide(r, st.order, st.ledger)
            st.apply(outcome)
            [saved] = await self._write(session, actor, states, [_Change(outcome, r)])
            await idempotency.remember(
                self.db, actor, key, print_, saved.id, self.clock.now(), session
            )
            return saved

        shop = actor.shop_id or await shop_of(self.db, self.db.after_sales, request_id)
        return await self.db.transaction(work, serial=shop)

    async def _replay(
        self, actor: Actor, key: str | None, print_: str, session: Session, permit: access.Permit
    ) -> AfterSaleRequest | None:
        """The first outcome of this caller's key, if the caller may still make the call."""
        result_id = await idempotency.recall(self.db, actor, key, print_, session)
        if result_id is None:
            return None
        r = await store.get(self.db, result_id, session)
        if r is not None:
            permit(r.shop_id, r.buyer_id)
        return r

    async def _write(
        self,
        session: Session,
        actor: Actor,
        states: dict[str, _OrderState],
        changes: list[_Change],
    ) -> list[AfterSaleRequest]:
        """The one write path: requests (with their timeline records), the requests a second
        request closed, orders, ledgers, tab counters, notifications, the requests' tickets and
        the live feed's events, in the caller's transaction, from states read in that
        transaction."""
        if not changes:
            return []
        if self.on_write is not None:
            await self.on_write(session, actor, [(ch.before, ch.outcome.request) for ch in changes])
        touched = [states[ch.outcome.request.order_id] for ch in changes]
        touched = list({id(st): st for st in touched}.values())
        await order_store.save_many(
            self.db,
            [(st.order_before, st.order) for st in touched if st.order != st.order_before],
            session,
        )
        await refund_ledgers.claim_many(self.db, [st.ledger for st in touched], session)

        created = [ch.outcome.request for ch in changes if ch.before is None]
        await store.insert_many(self.db, created, session)
        moved: list[tuple[AfterSaleRequest, AfterSaleRequest]] = [
            (ch.before, ch.outcome.request) for ch in changes if ch.before is not None
        ]
        for ch in changes:
            st = states[ch.outcome.request.order_id]
            for closed in ch.outcome.superseded:
                before = next(r for r in st.existing_before if r.id == closed.id)
                moved.append((before, closed))
        saved = await store.save_many(self.db, moved, session)

        tab_moves = [(before.shop_id, before.tab, after.tab) for before, after in moved]
        tab_moves += [(r.shop_id, None, r.tab) for r in created]
        await tab_counts.move(self.db, SECTION, tab_moves, session)  # type: ignore[arg-type]
        await notifications.insert_many(
            self.db, tuple(n for ch in changes for n in ch.outcome.notifications), session
        )
        # H3: the live feed's events, in the same transaction (one per timeline record).
        await event_log.append_many(
            self.db, [e for ch in changes for e in events.of_after_sale(ch.outcome)], session
        )
        # H1: each request's ticket opens or follows it (a closed one too), in this transaction;
        # its events follow the request's.
        await on_requests_written(
            self.db,
            session,
            actor,
            [RequestChange(facts_of_after_sale(r), created=True) for r in created]
            + [RequestChange(facts_of_after_sale(after), created=False) for _, after in moved],
            self.clock.now(),
        )
        by_id = {r.id: r for r in [*created, *saved]}
        return [by_id[ch.outcome.request.id] for ch in changes]

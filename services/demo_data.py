"""Demo data for a first run: shops, buyers, orders in every fulfilment state, cancellations in
every tab, and after-sale requests (refunds, returns, replacements, an appeal) in every tab.
Made through the same use cases as real traffic, with a clock moved by hand, so every request
has an honest timeline: the orders are placed, handed to the carrier and delivered through the
order intake (services/order_intake.py), as the marketplace's integration of each shop, the
service call the placeOrders and updateOrders mutations make. shop-1's payment system is
registered before any refund, so its refunds are instructed and then settled (or failed, or
left pending) through the intake's `settleRefunds` call; shop-2 has none, so the platform pays
its refunds when they are decided (models/refunds.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.actors import ADJUSTMENTS, EXPIRY_WORKER, Actor, ActorKind
from models.after_sales_machine import AfterSaleKind, DecisionType
from models.clock import SettableClock
from models.commands import (
    AcceptCancellation,
    AnswerOffer,
    AppealAfterSale,
    ApprovalTerms,
    ApproveAfterSale,
    CancelOrder,
    CancelUnpaidOrder,
    ConfirmReturnReceived,
    OfferPartialRefund,
    RefundOrder,
    RejectAfterSale,
    RejectCancellation,
    RequestAfterSale,
    RequestCancellation,
    ShipReturn,
    WithdrawAfterSale,
    WithdrawCancellation,
)
from models.money import Money
from models.order_intake import NewLine, OrderStep, OrderUpdate, PlaceOrder
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.policy import HOUR, CategoryPolicy
from models.refunds import RefundState, Settlement, SettlementOutcome
from models.ticket_rules import Condition, Rule, RuleAction, RuleActionKind, validate_rule
from models.tickets import RequestInitiator, RequestKind
from services.after_sales import AfterSaleService
from services.cancellations import CancellationService
from services.commands import RequestCommands
from services.order_intake import ExternalUpdate
from services.orders import OrderService
from services.refunds import RefundSettlements
from storage import agents, policies, ticket_rules
from storage import refunds as refund_store
from storage.mongo import Database

SHOPS = {"shop-1": "Aurora Beauty", "shop-2": "Peak Outdoor"}
BUYERS = [f"buyer-{n}" for n in range(1, 7)]
PLATFORM = Actor(ActorKind.PLATFORM, "ops-1")

CATALOGUE = {
    "shop-1": [
        ("SKU-LIP-01", "Velvet Matte Lipstick", 1299, "beauty"),
        ("SKU-SER-02", "Vitamin C Serum 30ml", 2450, "beauty"),
        ("SKU-TEA-03", "Matcha Tea Tin", 1599, "food"),
    ],
    "shop-2": [
        ("SKU-TNT-01", "Two-Person Tent", 12900, "outdoor"),
        ("SKU-LMP-02", "Rechargeable Head Torch", 3499, "electronics"),
        ("SKU-BTL-03", "Insulated Bottle 750ml", 2199, "outdoor"),
    ],
}

# Y1: categories that set their own windows; the rest use the defaults of DOMAIN.md.
CATEGORY_POLICIES = {
    # Y2: an unpaid order of food is cancelled for non-payment (C8) after 30 minutes.
    "food": CategoryPolicy(
        unconditional_cancel_window=timedelta(minutes=30),
        instant_refund=True,
        payment_window=timedelta(minutes=30),
    ),
    "electronics": CategoryPolicy(seller_response_window=24 * HOUR),
}


@dataclass
class DemoSummary:
    orders: int
    cancellations: int
    after_sales: int = 0


def seller(shop_id: str) -> Actor:
    return Actor(ActorKind.SELLER_AGENT, f"agent-{shop_id}", shop_id, frozenset({ADJUSTMENTS}))


def buyer(buyer_id: str) -> Actor:
    return Actor(ActorKind.BUYER, buyer_id)


def marketplace(shop_id: str) -> Actor:
    """The marketplace's order system, as the integration of one shop."""
    return Actor(ActorKind.INTEGRATION, "demo-marketplace", shop_id)


# The shop whose payment system settles its refunds; the platform pays the other shop's.
PAYMENTS_SHOP = "shop-1"


def payment_system(shop_id: str) -> Actor:
    """The payment system, as the integration of one shop."""
    return Actor(ActorKind.INTEGRATION, "demo-payments", shop_id)


def _placement(o: Order) -> PlaceOrder:
    """The order as the marketplace sends it; its id is the marketplace's id and, kept by the
    demo (the README's examples use them), the service's."""
    return PlaceOrder(
        external_id=o.id,
        buyer_id=o.buyer_id,
        currency=o.currency,
        lines=tuple(
            NewLine(li.line_id, li.sku, li.title, li.quantity, li.unit_price.minor, li.category)
            for li in o.lines
        ),
        shipping_fee_minor=o.shipping_fee.minor,
        payment_method=o.payment_method,
        placed_at=o.placed_at,
        paid=o.payment_state is PaymentState.PAID,
        payment_due_at=o.payment_due_at,
        order_id=o.id,
    )


class _Builder:
    def __init__(self, db: Database, now: datetime) -> None:
        self.db = db
        self.now = now
        self.clock = SettableClock(now)
        self.orders = OrderService(db, self.clock)
        self.cancellations = CancellationService(db, self.clock)
        self.after_sales = AfterSaleService(db, self.clock)
        self.handle = RequestCommands(self.cancellations, self.after_sales).handle
        self.refunds = RefundSettlements(db, self.clock)
        self.placed: list[Order] = []
        self.count = 0

    def order(
        self,
        shop_id: str,
        buyer_id: str,
        hours_ago: float,
        *,
        cod: bool = False,
        unpaid: bool = False,
        picks: tuple[int, ...] = (0,),
        due_in_policy: bool = False,
    ) -> Order:
        self.count += 1
        order_id = f"ord_{shop_id[-1]}{self.count:04d}"
        placed_at = self.now - timedelta(hours=hours_ago)
        lines = tuple(
            LineItem(
                line_id=f"{order_id}-{n + 1}",
                sku=sku,
                title=title,
                quantity=1 + n % 2,
                unit_price=Money(price, "USD"),
                category=category,
            )
            for n, (sku, title, price, category) in enumerate(CATALOGUE[shop_id][i] for i in picks)
        )
        if unpaid:
            payment, fulfilment = PaymentState.AWAITING_PAYMENT, FulfilmentState.UNPAID
        elif cod:
            payment, fulfilment = (
                PaymentState.COLLECT_ON_DELIVERY,
                FulfilmentState.AWAITING_SHIPMENT,
            )
        else:
            payment, fulfilment = PaymentState.PAID, FulfilmentState.AWAITING_SHIPMENT
        order = Order(
            id=order_id,
            shop_id=shop_id,
            buyer_id=buyer_id,
            lines=lines,
            shipping_fee=Money(499, "USD"),
            payment_method=PaymentMethod.CASH_ON_DELIVERY if cod else PaymentMethod.PREPAID,
            payment_state=payment,
            fulfilment_state=fulfilment,
            placed_at=placed_at,
            # The marketplace's own due time, or none: the category's payment window (Y2).
            payment_due_at=placed_at + timedelta(hours=24)
            if unpaid and not due_in_policy
            else None,
            paid_at=None if unpaid or cod else placed_at,
        )
        self.placed.append(order)
        return order

    def at(self, hours_ago: float) -> None:
        self.clock.set(self.now - timedelta(hours=hours_ago))

    async def feed(self, orders: list[Order]) -> None:
        """Place the orders through the intake, each shop's as its integration, at the time the
        last of them was placed."""
        self.clock.set(max(o.placed_at for o in orders))
        for shop_id in sorted({o.shop_id for o in orders}):
            mine = [_placement(o) for o in orders if o.shop_id == shop_id]
            for outcome in await self.orders.intake.place(marketplace(shop_id), shop_id, mine):
                if isinstance(outcome, Exception):
                    raise outcome
        self.placed = []

    async def ship(self, order: Order, carrier: str, tracking: str) -> None:
        await self._move(
            order, OrderUpdate(OrderStep.HANDED_TO_CARRIER, self.clock.now(), carrier, tracking)
        )

    async def deliver(self, order: Order) -> None:
        await self._move(order, OrderUpdate(OrderStep.DELIVERED, self.clock.now()))

    async def _move(self, order: Order, update: OrderUpdate) -> None:
        shop = order.shop_id
        moves = [ExternalUpdate(order.id, update)]
        [outcome] = await self.orders.intake.move(marketplace(shop), shop, moves)
        if isinstance(outcome, Exception):
            raise outcome


# shop-2's rule, the issue's example: small refund-only requests for electronics approved.
DEMO_REFUND_RULE = "rul_demo_small_electronics_refunds"


async def _helpdesk(db: Database, now: datetime) -> None:
    """The shops' agents, shop-1's rule from seed 003 (system cancellations resolved) and
    shop-2's (refund-only requests under 50.00 for electronics approved). The demo's requests
    are made before any service runs, so the deadline worker's first pass runs the rules on
    their tickets (the sweep of tickets whose rules are due)."""
    for shop_id, agent_ids in {"shop-1": ["agent-1", "agent-2"], "shop-2": ["agent-1"]}.items():
        for agent_id in agent_ids:
            await agents.add(db, shop_id, agent_id, now)
    rule = validate_rule(
        Rule(
            "rul_demo_resolve_system",
            "shop-1",
            "Resolve system cancellations",
            10,
            True,
            Condition(
                kinds=frozenset({RequestKind.CANCELLATION}),
                initiators=frozenset({RequestInitiator.PLATFORM}),
            ),
            RuleAction(RuleActionKind.RESOLVE_TICKET),
            "agent-1",
            now,
        )
    )
    refunds = validate_rule(
        Rule(
            DEMO_REFUND_RULE,
            "shop-2",
            "Approve small electronics refunds",
            10,
            True,
            Condition(
                kinds=frozenset({RequestKind.REFUND_ONLY}),
                categories=frozenset({"electronics"}),
                amount_below=Money(5000, "USD"),
            ),
            RuleAction(RuleActionKind.APPROVE),
            "agent-1",
            now,
        )
    )
    for r in (rule, refunds):
        await db.transaction(lambda session, r=r: ticket_rules.insert(db, r, session))


async def load_demo_data(db: Database, now: datetime) -> DemoSummary | None:
    """Seeds an empty database; returns None when there is data already."""
    if await db.orders.estimated_document_count() > 0:
        return None
    for category, policy in CATEGORY_POLICIES.items():
        await policies.put(db, category, policy)
    await _helpdesk(db, now)
    b = _Builder(db, now)
    await b.refunds.register(payment_system(PAYMENTS_SHOP), PAYMENTS_SHOP)
    script: list[tuple[float, str, Order, str]] = []
    for s, shop_id in enumerate(SHOPS):
        who = BUYERS[s * 3 : s * 3 + 3]
        # Orders in every fulfilment state.
        b.order(shop_id, who[0], 2, unpaid=True)
        b.order(shop_id, who[1], 5, picks=(0, 1))
        shipped = b.order(shop_id, who[2], 60, picks=(1,))
        delivered = b.order(shop_id, who[0], 120, cod=True, picks=(2,))
        # Cancellations in every tab.
        script += [
            (0.2, "at_once", b.order(shop_id, who[1], 0.5, picks=(0, 2)), who[1]),
            (3, "pending", b.order(shop_id, who[2], 10, picks=(1,)), who[2]),
            (20, "pending", b.order(shop_id, who[0], 30, picks=(0, 1)), who[0]),
            (40, "pending", b.order(shop_id, who[1], 44, cod=True), who[1]),
            (30, "accept", b.order(shop_id, who[2], 36, picks=(2,)), who[2]),
            (12, "reject", b.order(shop_id, who[0], 28), who[0]),
            (6, "withdraw", b.order(shop_id, who[1], 16, picks=(1, 2)), who[1]),
            (8, "seller_cancel", b.order(shop_id, who[2], 9), who[2]),
            (1, "system_cancel", b.order(shop_id, who[0], 30, unpaid=True), who[0]),
        ]
        await b.feed(b.placed)
        b.at(58)
        await b.ship(shipped, "UPS", f"1Z{s}0001")
        await b.ship(delivered, "USPS", f"94{s}0002")
        b.at(50)
        await b.deliver(delivered)
    made = 0
    for hours_ago, what, order, buyer_id in sorted(script, key=lambda x: -x[0]):
        b.at(hours_ago)
        do, shop = b.handle, seller(order.shop_id)
        if what == "seller_cancel":
            await do(shop, CancelOrder(order.id, "OUT_OF_STOCK", "Restock is weeks away"))
        elif what == "system_cancel":
            await do(PLATFORM, CancelUnpaidOrder(order.id))
        else:
            reason = "ORDERED_BY_MISTAKE" if what == "at_once" else "CHANGED_MIND"
            c = await do(buyer(buyer_id), RequestCancellation(order.id, reason))
            b.at(hours_ago - 0.5)
            if what == "accept":
                await do(shop, AcceptCancellation(c.id))
            elif what == "reject":
                await do(
                    shop, RejectCancellation(c.id, "AGREED_WITH_BUYER", "Buyer agreed by chat")
                )
            elif what == "withdraw":
                await do(buyer(buyer_id), WithdrawCancellation(c.id))
        made += 1
    # A request the seller left unanswered past its window, accepted by the platform (C6).
    b.at(60)
    late = b.order("shop-1", BUYERS[0], 62, picks=(1,))
    await b.feed([late])
    b.at(60)
    await b.handle(buyer(BUYERS[0]), RequestCancellation(late.id, "DELIVERY_TOO_SLOW"))
    b.at(10)
    await b.cancellations.auto_accept_due(EXPIRY_WORKER)
    after_sales = 0
    for s, shop_id in enumerate(SHOPS):
        after_sales += await _after_sales(b, shop_id, BUYERS[s * 3 : s * 3 + 3])
    # A refund-only request for a head torch (34.99, electronics): shop-2's rule approves it on
    # the deadline worker's first pass, and its ticket shows the rule's record (H2).
    torch = await _delivered(b, "shop-2", BUYERS[4], 2, (1,))
    b.at(3)
    line = ((torch.lines[0].line_id, 1),)
    await b.handle(
        buyer(BUYERS[4]),
        RequestAfterSale(torch.id, AfterSaleKind.REFUND_ONLY, line, "NOT_AS_DESCRIBED"),
    )
    after_sales += 1
    await _settle_refunds(b, PAYMENTS_SHOP)
    # C8 to watch: an unpaid tin of tea (food: 30 minutes to pay, Y2) placed 10 minutes ago,
    # cancelled by the deadline worker 20 minutes after the service starts.
    b.at(10 / 60)
    await b.feed(
        [b.order("shop-1", BUYERS[1], 10 / 60, unpaid=True, picks=(2,), due_in_policy=True)]
    )
    return DemoSummary(orders=b.count, cancellations=made + 1, after_sales=after_sales)


async def _settle_refunds(b: _Builder, shop_id: str) -> None:
    """The payment system reports the shop's refunds through the intake, each an hour after its
    instruction: the two newest stay pending, the one before them failed, the rest settled."""
    b.at(0)
    pending = await refund_store.in_shop(b.db, shop_id, RefundState.INSTRUCTED, 100)
    reports = []
    for n, r in enumerate(pending[2:]):
        at = min(r.instructed_at + timedelta(hours=1), b.now)
        if n == 0:
            failed = "The buyer's card account is closed"
            reports.append(Settlement(r.id, SettlementOutcome.FAILED, at, failure_reason=failed))
        else:
            reports.append(Settlement(r.id, SettlementOutcome.SETTLED, at, f"pay_demo_{n:03d}"))
    for outcome in await b.refunds.settle(payment_system(shop_id), shop_id, reports):
        if isinstance(outcome, Exception):
            raise outcome


async def _delivered(
    b: _Builder, shop_id: str, buyer_id: str, days_ago: float, picks: tuple[int, ...]
) -> Order:
    """An order placed, shipped and delivered through the order use cases, `days_ago`."""
    order = b.order(shop_id, buyer_id, days_ago * 24 + 72, picks=picks)
    await b.feed([order])
    b.at(days_ago * 24 + 48)
    await b.ship(order, "UPS", f"1Z{order.id[-4:]}")
    b.at(days_ago * 24)
    await b.deliver(order)
    return order


async def _after_sales(b: _Builder, shop_id: str, who: list[str]) -> int:
    """After-sale requests of one shop in every tab (R2), each made step by step in time."""
    do, shop = b.handle, seller(shop_id)
    ret, ref, rep = (
        AfterSaleKind.RETURN_AND_REFUND,
        AfterSaleKind.REFUND_ONLY,
        AfterSaleKind.REPLACEMENT,
    )

    async def ask(buyer_id: str, hours_ago: float, kind: AfterSaleKind, reason: str, pick: int = 0):
        order = await _delivered(b, shop_id, buyer_id, hours_ago / 24 + 1, (pick,))
        b.at(hours_ago)
        line = order.lines[0].line_id
        return await do(buyer(buyer_id), RequestAfterSale(order.id, kind, ((line, 1),), reason))

    # To Proceed: waiting for the seller, and an appeal the platform mediates.
    await ask(who[0], 5, ref, "DAMAGED")
    await ask(who[1], 30, ret, "NOT_AS_DESCRIBED")
    appealed = await ask(who[2], 72, ref, "MISSING_ITEMS")
    b.at(70)
    await do(shop, RejectAfterSale(appealed.id, "NO_EVIDENCE", "No photo of the parcel"))
    b.at(60)
    await do(buyer(who[2]), AppealAfterSale(appealed.id, "HAVE_EVIDENCE", "Photo attached"))
    # In Process: a return to ship back, a return on its way, a replacement to ship.
    to_ship = await ask(who[0], 50, ret, "DEFECTIVE")
    b.at(40)
    await do(shop, ApproveAfterSale(to_ship.id, DecisionType.APPROVE_RETURN))
    on_way = await ask(who[1], 90, ret, "WRONG_ITEM")
    b.at(80)
    await do(shop, ApproveAfterSale(on_way.id, DecisionType.APPROVE_RETURN))
    b.at(60)
    await do(buyer(who[1]), ShipReturn(on_way.id, "USPS", f"9400{shop_id[-1]}77"))
    replacement = await ask(who[2], 20, rep, "DAMAGED")
    b.at(10)
    terms = ApprovalTerms(reason="DAMAGED_IN_TRANSIT", buyer_keeps_item=True)
    await do(shop, ApproveAfterSale(replacement.id, DecisionType.APPROVE_REPLACEMENT, terms))
    # Completed: a return refunded after the parcel came back, a partial refund, a seller refund.
    done = await ask(who[0], 150, ret, "DAMAGED")
    b.at(140)
    await do(shop, ApproveAfterSale(done.id, DecisionType.APPROVE_RETURN))
    b.at(120)
    await do(buyer(who[0]), ShipReturn(done.id, "UPS", f"1Z{shop_id[-1]}RET"))
    b.at(100)
    await do(shop, ConfirmReturnReceived(done.id))
    # R12: a partial refund the seller offered and the buyer accepted.
    partial = await ask(who[1], 48, ref, "NOT_AS_DESCRIBED")
    b.at(40)
    sorry = "Sorry: 5.00 back, keep the item"
    await do(shop, OfferPartialRefund(partial.id, Money(500, "USD"), comment=sorry))
    b.at(38)
    await do(buyer(who[1]), AnswerOffer(partial.id, accept=True))
    repriced = await _delivered(b, shop_id, who[2], 4, (0,))
    b.at(30)
    await do(shop, RefundOrder(repriced.id, "PRICING_ERROR", "Price was wrong"))
    # Closed: a rejection the buyer may still appeal, and a withdrawn request.
    rejected = await ask(who[0], 26, ref, "OTHER")
    b.at(24)
    await do(shop, RejectAfterSale(rejected.id, "AGREED_WITH_BUYER", "Agreed by chat"))
    withdrawn = await ask(who[1], 12, ret, "CHANGED_MIND")
    b.at(11)
    await do(buyer(who[1]), WithdrawAfterSale(withdrawn.id))
    # Delivered two days ago with nothing asked yet: for trying requests by hand (docs/guide.md).
    for buyer_id in who:
        await _delivered(b, shop_id, buyer_id, 2, (0, 1))
    # In Process: a partial-refund offer waiting for the buyer's answer (R12).
    offered = await ask(who[2], 8, ret, "NOT_AS_DESCRIBED")
    b.at(6)
    await do(shop, OfferPartialRefund(offered.id, Money(300, "USD"), comment="3.00 back?"))
    return 12

"""Random sequences of after-sale actions by every actor, through the service against the real
database, over random orders and policies. After each step, what is STORED must hold:

- never more refunded than paid, per line, for the shipping and in total; the order shows what
  its ledger holds, and the requests' refunds add up to the ledger;
- a replacement order (P4) is linked both ways and where its request says it is; an offer (R12)
  waits only with its answer open;
- every timeline is a chain of steps of the state machine (`TRANSITIONS`), by allowed actor
  kinds, ending in the stored status; the stored tab is the status's tab;
- the shop's tab counters equal a recount;
- a refused action wrote nothing.

Kept cheap so 200 examples run in CI: at most ten steps each, one order per example; an
"advance" step does what a request waits for next, so few steps reach deep states.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from models.actors import ADJUSTMENTS, EXPIRY_WORKER, Actor, ActorKind
from models.after_sale_requests import AfterSaleRequest
from models.after_sales_machine import (
    TAB_OF_STATUS,
    TRANSITIONS,
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleStatus,
    DecisionType,
)
from models.after_sales_reasons import RECEIPT_REJECT_REASONS, REPLACEMENT_APPROVE_REASONS
from models.clock import SettableClock
from models.commands import (
    ActOnAfterSaleDeadlines,
    AnswerOffer,
    AppealAfterSale,
    ApprovalTerms,
    ApproveAfterSale,
    ConfirmReturnReceived,
    DecideAppeal,
    IssueReplacementRefund,
    OfferPartialRefund,
    PlatformRefund,
    RecordReplacementDelivered,
    RefundOrder,
    RejectAfterSale,
    RejectReturnOnReceipt,
    RequestAfterSale,
    ShipReplacement,
    ShipReturn,
    WithdrawAfterSale,
    chosen_lines,
)
from models.errors import DomainError
from models.money import Money
from models.order_intake import OrderStep, OrderUpdate
from models.orders import FulfilmentState
from models.policy import CategoryPolicy
from models.request_kinds import profile_of
from services.after_sales import KIND
from services.bootstrap import Services, build_services
from storage import after_sales as store
from storage import orders as order_store
from storage import policies, tab_counts
from storage.mongo import Database
from tests.support.factories import build_order
from tests.support.webhook_delivery import own_database

ACTIONS = [
    "request",
    "request",
    "approve",
    "reject",
    "withdraw",
    "appeal",
    "ship_return",
    "confirm_receipt",
    "reject_on_receipt",
    "ship_replacement",
    "replacement_delivered",
    "decide_appeal",
    "seller_refund",
    "platform_refund",
    "wait",
    "offer",
    "answer_offer",
    "refund_instead",
    "replacement_order_moves",
    "advance",  # the next action a request waits for, to reach deep states in few steps
    "advance",
    "advance",
]
# NEXT_ACTION_OF_STATUS's actions, as steps of this test (where two fit, `pick` chooses).
NEXT_STEPS = {
    "APPROVE_OR_REJECT": ["approve", "approve", "reject", "offer"],
    "ACCEPT_OR_DECLINE_OFFER": ["answer_offer"],
    "APPEAL": ["appeal"],
    "APPEAL_OR_REQUEST_AGAIN": ["appeal", "request"],
    "DECIDE_APPEAL": ["decide_appeal"],
    "SHIP_RETURN": ["ship_return"],
    "CONFIRM_RECEIPT": ["confirm_receipt", "confirm_receipt", "reject_on_receipt"],
    "SHIP_REPLACEMENT": ["ship_replacement", "replacement_order_moves", "refund_instead"],
    "CONFIRM_REPLACEMENT_DELIVERED": ["replacement_delivered", "replacement_order_moves"],
}
WAITS = [timedelta(hours=1), timedelta(days=2), timedelta(days=8)]


@dataclass(frozen=True)
class Step:
    action: str
    target: int  # which request (modulo how many there are)
    line: int
    quantity: int
    pick: int  # a kind, a decision, a reason: modulo the choices
    amount: int | None  # a partial amount in minor units
    flag: bool  # buyer keeps item / for buyer
    wrong_actor: bool


steps = st.builds(
    Step,
    action=st.sampled_from(ACTIONS),
    target=st.integers(0, 3),
    line=st.integers(0, 2),
    quantity=st.integers(1, 3),
    pick=st.integers(0, 11),
    amount=st.one_of(st.none(), st.none(), st.integers(1, 2000), st.integers(-5, 6000)),
    flag=st.booleans(),
    wrong_actor=st.sampled_from([False] * 9 + [True]),
)
policies_ = st.builds(
    CategoryPolicy,
    return_refund_window=st.sampled_from([timedelta(days=3), timedelta(days=15)]),
    appeal_window=st.sampled_from([timedelta(days=1), timedelta(days=7)]),
    instant_refund=st.booleans(),
    replacement_needs_item_back=st.booleans(),
)


@pytest.fixture(scope="module")
async def db(mongodb_uri: str) -> AsyncIterator[Database]:
    """A database of its own: each step's snapshot finds replacement orders by a field no index
    covers, which in the suite's shared database read every earlier test's orders (the test
    took 188 s instead of 59 s right after the deadline worker's 1,000-request race)."""
    async with own_database(mongodb_uri) as database:
        yield database


@pytest.fixture(scope="module")
async def services(db: Database, clock: SettableClock) -> Services:
    return await build_services(db, clock)


def _pick(options: list[Any], n: int) -> Any:
    return options[n % len(options)]


async def _snapshot(db: Database, order_id: str) -> list[Any]:
    docs = await db.after_sales.find({"order_id": order_id, "tabs": "ALL"}).to_list(None)
    order = await db.orders.find_one({"_id": order_id})
    replacements = await db.orders.find({"replacement_of": order_id}).to_list(None)
    return [
        sorted((d["_id"], d["version"]) for d in docs),
        order and order["version"],
        sorted((d["_id"], d["version"]) for d in replacements),
    ]


async def _check(db: Database, order_id: str, shop_id: str) -> list[AfterSaleRequest]:
    order, ledger = (await order_store.with_ledgers(db, [order_id]))[order_id]
    for line in order.lines:
        assert ledger.refunded_line(line.line_id) <= line.subtotal
    assert ledger.refunded_shipping <= order.shipping_fee
    assert ledger.refunded_total <= order.amount_paid
    assert (order.refunded or Money.zero(order.currency)) == ledger.refunded_total

    requests = (await store.for_orders(db, [order_id]))[order_id]
    refunded = sum(r.refund.total.minor for r in requests if r.refund)
    assert refunded == ledger.refunded_total.minor
    counted: dict[str, int] = {}
    for r in requests:
        status = None
        for record in r.timeline:
            assert record.from_status == status, (r.id, r.timeline)
            edge = TRANSITIONS.step(record.action, record.from_status, record.to_status)
            assert edge is not None and record.actor_kind in edge.actors and r.kind in edge.kinds
            status = record.to_status
        assert status == r.status and r.tab == TAB_OF_STATUS[r.status]
        counted[r.tab.value] = counted.get(r.tab.value, 0) + 1
    stored = {k: v for k, v in (await tab_counts.read(db, shop_id, KIND.section)).items() if v}
    assert stored == counted
    for r in requests:
        if r.status is AfterSaleStatus.AWAITING_BUYER_RESPONSE:
            assert r.offer is not None and r.offer.answer is None
            assert r.deadline == r.offer.respond_by
        if r.replacement_order_id is None:
            continue
        placed = await order_store.get(db, r.replacement_order_id)
        assert placed is not None and placed.id in order.replacement_order_ids
        assert (placed.replacement_of, placed.replacement_request_id) == (order_id, r.id)
        assert placed.amount_paid.minor == 0
        assert placed.fulfilment_state in ORDER_STATE_OF[r.status], (r.status, placed)
    return requests


# P4: where a replacement order is while its request is in each status.
ORDER_STATE_OF = {
    AfterSaleStatus.AWAITING_REPLACEMENT_SHIPMENT: {FulfilmentState.AWAITING_SHIPMENT},
    AfterSaleStatus.REPLACEMENT_SHIPPED: {FulfilmentState.IN_TRANSIT},
    AfterSaleStatus.REPLACED: {FulfilmentState.DELIVERED},
    AfterSaleStatus.REFUNDED: {
        FulfilmentState.CANCELLED,  # refunded instead before it shipped
        FulfilmentState.IN_TRANSIT,  # not delivered in time: refunded, and it goes on its way
        FulfilmentState.DELIVERED,
    },
}


# The state machine's action behind each step that acts on a request.
MACHINE_ACTION = {
    "approve": AfterSaleAction.APPROVE,
    "reject": AfterSaleAction.REJECT,
    "withdraw": AfterSaleAction.WITHDRAW,
    "appeal": AfterSaleAction.APPEAL,
    "ship_return": AfterSaleAction.SHIP_RETURN,
    "confirm_receipt": AfterSaleAction.CONFIRM_RECEIPT,
    "reject_on_receipt": AfterSaleAction.REJECT_ON_RECEIPT,
    "ship_replacement": AfterSaleAction.SHIP_REPLACEMENT,
    "replacement_delivered": AfterSaleAction.CONFIRM_REPLACEMENT_DELIVERED,
    "decide_appeal": AfterSaleAction.DECIDE_FOR_BUYER,
    "offer": AfterSaleAction.OFFER_PARTIAL_REFUND,
    "answer_offer": AfterSaleAction.ACCEPT_OFFER,
    "refund_instead": AfterSaleAction.ISSUE_REPLACEMENT_REFUND,
    "replacement_order_moves": AfterSaleAction.SHIP_REPLACEMENT,
}


def _target(requests: list[AfterSaleRequest], step: Step) -> AfterSaleRequest | None:
    """Mostly a request the action could apply to (to reach deep states), else any request (to
    prove wrong-state refusals write nothing)."""
    if not requests:
        return None
    action = MACHINE_ACTION.get(step.action)
    if action is not None and step.target % 4:
        fitting = [r for r in requests if r.status in TRANSITIONS.sources_of(action)]
        if fitting:
            return _pick(fitting, step.target)
    return _pick(requests, step.target)


async def _act(
    services: Services,
    clock: SettableClock,
    step: Step,
    requests: list[AfterSaleRequest],
    order_id: str,
    lines: list[str],
    buyer: Actor,
    seller: Actor,
    platform: Actor,
) -> str:
    """Carry out one step; the name of the action actually tried."""
    svc = services.after_sales
    actors = [buyer, seller, platform]
    waiting = [r for r in requests if r.next_action is not None]
    if step.action == "advance":
        if waiting:
            chosen = _pick(waiting, step.target)
            assert chosen.next_action is not None
            step = replace(step, action=_pick(NEXT_STEPS[chosen.next_action.action], step.pick))
            requests = [chosen]  # act on this one
        else:
            step = replace(step, action="request")
    if not requests and step.action not in ("seller_refund", "platform_refund", "wait"):
        step = replace(step, action="request")  # nothing to act on yet: ask
    r = _target(requests, step)
    rid = r.id if r else "afs_missing"
    amount = Money(step.amount, "USD") if step.amount is not None else None
    line = {_pick(lines, step.line): step.quantity}

    def who(right: Actor) -> Actor:
        return (
            _pick([a for a in actors if a is not right], step.pick) if step.wrong_actor else right
        )

    match step.action:
        case "request":
            kind = _pick(list(AfterSaleKind), step.pick)
            reason = _pick(list(profile_of(kind).request_reasons), step.pick)
            await svc.handle(
                who(buyer), RequestAfterSale(order_id, kind, chosen_lines(line), reason)
            )
        case "approve":
            # Mostly the decision that fits the kind, sometimes any (DECISION_NOT_ALLOWED).
            fits = {
                AfterSaleKind.REFUND_ONLY: DecisionType.APPROVE_REFUND,
                AfterSaleKind.RETURN_AND_REFUND: DecisionType.APPROVE_RETURN,
                AfterSaleKind.REPLACEMENT: DecisionType.APPROVE_REPLACEMENT,
            }
            decision = fits[r.kind] if r and step.pick % 3 else _pick(list(DecisionType), step.pick)
            reason = (
                _pick(list(REPLACEMENT_APPROVE_REASONS), step.pick)
                if decision is DecisionType.APPROVE_REPLACEMENT
                else None
            )
            await svc.handle(
                who(seller),
                ApproveAfterSale(
                    rid,
                    decision,
                    ApprovalTerms(
                        buyer_keeps_item=step.flag,
                        partial_amount=amount
                        if decision is not DecisionType.APPROVE_REPLACEMENT
                        else None,
                        reason=reason,
                    ),
                ),
            )
        case "reject":
            kind = r.kind if r else AfterSaleKind.REFUND_ONLY
            reason = _pick(list(profile_of(kind).reject_reasons), step.pick)
            await svc.handle(who(seller), RejectAfterSale(rid, reason, "checked"))
        case "withdraw":
            await svc.handle(who(buyer), WithdrawAfterSale(rid))
        case "appeal":
            await svc.handle(who(buyer), AppealAfterSale(rid, "HAVE_EVIDENCE"))
        case "ship_return":
            await svc.handle(who(buyer), ShipReturn(rid, "UPS", "1Z"))
        case "confirm_receipt":
            await svc.handle(who(seller), ConfirmReturnReceived(rid))
        case "reject_on_receipt":
            reason = _pick(list(RECEIPT_REJECT_REASONS), step.pick)
            await svc.handle(who(seller), RejectReturnOnReceipt(rid, reason))
        case "ship_replacement":
            await svc.handle(who(seller), ShipReplacement(rid, "DHL", "9"))
        case "replacement_delivered":
            await svc.handle(who(platform), RecordReplacementDelivered(rid))
        case "decide_appeal":
            await svc.handle(who(platform), DecideAppeal(rid, step.flag, "decided"))
        case "seller_refund":
            await svc.handle(
                who(seller),
                RefundOrder(
                    order_id,
                    "PRICING_ERROR",
                    None,
                    lines=chosen_lines(line) if step.flag else None,
                    partial_amount=amount,
                ),
            )
        case "platform_refund":
            await svc.handle(
                who(platform),
                PlatformRefund(
                    order_id,
                    "POLICY_VIOLATION",
                    None,
                    lines=chosen_lines(line) if step.flag else None,
                    partial_amount=amount,
                ),
            )
        case "wait":
            clock.advance(_pick(WAITS, step.pick))
            await svc.handle(EXPIRY_WORKER, ActOnAfterSaleDeadlines(tuple(x.id for x in requests)))
        case "offer":
            offered = amount if step.flag else Money(1 + step.pick, "USD")
            await svc.handle(who(seller), OfferPartialRefund(rid, offered))
        case "answer_offer":
            await svc.handle(who(buyer), AnswerOffer(rid, step.flag))
        case "refund_instead":
            await svc.handle(who(seller), IssueReplacementRefund(rid, "none left"))
        case "replacement_order_moves":
            # P4: the replacement order moves one stage through the order intake (the platform's
            # one-step mutations); its request follows in the same transaction.
            placed = r.replacement_order_id if r else None
            if placed is None:
                return "nothing"
            found = await order_store.get(services.db, placed)
            assert found is not None
            handing = found.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
            update = OrderUpdate(
                OrderStep.HANDED_TO_CARRIER if handing else OrderStep.DELIVERED,
                clock.now(),
                "DHL" if handing else None,
                "JD-P" if handing else None,
            )
            await services.orders.intake.move_order(
                who(platform), placed, update, handing_to_carrier=handing
            )
    return step.action


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    # No explain phase: re-running a failure hundreds of times to explain it costs minutes.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
)
@given(
    policy=policies_,
    prices=st.lists(st.integers(1, 5000), min_size=1, max_size=3),
    shipping=st.integers(0, 999),
    delivered_days_ago=st.sampled_from([1, 5]),
    plan=st.lists(steps, min_size=1, max_size=10),
)
async def test_invariants_hold_in_the_database_for_any_sequence_of_actions(
    services: Services,
    db: Database,
    clock: SettableClock,
    policy: CategoryPolicy,
    prices: list[int],
    shipping: int,
    delivered_days_ago: int,
    plan: list[Step],
) -> None:
    shop_id = f"shop-p{uuid.uuid4().hex[:10]}"
    category = f"cat-{shop_id}"
    await policies.put(db, category, policy)
    now: datetime = clock.now()
    order = build_order(
        shop_id,
        f"buyer-{uuid.uuid4().hex[:8]}",
        now - timedelta(days=delivered_days_ago),
        state=FulfilmentState.DELIVERED,
        category=category,
        prices=tuple(prices),
        shipping=shipping,
    )
    await order_store.insert_many(db, [order])
    buyer = Actor(ActorKind.BUYER, order.buyer_id)
    seller = Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({ADJUSTMENTS}))
    platform = Actor(ActorKind.PLATFORM, "ops-1")
    lines = [x.line_id for x in order.lines]

    requests: list[AfterSaleRequest] = []
    try:
        for step in plan:
            before = await _snapshot(db, order.id)
            tried = step.action
            try:
                tried = await _act(
                    services, clock, step, requests, order.id, lines, buyer, seller, platform
                )
                event(f"done {tried}")
            except DomainError as refusal:
                event(f"refused {step.action}: {refusal.code}")
                assert await _snapshot(db, order.id) == before  # nothing was written
            requests = await _check(db, order.id, shop_id)
    finally:
        clock.set(now)

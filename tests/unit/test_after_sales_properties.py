"""R1-R12, P1-P4, Y1 as properties: random orders and policies, random actors, random actions.

Each action goes through the domain functions exactly as the services will call them. A raised
DomainError is a refusal: nothing is applied. After every step the invariants of the after-sale
state machine must hold, whatever happened before: no step outside `TRANSITIONS`, never more
refunded than paid (per line, shipping, in total), timelines consistent with statuses, tabs
matching statuses, units never asked about twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from models import after_sales_machine as machine
from models import commands
from models.actors import Actor, ActorKind
from models.after_sale_decisions import (
    answer_offer,
    appeal,
    approve,
    decide_appeal,
    offer_partial_refund,
    reject,
    withdraw,
)
from models.after_sale_opening import line_eligibility, refund_without_request, request_by_buyer
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest
from models.after_sale_requests import Step as StepOn
from models.after_sale_shipping import (
    confirm_receipt,
    follow_replacement_order,
    issue_replacement_refund,
    replacement_delivered,
    ship_replacement,
    ship_return,
)
from models.after_sales import act_on_deadline
from models.after_sales_case import AfterSalesCase
from models.after_sales_errors import AfterSaleRefused
from models.after_sales_machine import AfterSaleAction, AfterSaleKind, AfterSaleStatus, DecisionType
from models.after_sales_reasons import (
    APPEAL_REASONS,
    PLATFORM_REFUND_REASONS,
    RECEIPT_REJECT_REASONS,
    REPLACEMENT_APPROVE_REASONS,
    SELLER_REFUND_REASONS,
)
from models.errors import DomainError
from models.money import Money
from models.orders import FulfilmentState, Order, PaymentState
from models.policy import CategoryPolicy, PolicyBook
from models.refund_ledger import RefundLedger, refund_quote
from models.request_kinds import AFTER_SALE_DEADLINES, profile_of
from models.requests import Opening
from tests.unit.after_sale_plans import (
    ACTORS,
    MS,
    PROGRESS,
    RIGHT_ACTOR,
    Step,
    orders,
    policies,
    steps,
)


def _reason(catalogue: Mapping[str, str], index: int) -> str:
    codes = list(catalogue)
    return "NOT_A_REASON" if index < 0 else codes[index % len(codes)]


def _paid(order: Order) -> tuple[dict[str, int], int]:
    """What the buyer paid, per line and for shipping, computed here independently of the model."""
    paid = order.payment_state in (PaymentState.PAID, PaymentState.REFUNDED)
    lines = {x.line_id: (x.unit_price.minor * x.quantity if paid else 0) for x in order.lines}
    return lines, order.shipping_fee.minor if paid else 0


@dataclass
class World:
    order: Order
    policy: CategoryPolicy
    now: datetime
    ledger: RefundLedger
    requests: dict[str, AfterSaleRequest] = field(default_factory=dict)
    rejection_events: int = 0
    next_id: int = 0
    replacement_orders: dict[str, Order] = field(default_factory=dict)  # P4

    def new_id(self) -> str:
        self.next_id += 1
        return f"as-{self.next_id}"

    def currency(self) -> str:
        return self.order.currency


def _lines(world: World, step: Step) -> dict[str, int] | None:
    if not step.lines:
        return None
    ids = [x.line_id for x in world.order.lines]
    out: dict[str, int] = {}
    for index, quantity in step.lines:
        out[ids[index % len(ids)]] = quantity
    return out


def _chosen(lines: dict[str, int] | None) -> commands.Lines | None:
    return None if lines is None else commands.chosen_lines(lines)


def _all_lines(world: World) -> dict[str, int]:
    return {x.line_id: x.quantity for x in world.order.lines}


# The step of the state machine each action asks for, to aim most steps at a request it fits.
ACTION_OF = {
    "approve": AfterSaleAction.APPROVE,
    "reject": AfterSaleAction.REJECT,
    "withdraw": AfterSaleAction.WITHDRAW,
    "appeal": AfterSaleAction.APPEAL,
    "decide_for_buyer": AfterSaleAction.DECIDE_FOR_BUYER,
    "decide_for_seller": AfterSaleAction.DECIDE_FOR_SELLER,
    "ship_return": AfterSaleAction.SHIP_RETURN,
    "confirm_receipt": AfterSaleAction.CONFIRM_RECEIPT,
    "reject_on_receipt": AfterSaleAction.REJECT_ON_RECEIPT,
    "ship_replacement": AfterSaleAction.SHIP_REPLACEMENT,
    "replacement_delivered": AfterSaleAction.CONFIRM_REPLACEMENT_DELIVERED,
    "offer": AfterSaleAction.OFFER_PARTIAL_REFUND,
    "answer_offer": AfterSaleAction.ACCEPT_OFFER,
    "refund_instead": AfterSaleAction.ISSUE_REPLACEMENT_REFUND,
    "replacement_order_moves": AfterSaleAction.SHIP_REPLACEMENT,
}


def _target(world: World, step: Step) -> AfterSaleRequest | None:
    """Mostly a request the action fits; sometimes any request, to prove the refusals."""
    if not world.requests:
        return None
    everything = list(world.requests.values())
    action = ACTION_OF.get(step.action)
    if step.action == "replacement_order_moves":
        fits = [r for r in everything if r.replacement_order_id is not None]
    elif action is not None:
        # A step of the request's own kind's table (an offer is no step of a replacement).
        fits = [r for r in everything if profile_of(r.kind).table.edges(action, r.status)]
    elif step.action == "deadline" or isinstance(step.advance, str):
        fits = [r for r in everything if r.deadline is not None]
    else:
        fits = [r for r in everything if r.status not in machine.FINAL_STATUSES]
    pool = fits if fits and step.pick % 4 else everything
    return pool[step.pick % len(pool)]


def _resolve(world: World, step: Step) -> Step:
    """A "progress" step becomes the next action of a live request, by the side that must act."""
    if step.action != "progress":
        return step
    live = [r for r in world.requests.values() if r.status in PROGRESS]
    if not live:
        return replace(step, action="request", actor=ActorKind.BUYER)
    r = live[step.pick % len(live)]
    if r.deadline is not None and world.now >= r.deadline:
        return replace(step, action="deadline", actor=ActorKind.PLATFORM)  # the worker's turn
    names = PROGRESS[r.status]
    name = names[(step.pick // 2 + step.reason_index) % len(names)]
    return replace(step, action=name, actor=RIGHT_ACTOR[name])


def _advance(world: World, step: Step) -> None:
    if isinstance(step.advance, timedelta):
        world.now += step.advance
        return
    target = _target(world, step)
    if target is None or target.deadline is None:
        return
    due = target.deadline if step.advance == "to_deadline" else target.deadline - MS
    world.now = max(world.now, due)


def _amount(world: World, step: Step) -> Money | None:
    return None if step.amount is None else Money(step.amount, world.currency())


def _apply(world: World, step: Step) -> AfterSaleOutcome | Order | None:
    actor = ACTORS[step.actor]
    order, ledger, now = world.order, world.ledger, world.now
    order_case = AfterSalesCase(order, ledger, list(world.requests.values()))
    match step.action:
        case "request":
            reasons = profile_of(step.kind).request_reasons
            not_received = step.kind is AfterSaleKind.REFUND_ONLY and step.pick % 2 == 0
            reason = "NOT_RECEIVED" if not_received else _reason(reasons, step.reason_index)
            lines = commands.chosen_lines(_lines(world, step) or _all_lines(world))
            asked = commands.RequestAfterSale(order.id, step.kind, lines, reason, step.comment)
            return request_by_buyer(
                order_case, actor, asked, Opening(world.policy, now, world.new_id())
            )
        case "seller_refund" | "platform_refund":
            seller = step.action == "seller_refund"
            catalogue = SELLER_REFUND_REASONS if seller else PLATFORM_REFUND_REASONS
            refund = (commands.RefundOrder if seller else commands.PlatformRefund)(
                order.id,
                _reason(catalogue, step.reason_index),
                step.comment,
                _chosen(_lines(world, step)),
                _amount(world, step) if step.keeps else None,
            )
            opening = Opening(world.policy, now, world.new_id())
            return refund_without_request(order_case, actor, refund, opening)
        case "delivered":
            return order.delivered(now)
    r = _target(world, step)
    if r is None:
        return None
    at = StepOn(r, order, ledger, actor, now, _replacement(world, r))
    match step.action:
        case "approve":
            replacing = step.decision is DecisionType.APPROVE_REPLACEMENT
            partial = step.decision is DecisionType.OFFER_PARTIAL_REFUND or step.pick % 2 == 0
            terms = commands.ApprovalTerms(
                lines=_chosen(_lines(world, step) if step.pick % 3 == 0 else None),
                buyer_keeps_item=step.keeps,
                partial_amount=_amount(world, step) if partial and not replacing else None,
                reason=_reason(REPLACEMENT_APPROVE_REASONS, step.reason_index)
                if replacing
                else None,
                comment=step.comment,
            )
            return approve(at, commands.ApproveAfterSale(r.id, step.decision, terms))
        case "reject":
            reason = _reason(profile_of(r.kind).reject_reasons, step.reason_index)
            return reject(at, commands.RejectAfterSale(r.id, reason, step.comment))
        case "withdraw":
            return withdraw(at, commands.WithdrawAfterSale(r.id))
        case "appeal":
            reason = _reason(APPEAL_REASONS, step.reason_index)
            return appeal(at, commands.AppealAfterSale(r.id, reason, step.comment))
        case "decide_for_buyer":
            return decide_appeal(at, commands.DecideAppeal(r.id, True, "mediated"))
        case "decide_for_seller":
            return decide_appeal(at, commands.DecideAppeal(r.id, False, "mediated"))
        case "ship_return":
            return ship_return(at, commands.ShipReturn(r.id, "UPS", "1Z-R"))
        case "confirm_receipt":
            return confirm_receipt(at, commands.ConfirmReturnReceived(r.id))
        case "reject_on_receipt":
            reason = _reason(RECEIPT_REJECT_REASONS, step.reason_index)
            return reject(at, commands.RejectReturnOnReceipt(r.id, reason, step.comment))
        case "ship_replacement":
            return ship_replacement(at, commands.ShipReplacement(r.id, "UPS", "1Z-P"))
        case "replacement_delivered":
            return replacement_delivered(at, commands.RecordReplacementDelivered(r.id))
        case "offer":
            # Mostly a small amount an order can refund; the menu's bad ones sometimes.
            minor = step.amount if step.amount is not None and step.keeps else 1 + step.pick
            amount = Money(minor, world.currency())
            lines = _chosen(_lines(world, step) if step.pick % 3 == 0 else None)
            return offer_partial_refund(
                at, commands.OfferPartialRefund(r.id, amount, lines, step.comment)
            )
        case "answer_offer":
            return answer_offer(at, commands.AnswerOffer(r.id, step.keeps))
        case "refund_instead":
            return issue_replacement_refund(at, commands.IssueReplacementRefund(r.id, step.comment))
        case "replacement_order_moves":
            return _replacement_order_moves(world, r, actor)
        case "deadline":
            return act_on_deadline(at)
    raise AssertionError(step.action)


def _replacement(world: World, r: AfterSaleRequest) -> Order | None:
    return world.replacement_orders.get(r.replacement_order_id or "")


def _replacement_order_moves(
    world: World, r: AfterSaleRequest, actor: Actor
) -> AfterSaleOutcome | None:
    """P4: the replacement order moves one stage on (as the order intake moves it), and the
    request follows it; a move the request does not follow leaves it as it is."""
    placed = _replacement(world, r)
    if placed is None:
        return None
    if placed.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT:
        moved = placed.handed_to_carrier(world.now, "DHL", "JD-P")
    elif placed.fulfilment_state is FulfilmentState.IN_TRANSIT:
        moved = placed.delivered(world.now)
    else:
        return None
    # One transaction: a refused request step leaves the order unmoved too.
    out = follow_replacement_order(StepOn(r, world.order, world.ledger, actor, world.now, moved))
    world.replacement_orders[moved.id] = moved  # moved, whether the request follows or not
    return out


def _check_request_refusal(world: World, step: Step, refusal: AfterSaleRefused) -> None:
    """R1, R5, P1: the eligibility query explains the same refusals the request raises."""
    if refusal.code not in ("WINDOW_PASSED", "SECOND_REJECTION_ONLY_APPEAL", "ALREADY_REQUESTED"):
        return
    asked = _lines(world, step) or _all_lines(world)
    case = AfterSalesCase(world.order, world.ledger, list(world.requests.values()))
    shown = line_eligibility(case, PolicyBook({}, world.policy), world.now)
    codes = {e.code for e in shown if e.kind is step.kind and e.line_id in asked}
    assert refusal.code in codes, (refusal.code, codes)


# P4: a delivery is a fact, recorded whenever it is known before the platform refunds instead.
_CARRIER_EVENTS = frozenset({AfterSaleAction.CONFIRM_REPLACEMENT_DELIVERED})

# P4: where a replacement order is while its request is in each status.
_ORDER_STATE_OF = {
    AfterSaleStatus.AWAITING_REPLACEMENT_SHIPMENT: {FulfilmentState.AWAITING_SHIPMENT},
    AfterSaleStatus.REPLACEMENT_SHIPPED: {FulfilmentState.IN_TRANSIT},
    AfterSaleStatus.REPLACED: {FulfilmentState.DELIVERED},
    # Refunded instead: before shipping the order is cancelled; after, it goes on its way.
    AfterSaleStatus.REFUNDED: {
        FulfilmentState.CANCELLED,
        FulfilmentState.IN_TRANSIT,
        FulfilmentState.DELIVERED,
    },
}


def _check_step(world: World, step: Step, out: AfterSaleOutcome) -> None:
    """What a successful step says about the rules, beyond the state invariants."""
    r = out.request
    old = world.requests.get(r.id)
    assert out.records and out.records[-1] == r.timeline[-1]
    assert all(record.at == world.now for record in out.records)
    if old is None:
        assert out.records[0].from_status is None
        assert r.timeline == out.records
        assert r.requested_at == world.now
    else:
        assert out.records[0].from_status is old.status
        assert r.timeline == old.timeline + out.records
        first = out.records[0]
        if first.actor_kind is ActorKind.PLATFORM and first.deadline is not None:
            # R3, R5, R8: the platform moves on a deadline only once it has passed.
            assert first.deadline == old.deadline
            assert old.deadline is not None and old.deadline <= world.now
        elif old.deadline is not None and first.action not in _CARRIER_EVENTS:
            # The side that must act does so only while its window is open.
            assert world.now < old.deadline
    if step.action == "request":
        # R5: after two rejections on the order the buyer may only appeal.
        assert world.rejection_events < 2
        case = AfterSalesCase(world.order, world.ledger, list(world.requests.values()))
        shown = line_eligibility(case, PolicyBook({}, world.policy), world.now)
        for line_id, quantity in r.quantities.items():
            (e,) = [x for x in shown if x.line_id == line_id and x.kind is r.kind]
            assert e.eligible and quantity <= e.available_quantity, e
        # R10: an instant-refund category pays a refund-only request at once.
        if r.kind is AfterSaleKind.REFUND_ONLY and world.policy.instant_refund:
            assert r.status is AfterSaleStatus.REFUNDED
        else:
            assert r.status is AfterSaleStatus.PENDING_SELLER
            assert r.deadline == world.now + world.policy.seller_response_window
        for closed in out.superseded:
            assert world.requests[closed.id].status is AfterSaleStatus.REJECTED
            assert closed.status is AfterSaleStatus.CLOSED_FINAL
    if out.ledger is not None:
        refund = r.refund
        assert refund is not None and refund.total.minor > 0
        assert out.ledger.refunded_total == world.ledger.refunded_total + refund.total
    elif old is None or old.refund is None:
        assert r.refund is None or r.refund.total.minor == 0


def _check_invariants(world: World) -> None:
    order, ledger = world.order, world.ledger
    requests = list(world.requests.values())
    for r in requests:
        previous: AfterSaleStatus | None = None
        assert r.timeline and r.timeline[0].at == r.requested_at
        for record in r.timeline:
            edge = machine.TRANSITIONS.step(record.action, record.from_status, record.to_status)
            assert edge is not None, record  # no step outside the table
            assert record.actor_kind in edge.actors, record
            assert r.kind in edge.kinds, (r.kind, record)
            assert record.from_status is previous
            previous = record.to_status
        assert previous is r.status
        assert [x.at for x in r.timeline] == sorted(x.at for x in r.timeline)
        assert r.tab is machine.TAB_OF_STATUS[r.status]
        assert (r.deadline is not None) == (r.status in AFTER_SALE_DEADLINES), r.status
        assert (r.next_action is not None) == (r.status in machine.NEXT_ACTION_OF_STATUS)
        assert (r.resolved_at is not None) == (r.status in machine.FINAL_STATUSES)
        assert (r.refund is not None and r.refund.total.minor > 0) <= (
            r.status is AfterSaleStatus.REFUNDED
        )
        if r.status is AfterSaleStatus.REFUNDED:
            assert r.refund is not None and r.decision is not None
        if r.status is AfterSaleStatus.APPEALED:
            assert r.seller_rejections >= 1 and r.appeal is not None
        if r.refund is not None:
            by_id = {x.line_id: x for x in order.lines}
            for line in r.refund.lines:
                assert line.amount.minor >= 0
                assert line.amount.minor <= by_id[line.line_id].unit_price.minor * line.quantity
                assert line.quantity <= r.covered[line.line_id]

    # P4: a replacement order is linked both ways and where its request says it is.
    for r in requests:
        if r.replacement_order_id is None:
            continue
        placed = world.replacement_orders[r.replacement_order_id]
        assert (placed.replacement_of, placed.replacement_request_id) == (order.id, r.id)
        assert placed.id in order.replacement_order_ids
        assert placed.amount_paid.minor == 0  # at no charge: nothing of it is refundable
        assert placed.fulfilment_state in _ORDER_STATE_OF[r.status], (r.status, placed)
    # R12: an offer waits only while the buyer may answer it, and only money requests get one.
    for r in requests:
        if r.status is AfterSaleStatus.AWAITING_BUYER_RESPONSE:
            assert r.offer is not None and r.offer.answer is None
            assert r.deadline == r.offer.respond_by
            assert r.kind is not AfterSaleKind.REPLACEMENT
        accepted = r.decision is not None and r.decision.type is DecisionType.OFFER_PARTIAL_REFUND
        if r.offer is not None and r.status is AfterSaleStatus.REFUNDED and accepted:
            assert r.refund is not None and r.refund.total <= r.offer.amount

    # Money: never more refunded than paid, per line, for shipping and in total.
    paid_lines, paid_shipping = _paid(order)
    for line_id, paid in paid_lines.items():
        assert 0 <= ledger.refunded_line(line_id).minor <= paid
    assert 0 <= ledger.refunded_shipping.minor <= paid_shipping
    assert ledger.refunded_total.minor <= sum(paid_lines.values()) + paid_shipping
    for entry in ledger.entries:
        assert entry.shipping.minor >= 0 and all(x.amount.minor >= 0 for x in entry.lines)
    paid_out = sum(r.refund.total.minor for r in requests if r.refund is not None)
    assert paid_out == ledger.refunded_total.minor
    assert (order.refunded or Money.zero(order.currency)) == ledger.refunded_total

    # Units: never asked about twice, and at most one open request per line.
    for line in order.lines:
        held = sum(r.covered.get(line.line_id, 0) for r in requests if r.holds_units)
        assert held <= line.quantity, (line.line_id, held)
        assert sum(1 for r in requests if r.is_open and line.line_id in r.covered) <= 1

    # The refund quote of everything never promises more than is left.
    quote = refund_quote(order, ledger, {x.line_id: x.quantity for x in order.lines})
    assert quote.total.minor <= ledger.refundable_total(order).minor


@settings(max_examples=200, deadline=None)
@given(
    order=orders(),
    policy=policies,
    start_after=st.one_of(*[st.integers(3 * 24, 5 * 24)] * 3, st.integers(0, 40 * 24)),
    plan=st.lists(steps(), min_size=8, max_size=40),
)
def test_r1_to_r12_p1_to_p4_y1_invariants_hold_for_any_sequence_of_actions(
    order: Order, policy: CategoryPolicy, start_after: int, plan: list[Step]
) -> None:
    world = World(
        order, policy, order.placed_at + timedelta(hours=start_after), RefundLedger.for_order(order)
    )
    _check_invariants(world)
    for planned in plan:
        step = _resolve(world, planned)
        _advance(world, step)
        snapshot = repr((world.order, world.ledger, world.requests))
        try:
            result = _apply(world, step)
        except DomainError as refusal:
            event(f"refused {step.action}: {refusal.code}")
            if step.action == "request" and isinstance(refusal, AfterSaleRefused):
                _check_request_refusal(world, step, refusal)
            assert repr((world.order, world.ledger, world.requests)) == snapshot
            _check_invariants(world)
            continue
        if result is None:
            continue
        event(f"done {step.action}")
        if isinstance(result, Order):
            world.order = result
            _check_invariants(world)
            continue
        event(f"to {result.request.status.value}")
        _check_step(world, step, result)
        world.rejection_events += sum(
            1
            for record in result.records
            if record.action in (AfterSaleAction.REJECT, AfterSaleAction.REJECT_ON_RECEIPT)
        )
        world.requests[result.request.id] = result.request
        for closed in result.superseded:
            world.requests[closed.id] = closed
        world.order = result.order
        if result.ledger is not None:
            world.ledger = result.ledger
        for placed in result.new_orders:
            world.replacement_orders[placed.id] = placed
        for _before, moved in result.moved_orders:
            world.replacement_orders[moved.id] = moved
        _check_invariants(world)

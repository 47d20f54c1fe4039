"""H1, H2: tickets and the rules that act on them, decided without I/O (models/tickets.py,
models/ticket_rules.py, models/ticket_facts.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from models import cancellations as cancel_domain
from models.actors import Actor, ActorKind
from models.after_sale_requests import AfterSaleRequest
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus
from models.commands import CancelUnpaidOrder, RequestCancellation
from models.errors import InvalidTransition, ValidationFailed
from models.money import Money
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.policy import DEFAULT_POLICY
from models.requests import Initiator, Opening
from models.ticket_facts import facts_of_after_sale, facts_of_cancellation
from models.ticket_rules import (
    Condition,
    InvalidRule,
    Rule,
    RuleAction,
    RuleActionKind,
    RuleProblem,
    dry_run,
    matches,
    rule_actor,
    rules_to_run,
    validate_rule,
)
from models.tickets import (
    MAX_TAGS,
    RequestFacts,
    RequestInitiator,
    RequestKind,
    RequestPhase,
    TicketAction,
    TicketStatus,
    TicketType,
    add_note,
    assign,
    follow_request,
    open_ticket,
    rule_skipped,
    set_status,
    tag,
    untag,
)
from storage.tickets import UNASSIGNED, TicketFilter, facet, facets_of
from tests.unit.cancellation_steps import on_order

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BUYER = Actor(ActorKind.BUYER, "buyer-1")
AGENT = Actor(ActorKind.SELLER_AGENT, "agent-1", "shop-1")
PLATFORM = Actor(ActorKind.PLATFORM, "ops-1")


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def order(state: FulfilmentState = FulfilmentState.AWAITING_SHIPMENT) -> Order:
    lines = (
        LineItem("l1", "SKU-1", "Mug", 2, usd(2500), "kitchen"),
        LineItem("l2", "SKU-2", "Spoon", 1, usd(1000), "cutlery"),
    )
    unpaid = state is FulfilmentState.UNPAID
    return Order(
        "ord_1",
        "shop-1",
        "buyer-1",
        lines,
        usd(499),
        PaymentMethod.PREPAID,
        PaymentState.AWAITING_PAYMENT if unpaid else PaymentState.PAID,
        state,
        NOW - timedelta(days=1),
        payment_due_at=NOW - timedelta(hours=1) if unpaid else None,
    )


def facts(**changes: object) -> RequestFacts:
    base = RequestFacts(
        request_id="req_1",
        kind=RequestKind.REFUND_ONLY,
        order_id="ord_1",
        shop_id="shop-1",
        buyer_id="buyer-1",
        initiator=RequestInitiator.BUYER,
        reason="NOT_RECEIVED",
        categories=("kitchen",),
        amount=usd(1500),
        status="PENDING_SELLER",
        phase=RequestPhase.WAITING_FOR_SELLER,
        deadline=NOW + timedelta(hours=48),
        requested_at=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


ANY = Condition()


def rule(
    action: RuleAction,
    condition: Condition = ANY,
    position: int = 10,
    rule_id: str = "rul_1",
) -> Rule:
    return Rule(rule_id, "shop-1", "a rule", position, True, condition, action, "agent-1", NOW)


def ticket(f: RequestFacts | None = None):  # type: ignore[no-untyped-def]
    t = open_ticket(f or facts(), BUYER, "tkt_1", NOW)
    assert t is not None
    return t


# ---- H1: a ticket for every request ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        (RequestKind.CANCELLATION, "New Cancellation Request"),
        (RequestKind.REFUND_ONLY, "New Refund Request"),
        (RequestKind.RETURN_AND_REFUND, "New Refund Request"),  # seed 003: both refund kinds
        (RequestKind.REPLACEMENT, "New Replacement Request"),
    ],
)
def test_h1_new_request_opens_ticket_with_subject_by_kind(kind: RequestKind, subject: str) -> None:
    t = ticket(facts(kind=kind))
    assert (t.type, t.subject, t.status) == (TicketType.REQUEST, subject, TicketStatus.OPEN)
    assert [r.action for r in t.timeline] == [TicketAction.OPENED]
    assert t.rules_due


def test_h1_buyer_cancellation_request_opens_new_cancellation_request_ticket() -> None:
    out = cancel_domain.request_by_buyer(
        Opening(DEFAULT_POLICY, NOW, "can_1"),
        on_order(order(), BUYER, NOW),
        RequestCancellation((order()).id, "CHANGED_MIND", None),
    )
    f = facts_of_cancellation(out.request)
    assert (f.kind, f.initiator, f.phase) == (
        RequestKind.CANCELLATION,
        RequestInitiator.BUYER,
        RequestPhase.WAITING_FOR_SELLER,
    )
    assert f.amount == usd(2 * 2500 + 1000)  # the items' price, shipping aside
    assert f.categories == ("cutlery", "kitchen")
    assert f.deadline == out.request.respond_by
    t = ticket(f)
    assert (t.subject, t.facts.order_id, t.facts.request_id) == (
        "New Cancellation Request",
        "ord_1",
        "can_1",
    )


def test_h1_system_cancellation_opens_open_notification_ticket() -> None:
    out = cancel_domain.cancel_by_system(
        Opening(DEFAULT_POLICY, NOW, "can_2"),
        on_order(order(FulfilmentState.UNPAID), PLATFORM, NOW),
        CancelUnpaidOrder((order(FulfilmentState.UNPAID)).id),
    )
    f = facts_of_cancellation(out.request)
    assert (f.initiator, f.phase) == (RequestInitiator.PLATFORM, RequestPhase.FINAL)
    t = open_ticket(f, PLATFORM, "tkt_2", NOW)
    assert t is not None
    assert (t.type, t.status, t.subject) == (
        TicketType.NOTIFICATION,
        TicketStatus.OPEN,  # the team is told; a rule or an agent resolves it (H2)
        "Order Cancelled by TikTok Shop",
    )


def test_h1_platform_refund_opens_notification_ticket() -> None:
    f = facts(initiator=RequestInitiator.PLATFORM, status="REFUNDED", phase=RequestPhase.FINAL)
    t = ticket(f)
    assert (t.type, t.subject) == (TicketType.NOTIFICATION, "Refund Issued by TikTok Shop")


def test_h1_no_ticket_for_what_needs_nobody() -> None:
    at_once = cancel_domain.request_by_buyer(
        Opening(DEFAULT_POLICY, NOW - timedelta(hours=23, minutes=30), "can_3"),
        on_order(order(), BUYER, NOW - timedelta(hours=23, minutes=30)),
        RequestCancellation((order()).id, "CHANGED_MIND", None),
    )
    assert at_once.request.status is cancel_domain.CancellationStatus.CANCELLED  # C1
    assert open_ticket(facts_of_cancellation(at_once.request), BUYER, "t", NOW) is None
    seller = facts(initiator=RequestInitiator.SELLER, phase=RequestPhase.FINAL)
    assert open_ticket(seller, AGENT, "t", NOW) is None  # C7, R9: the agent did it


def test_h1_after_sale_facts_phase_follows_the_state_machine() -> None:
    line = LineItem("l1", "SKU-1", "Mug", 1, usd(2500), "kitchen")
    r = AfterSaleRequest(
        id="afs_1",
        order_id="ord_1",
        shop_id="shop-1",
        buyer_id="buyer-1",
        kind=AfterSaleKind.RETURN_AND_REFUND,
        initiator=Initiator.BUYER,
        status=AfterSaleStatus.PENDING_SELLER,
        lines=(line,),
        reason="DAMAGED",
        note=None,
        currency="USD",
        policy=DEFAULT_POLICY,
        requested_at=NOW,
        deadline=NOW + timedelta(hours=48),
    )
    f = facts_of_after_sale(r)
    assert (f.kind, f.phase, f.amount, f.deadline) == (
        RequestKind.RETURN_AND_REFUND,
        RequestPhase.WAITING_FOR_SELLER,
        usd(2500),
        NOW + timedelta(hours=48),
    )
    assert ticket(f).subject == "New Refund Request"
    moving = dataclasses.replace(r, status=AfterSaleStatus.AWAITING_BUYER_RETURN)
    assert facts_of_after_sale(moving).phase is RequestPhase.IN_PROCESS
    rejected = dataclasses.replace(r, status=AfterSaleStatus.REJECTED)
    assert facts_of_after_sale(rejected).phase is RequestPhase.IN_PROCESS  # appealable (R5)
    done = dataclasses.replace(r, status=AfterSaleStatus.REFUNDED)
    assert facts_of_after_sale(done).phase is RequestPhase.FINAL


def test_h1_ticket_status_follows_its_request_and_closes_when_final() -> None:
    t = ticket()
    moved = follow_request(
        t, facts(status="AWAITING_BUYER_RETURN", phase=RequestPhase.IN_PROCESS), AGENT, NOW
    )
    assert moved.status is TicketStatus.PENDING
    done = follow_request(moved, facts(status="REFUNDED", phase=RequestPhase.FINAL), AGENT, NOW)
    assert done.status is TicketStatus.RESOLVED
    assert [r.detail for r in done.timeline[1:]] == [
        "PENDING_SELLER -> AWAITING_BUYER_RETURN",
        "AWAITING_BUYER_RETURN -> REFUNDED",
    ]
    assert follow_request(done, done.facts, AGENT, NOW) is done  # nothing moved, nothing written
    with pytest.raises(InvalidTransition):
        set_status(done, TicketStatus.OPEN, AGENT, NOW)  # nothing left to decide


def test_h1_assignee_tags_and_internal_notes() -> None:
    t = assign(ticket(), "agent-2", AGENT, NOW)
    t = tag(t, " VIP ", AGENT, NOW)
    t = tag(t, "vip", AGENT, NOW)  # once
    t = add_note(t, "  called the buyer  ", AGENT, NOW)
    assert (t.assignee, t.tags, [n.text for n in t.notes]) == (
        "agent-2",
        ("vip",),
        ["called the buyer"],
    )
    t = untag(t, "vip", AGENT, NOW)
    assert t.tags == ()
    assert [r.action for r in t.timeline] == [
        TicketAction.OPENED,
        TicketAction.ASSIGNED,
        TicketAction.TAGGED,
        TicketAction.NOTE_ADDED,
        TicketAction.UNTAGGED,
    ]
    with pytest.raises(ValidationFailed):
        tag(t, "not a tag!", AGENT, NOW)
    with pytest.raises(ValidationFailed):
        add_note(t, "   ", AGENT, NOW)
    full = t
    for n in range(MAX_TAGS):
        full = tag(full, f"t{n}", AGENT, NOW)
    with pytest.raises(ValidationFailed):
        tag(full, "one-more", AGENT, NOW)


# ---- H2: rules as data ---------------------------------------------------------------------


RESOLVE_SYSTEM_CANCELLATIONS = rule(
    RuleAction(RuleActionKind.RESOLVE_TICKET),
    Condition(
        kinds=frozenset({RequestKind.CANCELLATION}),
        initiators=frozenset({RequestInitiator.PLATFORM}),
    ),
)
APPROVE_SMALL_KITCHEN_REFUNDS = rule(
    RuleAction(RuleActionKind.APPROVE),
    Condition(
        kinds=frozenset({RequestKind.REFUND_ONLY}),
        categories=frozenset({"kitchen"}),
        amount_below=usd(2000),
    ),
)
TAG_FREQUENT_BUYERS = rule(
    RuleAction(RuleActionKind.TAG, tag="frequent-buyer"),
    Condition(buyer_requests_over=3),
)


def test_h2_example_rules_match_what_the_issue_says() -> None:
    system = facts(
        kind=RequestKind.CANCELLATION,
        initiator=RequestInitiator.PLATFORM,
        reason="NON_PAYMENT",
        phase=RequestPhase.FINAL,
    )
    assert matches(RESOLVE_SYSTEM_CANCELLATIONS.condition, system, 0)
    assert not matches(
        RESOLVE_SYSTEM_CANCELLATIONS.condition, facts(kind=RequestKind.CANCELLATION), 0
    )

    small = APPROVE_SMALL_KITCHEN_REFUNDS.condition
    assert matches(small, facts(amount=usd(1999)), 0)
    assert not matches(small, facts(amount=usd(2000)), 0)  # "under" the amount
    assert not matches(small, facts(categories=("garden",)), 0)
    assert not matches(small, facts(kind=RequestKind.RETURN_AND_REFUND), 0)
    assert not matches(small, facts(amount=Money(1000, "EUR")), 0)  # another currency

    assert not matches(TAG_FREQUENT_BUYERS.condition, facts(), 3)
    assert matches(TAG_FREQUENT_BUYERS.condition, facts(), 4)  # more than 3 earlier requests


def test_h2_rules_run_in_stated_order_each_once_per_request() -> None:
    first = rule(RuleAction(RuleActionKind.TAG, tag="a"), position=1, rule_id="rul_b")
    second = rule(RuleAction(RuleActionKind.TAG, tag="b"), position=2, rule_id="rul_a")
    off = dataclasses.replace(
        rule(RuleAction(RuleActionKind.RESOLVE_TICKET), rule_id="rul_c"), enabled=False
    )
    t = ticket()
    assert [r.id for r in rules_to_run([second, off, first], t, 0)] == ["rul_b", "rul_a"]
    t = tag(t, "a", rule_actor(first), NOW, first.ref)
    assert [r.id for r in rules_to_run([second, first], t, 0)] == ["rul_a"]
    record = t.timeline[-1]
    assert (record.rule_id, record.rule_name, record.actor_id) == ("rul_b", "a rule", "rule.rul_b")


def test_h2_rule_that_would_break_a_domain_rule_does_nothing_and_records_why() -> None:
    t = ticket()
    skipped = rule_skipped(t, APPROVE_SMALL_KITCHEN_REFUNDS.ref, "NOT_PENDING: decided", AGENT, NOW)
    assert skipped.facts == t.facts and skipped.status is t.status
    assert skipped.timeline[-1].action is TicketAction.RULE_SKIPPED
    assert skipped.timeline[-1].detail == "NOT_PENDING: decided"
    assert rules_to_run([APPROVE_SMALL_KITCHEN_REFUNDS], skipped, 0) == []  # once
    assert rule_skipped(skipped, APPROVE_SMALL_KITCHEN_REFUNDS.ref, "again", AGENT, NOW) is skipped


@pytest.mark.parametrize(
    ("bad", "problem", "field"),
    [
        (
            rule(
                RuleAction(RuleActionKind.RESOLVE_TICKET),
                Condition(
                    kinds=frozenset({RequestKind.REPLACEMENT}), reasons=frozenset({"NOT_RECEIVED"})
                ),
            ),
            RuleProblem.UNKNOWN_REASON_FOR_KIND,
            "condition.reasons",
        ),
        (
            rule(
                RuleAction(RuleActionKind.TAG, tag="x"),
                Condition(amount_at_least=usd(5000), amount_below=usd(1000)),
            ),
            RuleProblem.AMOUNT_RANGE_INVERTED,
            "condition.amountBelow",
        ),
        (
            rule(
                RuleAction(RuleActionKind.OFFER_PARTIAL_REFUND, amount=usd(100)),
                Condition(kinds=frozenset({RequestKind.CANCELLATION})),
            ),
            RuleProblem.ACTION_NOT_VALID_FOR_KIND,
            "action.kind",
        ),
        (
            rule(RuleAction(RuleActionKind.APPROVE)),
            RuleProblem.DECISION_NEEDS_KIND,
            "condition.kinds",
        ),
        (
            rule(
                RuleAction(RuleActionKind.REJECT, reason="ALREADY_SHIPPED"),
                Condition(kinds=frozenset({RequestKind.REFUND_ONLY})),
            ),
            RuleProblem.UNKNOWN_REASON_FOR_KIND,
            "action.reason",
        ),
        (
            rule(
                RuleAction(RuleActionKind.APPROVE),
                Condition(
                    kinds=frozenset({RequestKind.CANCELLATION}),
                    initiators=frozenset({RequestInitiator.PLATFORM}),
                ),
            ),
            RuleProblem.ACTION_NOT_VALID_FOR_INITIATOR,
            "condition.initiators",
        ),
        (
            rule(
                RuleAction(RuleActionKind.APPROVE),
                Condition(kinds=frozenset({RequestKind.REPLACEMENT})),
            ),
            RuleProblem.MISSING_ACTION_FIELD,
            "action.reason",
        ),
        (rule(RuleAction(RuleActionKind.TAG)), RuleProblem.MISSING_ACTION_FIELD, "action.tag"),
        (
            rule(RuleAction(RuleActionKind.TAG, tag="no spaces")),
            RuleProblem.MISSING_ACTION_FIELD,
            "action.tag",
        ),
        (
            rule(RuleAction(RuleActionKind.TAG, tag="x"), Condition(buyer_requests_over=-1)),
            RuleProblem.HISTORY_COUNT_INVALID,
            "condition.buyerRequestsOver",
        ),
        (
            dataclasses.replace(rule(RuleAction(RuleActionKind.RESOLVE_TICKET)), name=" "),
            RuleProblem.NAME_INVALID,
            "name",
        ),
    ],
)
def test_h2_invalid_rule_is_refused_when_saved(bad: Rule, problem: RuleProblem, field: str) -> None:
    with pytest.raises(InvalidRule) as caught:
        validate_rule(bad)
    assert (caught.value.problem, caught.value.field) == (problem, field)
    assert caught.value.code == "INVALID_RULE"


def test_h2_valid_rules_are_saved_clean() -> None:
    for good in (RESOLVE_SYSTEM_CANCELLATIONS, APPROVE_SMALL_KITCHEN_REFUNDS, TAG_FREQUENT_BUYERS):
        assert validate_rule(good) == good
    cleaned = validate_rule(rule(RuleAction(RuleActionKind.TAG, tag=" Fraud-Check ")))
    assert cleaned.action.tag == "fraud-check"


def test_h2_dry_run_says_what_each_matching_rule_would_do() -> None:
    waiting = ticket(facts(amount=usd(1500)))
    decided = ticket(facts(status="REFUNDED", phase=RequestPhase.FINAL))
    late = ticket(facts(deadline=NOW - timedelta(seconds=1)))
    too_much = ticket(facts(amount=usd(5000)))
    previews = dry_run(
        APPROVE_SMALL_KITCHEN_REFUNDS,
        [(waiting, 0), (decided, 0), (late, 0), (too_much, 0)],
        NOW,
    )
    assert [(p.acts, p.effect) for p in previews] == [
        (True, "approve the request"),
        (False, "nothing: the request is REFUNDED, not waiting for the seller's decision"),
        (False, "nothing: the seller's response window has closed; the platform decides"),
    ]  # the 50.00 request does not match "under 20.00"
    offer = rule(
        RuleAction(RuleActionKind.OFFER_PARTIAL_REFUND, amount=usd(1600)),
        Condition(kinds=frozenset({RequestKind.REFUND_ONLY})),
    )
    [p] = dry_run(offer, [(waiting, 0)], NOW)
    assert (p.acts, p.effect) == (
        False,
        "nothing: 16.00 USD is more than the 15.00 USD asked about",
    )
    [p] = dry_run(TAG_FREQUENT_BUYERS, [(waiting, 4), (decided, 1)], NOW)
    assert (p.ticket, p.effect) == (waiting, "tag the ticket 'frequent-buyer'")


def test_h2_dry_run_sees_what_is_left_to_refund_on_the_order() -> None:
    """R7 through the refund ledger: a paying rule would do nothing where the order's money has
    gone back already, or where its offer is more than what is left."""
    waiting = ticket(facts(amount=usd(1500)))
    order_id = waiting.facts.order_id
    [p] = dry_run(APPROVE_SMALL_KITCHEN_REFUNDS, [(waiting, 0)], NOW, {order_id: usd(0)})
    assert (p.acts, p.effect) == (
        False,
        "nothing: everything paid for the order has been refunded already",
    )
    [p] = dry_run(APPROVE_SMALL_KITCHEN_REFUNDS, [(waiting, 0)], NOW, {order_id: usd(1)})
    assert (p.acts, p.effect) == (True, "approve the request")
    offer = rule(
        RuleAction(RuleActionKind.OFFER_PARTIAL_REFUND, amount=usd(1200)),
        Condition(kinds=frozenset({RequestKind.REFUND_ONLY})),
    )
    [p] = dry_run(offer, [(waiting, 0)], NOW, {order_id: usd(1000)})
    assert (p.acts, p.effect) == (
        False,
        "nothing: 12.00 USD is more than the 10.00 USD left to refund on the order (R7)",
    )
    [p] = dry_run(offer, [(waiting, 0)], NOW, {"another-order": usd(0)})
    assert p.acts


@pytest.mark.parametrize(
    ("assignee", "tags"), [(None, ()), ("agent-2", ("vip",)), ("agent-1", ("vip", "late"))]
)
def test_h1_ticket_facets_are_every_filter_the_ticket_matches(
    assignee: str | None, tags: tuple[str, ...]
) -> None:
    """Every ticket list is one facet on one index (storage/tickets.py): a ticket carries the
    facet of each filter it matches, and of no other."""
    t = dataclasses.replace(ticket(), assignee=assignee, tags=tags)
    matching = {
        facet(TicketFilter(status=s, assignee=a, kind=k, tag=tag))
        for s in (None, t.status)
        for a in (None, assignee or UNASSIGNED)
        for k in (None, t.facts.kind)
        for tag in (None, *tags)
    }
    assert sorted(facets_of(t)) == sorted(matching)
    assert len(facets_of(t)) == 8 * (1 + len(tags))

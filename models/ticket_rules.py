"""Rules that act on tickets (H2): a condition over the request and one action, as data.

A shop writes its rules through the API; `validate_rule` checks one when it is saved and raises
`InvalidRule` naming the problem and the field. When a request opens a ticket, the shop's enabled
rules run in their stated order (`position`, then id), each at most once per request
(`Ticket.rules_applied`). Ticket actions (resolve, tag, assign) change the ticket; decisions
(approve, reject, offer a partial refund) go through the request's own service, as a human's do,
so the state machine, the money caps and the race with a human are the request's. A decision the
domain refuses does nothing, and the ticket records the rule and why (`tickets.rule_skipped`).

`preview` is the pure dry run: what a rule would do to a ticket, judged from the facts the
ticket holds (the request's state, its deadline, the amount asked about).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.after_sales_reasons import (
    PLATFORM_REFUND_REASONS,
    REPLACEMENT_APPROVE_REASONS,
    SELLER_REFUND_REASONS,
)
from models.errors import DomainError, ValidationFailed
from models.money import Money
from models.reasons import (
    SELLER_CANCEL_REASONS,
    SYSTEM_CANCEL_REASONS,
    clean_comment,
)
from models.request_kinds import PROFILES
from models.tickets import (
    RequestFacts,
    RequestInitiator,
    RequestKind,
    RequestPhase,
    RuleRef,
    Ticket,
    TicketStatus,
    assign,
    clean_agent_id,
    clean_tag,
    rule_skipped,
    set_status,
    tag,
    why_refused,
)

# "Buyer's history": the buyer's earlier requests to the same shop, this far back.
HISTORY_WINDOW = timedelta(days=30)
NAME_MAX_LENGTH = 80
MAX_RULES_PER_SHOP = 100

_K = RequestKind

# The reasons a request of a kind carries when the seller or the platform opened it (C7, C8,
# R9, R10); a seller or the platform opens refunds only, recorded as refund-only requests.
_OPENED_BY_OTHERS: Mapping[RequestKind, frozenset[str]] = {
    _K.CANCELLATION: frozenset({*SELLER_CANCEL_REASONS, *SYSTEM_CANCEL_REASONS}),
    _K.REFUND_ONLY: frozenset({*SELLER_REFUND_REASONS, *PLATFORM_REFUND_REASONS}),
    _K.RETURN_AND_REFUND: frozenset({*SELLER_REFUND_REASONS, *PLATFORM_REFUND_REASONS}),
    _K.REPLACEMENT: frozenset(),
}
# The reasons a request of each kind may carry, whoever opened it.
REQUEST_REASONS: Mapping[RequestKind, frozenset[str]] = {
    kind: frozenset({*p.request_reasons, *_OPENED_BY_OTHERS[kind]}) for kind, p in PROFILES.items()
}
# The reasons a seller may give to reject a request of each kind (C5, R4, P3).
REJECT_REASONS: Mapping[RequestKind, frozenset[str]] = {
    kind: frozenset(p.reject_reasons) for kind, p in PROFILES.items()
}
PARTIAL_REFUND_KINDS = frozenset({_K.REFUND_ONLY, _K.RETURN_AND_REFUND})


class RuleActionKind(Enum):
    RESOLVE_TICKET = "RESOLVE_TICKET"
    TAG = "TAG"
    ASSIGN = "ASSIGN"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    OFFER_PARTIAL_REFUND = "OFFER_PARTIAL_REFUND"

    @property
    def is_decision(self) -> bool:
        return self in DECISIONS


DECISIONS = frozenset(
    {RuleActionKind.APPROVE, RuleActionKind.REJECT, RuleActionKind.OFFER_PARTIAL_REFUND}
)


class RuleProblem(Enum):
    NAME_INVALID = "NAME_INVALID"
    POSITION_INVALID = "POSITION_INVALID"
    UNKNOWN_REASON_FOR_KIND = "UNKNOWN_REASON_FOR_KIND"
    CATEGORY_INVALID = "CATEGORY_INVALID"
    AMOUNT_INVALID = "AMOUNT_INVALID"
    AMOUNT_RANGE_INVERTED = "AMOUNT_RANGE_INVERTED"
    HISTORY_COUNT_INVALID = "HISTORY_COUNT_INVALID"
    DECISION_NEEDS_KIND = "DECISION_NEEDS_KIND"
    ACTION_NOT_VALID_FOR_KIND = "ACTION_NOT_VALID_FOR_KIND"
    ACTION_NOT_VALID_FOR_INITIATOR = "ACTION_NOT_VALID_FOR_INITIATOR"
    MISSING_ACTION_FIELD = "MISSING_ACTION_FIELD"
    UNKNOWN_AGENT = "UNKNOWN_AGENT"
    TOO_MANY_RULES = "TOO_MANY_RULES"


class InvalidRule(DomainError):
    """A rule that cannot be saved as written; `problem` says what, `field` where."""

    code = "INVALID_RULE"

    def __init__(self, problem: RuleProblem, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
        self.problem = problem


@dataclass(frozen=True)
class Condition:
    """Every part given must hold; an empty set or None matches anything."""

    kinds: frozenset[RequestKind] = frozenset()
    initiators: frozenset[RequestInitiator] = frozenset()
    reasons: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()  # any line of the request in one of them
    amount_at_least: Money | None = None  # inclusive
    amount_below: Money | None = None  # exclusive: "under an amount"
    # More than this many earlier requests by the same buyer to the shop in HISTORY_WINDOW.
    buyer_requests_over: int | None = None


@dataclass(frozen=True)
class RuleAction:
    kind: RuleActionKind
    tag: str | None = None  # TAG
    assignee: str | None = None  # ASSIGN: an agent of the shop
    reason: str | None = None  # REJECT: the reject reason; APPROVE of a replacement: reason type
    comment: str | None = None  # REJECT (a replacement needs one, P3)
    amount: Money | None = None  # OFFER_PARTIAL_REFUND


@dataclass(frozen=True)
class Rule:
    id: str
    shop_id: str
    name: str
    position: int  # rules run in ascending position, then id
    enabled: bool
    condition: Condition
    action: RuleAction
    created_by: str
    updated_at: datetime
    version: int = 0

    @property
    def ref(self) -> RuleRef:
        return RuleRef(self.id, self.name)


def rule_actor(rule: Rule) -> Actor:
    """Who a rule acts as: an agent of its shop with the adjustments permission (saving a rule
    needs that permission), named after the rule so every record shows which rule acted."""
    return Actor(ActorKind.SELLER_AGENT, f"rule.{rule.id}", rule.shop_id, frozenset({ADJUSTMENTS}))


def _fail(problem: RuleProblem, message: str, field: str) -> InvalidRule:
    return InvalidRule(problem, message, field=field)


def _kinds_or_all(c: Condition) -> frozenset[RequestKind]:
    return c.kinds or frozenset(RequestKind)


def _validate_condition(c: Condition) -> None:
    kinds = _kinds_or_all(c)
    known = frozenset().union(*(REQUEST_REASONS[k] for k in kinds))
    for reason in sorted(c.reasons):
        if reason not in known:
            raise _fail(
                RuleProblem.UNKNOWN_REASON_FOR_KIND,
                f"no {'/'.join(sorted(k.value for k in kinds))} request has the reason {reason!r}",
                "condition.reasons",
            )
    for name, bound in (("amountAtLeast", c.amount_at_least), ("amountBelow", c.amount_below)):
        if bound is not None and bound.minor < 0:
            raise _fail(
                RuleProblem.AMOUNT_INVALID, f"{name} cannot be negative", f"condition.{name}"
            )
    low, high = c.amount_at_least, c.amount_below
    if low is not None and high is not None:
        if low.currency != high.currency:
            raise _fail(
                RuleProblem.AMOUNT_INVALID,
                "the two ends of the amount range are in different currencies",
                "condition.amountBelow",
            )
        if high.minor <= low.minor:
            raise _fail(
                RuleProblem.AMOUNT_RANGE_INVERTED,
                f"amountBelow ({high}) must be more than amountAtLeast ({low})",
                "condition.amountBelow",
            )
    if c.buyer_requests_over is not None and not 0 <= c.buyer_requests_over <= 10_000:
        raise _fail(
            RuleProblem.HISTORY_COUNT_INVALID,
            "buyerRequestsOver is a count from 0 to 10000",
            "condition.buyerRequestsOver",
        )
    for category in c.categories:
        if not 1 <= len(category) <= 64:
            raise _fail(
                RuleProblem.CATEGORY_INVALID,
                "a category is 1 to 64 characters",
                "condition.categories",
            )


def _validate_decision(c: Condition, a: RuleAction) -> None:
    if not c.kinds:
        raise _fail(
            RuleProblem.DECISION_NEEDS_KIND,
            f"a rule that decides ({a.kind.value}) names the kinds of request it decides",
            "condition.kinds",
        )
    if c.initiators and RequestInitiator.BUYER not in c.initiators:
        raise _fail(
            RuleProblem.ACTION_NOT_VALID_FOR_INITIATOR,
            "only a buyer's request waits for the seller's decision",
            "condition.initiators",
        )
    kinds = sorted(c.kinds, key=lambda k: k.value)
    if a.kind is RuleActionKind.OFFER_PARTIAL_REFUND:
        for kind in kinds:
            if kind not in PARTIAL_REFUND_KINDS:
                raise _fail(
                    RuleProblem.ACTION_NOT_VALID_FOR_KIND,
                    f"a partial refund is offered on a refund or a return, not a {kind.value}",
                    "action.kind",
                )
        if a.amount is None:
            raise _fail(RuleProblem.MISSING_ACTION_FIELD, "say how much to refund", "action.amount")
        if a.amount.minor <= 0:
            raise _fail(
                RuleProblem.AMOUNT_INVALID, "a partial refund is more than 0", "action.amount"
            )
    if a.kind is RuleActionKind.REJECT:
        if not a.reason:
            raise _fail(
                RuleProblem.MISSING_ACTION_FIELD, "a rejection needs a reason", "action.reason"
            )
        for kind in kinds:
            if a.reason not in REJECT_REASONS[kind]:
                raise _fail(
                    RuleProblem.UNKNOWN_REASON_FOR_KIND,
                    f"{a.reason!r} is not a reason to reject a {kind.value} request",
                    "action.reason",
                )
        if _K.REPLACEMENT in c.kinds and not clean_comment(a.comment):
            raise _fail(
                RuleProblem.MISSING_ACTION_FIELD,
                "rejecting a replacement needs a comment (P3)",
                "action.comment",
            )
    if (
        a.kind is RuleActionKind.APPROVE
        and _K.REPLACEMENT in c.kinds
        and a.reason not in REPLACEMENT_APPROVE_REASONS
    ):
        raise _fail(
            RuleProblem.MISSING_ACTION_FIELD,
            "approving a replacement needs a reason type: "
            + ", ".join(REPLACEMENT_APPROVE_REASONS),
            "action.reason",
        )


def validate_rule(rule: Rule) -> Rule:
    """The checks made when a rule is saved; the rule cleaned, or InvalidRule."""
    name = rule.name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise _fail(
            RuleProblem.NAME_INVALID, f"a name is 1 to {NAME_MAX_LENGTH} characters", "name"
        )
    if not 0 <= rule.position <= 10_000:
        raise _fail(RuleProblem.POSITION_INVALID, "position is from 0 to 10000", "position")
    _validate_condition(rule.condition)
    a = rule.action
    if a.kind.is_decision:
        _validate_decision(rule.condition, a)
    try:
        if a.kind is RuleActionKind.TAG:
            if not a.tag:
                raise _fail(RuleProblem.MISSING_ACTION_FIELD, "say which tag", "action.tag")
            a = _replace_action(a, tag=clean_tag(a.tag))
        if a.kind is RuleActionKind.ASSIGN:
            if not a.assignee:
                raise _fail(
                    RuleProblem.MISSING_ACTION_FIELD, "say whom to assign", "action.assignee"
                )
            a = _replace_action(a, assignee=clean_agent_id(a.assignee))
        a = _replace_action(a, comment=clean_comment(a.comment))
    except ValidationFailed as err:
        raise _fail(RuleProblem.MISSING_ACTION_FIELD, err.message, f"action.{err.field}") from err
    return replace(rule, name=name, action=a)


def _replace_action(a: RuleAction, **changes: object) -> RuleAction:
    return replace(a, **changes)  # type: ignore[arg-type]


def matches(c: Condition, facts: RequestFacts, history: int) -> bool:
    """Whether a request meets the condition; `history` is the buyer's earlier requests to the
    shop in HISTORY_WINDOW."""
    if c.kinds and facts.kind not in c.kinds:
        return False
    if c.initiators and facts.initiator not in c.initiators:
        return False
    if c.reasons and facts.reason not in c.reasons:
        return False
    if c.categories and not c.categories.intersection(facts.categories):
        return False
    for bound in (c.amount_at_least, c.amount_below):
        if bound is not None and bound.currency != facts.amount.currency:
            return False  # a bound in another currency says nothing about this request
    if c.amount_at_least is not None and facts.amount.minor < c.amount_at_least.minor:
        return False
    if c.amount_below is not None and facts.amount.minor >= c.amount_below.minor:
        return False
    return c.buyer_requests_over is None or history > c.buyer_requests_over


def in_order(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.position, r.id))


def rules_to_run(rules: Iterable[Rule], ticket: Ticket, history: int) -> list[Rule]:
    """The shop's enabled rules that match the ticket's request and have not run on it yet,
    in their stated order."""
    return [
        r
        for r in in_order(rules)
        if r.enabled
        and r.id not in ticket.rules_applied
        and matches(r.condition, ticket.facts, history)
    ]


@dataclass(frozen=True)
class Preview:
    """What a rule would do to one ticket, judged from what the ticket knows."""

    ticket: Ticket
    acts: bool
    effect: str  # what it would do, or why it would do nothing


def _decision_refusal(
    rule: Rule, facts: RequestFacts, now: datetime, left: Money | None = None
) -> str | None:
    """Why the request's service would refuse the rule's decision, as far as the ticket (and
    `left`, what is still refundable on the order, when known) can tell."""
    if facts.phase is not RequestPhase.WAITING_FOR_SELLER:
        return f"the request is {facts.status}, not waiting for the seller's decision"
    if facts.deadline is not None and now >= facts.deadline:
        return "the seller's response window has closed; the platform decides"
    a = rule.action
    if a.kind is RuleActionKind.OFFER_PARTIAL_REFUND and a.amount is not None:
        if a.amount.currency != facts.amount.currency:
            return f"the request is in {facts.amount.currency}, the offer in {a.amount.currency}"
        if a.amount.minor > facts.amount.minor:
            return f"{a.amount} is more than the {facts.amount} asked about"
        if left is not None and a.amount.minor > left.minor:
            return f"{a.amount} is more than the {left} left to refund on the order (R7)"
    pays = a.kind is RuleActionKind.APPROVE and facts.kind in PARTIAL_REFUND_KINDS
    if pays and left is not None and left.minor <= 0:
        return "everything paid for the order has been refunded already"
    return None


def _effect(rule: Rule) -> str:
    a = rule.action
    match a.kind:
        case RuleActionKind.RESOLVE_TICKET:
            return "resolve the ticket"
        case RuleActionKind.TAG:
            return f"tag the ticket {a.tag!r}"
        case RuleActionKind.ASSIGN:
            return f"assign the ticket to {a.assignee}"
        case RuleActionKind.APPROVE:
            return "approve the request"
        case RuleActionKind.REJECT:
            return f"reject the request ({a.reason})"
        case RuleActionKind.OFFER_PARTIAL_REFUND:
            return f"offer a partial refund of {a.amount}"


def preview(
    rule: Rule, ticket: Ticket, history: int, now: datetime, left: Money | None = None
) -> Preview | None:
    """Dry run on one ticket: None when the condition does not match. `left`: what is still
    refundable on the ticket's order (the refund ledger), when the caller looked it up."""
    if not matches(rule.condition, ticket.facts, history):
        return None
    if rule.id in ticket.rules_applied:
        return Preview(ticket, False, "nothing: this rule already ran on this request")
    a = rule.action
    if a.kind.is_decision:
        refusal = _decision_refusal(rule, ticket.facts, now, left)
        if refusal:
            return Preview(ticket, False, f"nothing: {refusal}")
    elif (
        (a.kind is RuleActionKind.RESOLVE_TICKET and ticket.status is TicketStatus.RESOLVED)
        or (a.kind is RuleActionKind.TAG and a.tag in ticket.tags)
        or (a.kind is RuleActionKind.ASSIGN and a.assignee == ticket.assignee)
    ):
        return Preview(ticket, False, "nothing: the ticket is already so")
    return Preview(ticket, True, _effect(rule))


def dry_run(
    rule: Rule,
    tickets: Iterable[tuple[Ticket, int]],
    now: datetime,
    refundable: Mapping[str, Money] | None = None,
) -> list[Preview]:
    """H2 dry run: the tickets (with their buyer's history) the rule would match, and what it
    would do to each. `refundable`: what is left to refund, by order id, where known."""
    left = refundable or {}
    found = (preview(rule, t, history, now, left.get(t.facts.order_id)) for t, history in tickets)
    return [p for p in found if p is not None]


def apply_ticket_rule(ticket: Ticket, rule: Rule, now: datetime) -> Ticket:
    """A ticket action (resolve, tag, assign) taken by a rule; once per request. A change the
    ticket refuses (too many tags) does nothing and the ticket records why."""
    if rule.id in ticket.rules_applied:
        return ticket
    actor, a = rule_actor(rule), rule.action
    try:
        match a.kind:
            case RuleActionKind.RESOLVE_TICKET:
                return set_status(ticket, TicketStatus.RESOLVED, actor, now, rule.ref)
            case RuleActionKind.TAG if a.tag:
                return tag(ticket, a.tag, actor, now, rule.ref)
            case RuleActionKind.ASSIGN if a.assignee:
                return assign(ticket, a.assignee, actor, now, rule.ref)
    except DomainError as err:
        return rule_skipped(ticket, rule.ref, why_refused(err), actor, now)
    raise ValueError(f"{a.kind.value} is a decision: the request's service takes it")

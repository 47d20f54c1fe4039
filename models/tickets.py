"""The helpdesk view (H1): a ticket for every request the seller's team has to see.

A ticket is generic over "a request": a cancellation or an after-sale request (refund only, return
and refund, replacement) is described to it by `RequestFacts`, built by models/ticket_facts.py.
The ticket keeps the request's facts as they now are (written in the same transaction as every
request move), the team's own state (status, assignee, tags, internal notes) and a timeline of
every change to the ticket, each naming who made it: an agent, the platform, or a rule.

Choices where DOMAIN.md is silent (what the helpdesk of seed 003 does):

- A request that waits for the seller opens a request ticket (subject by kind). A request the
  platform made or finished on its own (C8 system cancellation, R10 platform or instant refund)
  opens a notification ticket: OPEN, so the team sees it, until someone or a rule resolves it.
- No ticket for what needs nobody: the buyer's cancellation inside the unconditional window (C1:
  "your team won't need to do anything") and the seller's own cancellation or refund (C7, R9: the
  agent who did it already knows).
- The ticket's status follows its request's moves: waiting for the seller is OPEN, under way
  elsewhere (an approved return in transit, a rejection the buyer may appeal) is PENDING, final is
  RESOLVED. An agent may set the status by hand in between; the next move of the request wins.
  A ticket whose request is final cannot be reopened (there is nothing left to decide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from models.actors import Actor, ActorKind
from models.errors import DomainError, InvalidTransition, ValidationFailed
from models.money import Money
from models.request_kinds import PROFILES
from models.requests import RequestKind

MAX_TAGS = 10
NOTE_MAX_LENGTH = 2000
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_AGENT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class RequestInitiator(Enum):
    BUYER = "BUYER"
    SELLER = "SELLER"
    PLATFORM = "PLATFORM"  # a system cancellation (C8) or a platform refund (R10)


class RequestPhase(Enum):
    """Where a request is, as far as the seller's team is concerned."""

    WAITING_FOR_SELLER = "WAITING_FOR_SELLER"
    IN_PROCESS = "IN_PROCESS"  # someone else acts next: the buyer, the carrier, the mediator
    FINAL = "FINAL"  # nothing can move it any more


class TicketStatus(Enum):
    OPEN = "OPEN"
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"


class TicketType(Enum):
    REQUEST = "REQUEST"  # the team decides (H1)
    NOTIFICATION = "NOTIFICATION"  # the platform already did it; the team is told (H1, C8, R10)


STATUS_OF_PHASE = {
    RequestPhase.WAITING_FOR_SELLER: TicketStatus.OPEN,
    RequestPhase.IN_PROCESS: TicketStatus.PENDING,
    RequestPhase.FINAL: TicketStatus.RESOLVED,
}


@dataclass(frozen=True)
class RequestFacts:
    """What a ticket and its rules know of a request, whatever its kind."""

    request_id: str
    kind: RequestKind
    order_id: str
    shop_id: str
    buyer_id: str
    initiator: RequestInitiator
    reason: str
    categories: tuple[str, ...]  # the product categories of the lines asked about
    amount: Money  # the value asked about: the items' price (what a full refund would pay)
    status: str  # the request's own status, as its API shows it
    phase: RequestPhase
    deadline: datetime | None  # the next deadline on the request, if any
    requested_at: datetime


class TicketAction(Enum):
    OPENED = "OPENED"
    REQUEST_MOVED = "REQUEST_MOVED"
    ASSIGNED = "ASSIGNED"
    UNASSIGNED = "UNASSIGNED"
    TAGGED = "TAGGED"
    UNTAGGED = "UNTAGGED"
    NOTE_ADDED = "NOTE_ADDED"
    STATUS_SET = "STATUS_SET"
    RULE_SKIPPED = "RULE_SKIPPED"  # a rule matched but did nothing; `detail` says why


@dataclass(frozen=True)
class TicketRecord:
    at: datetime
    actor_kind: ActorKind
    actor_id: str
    action: TicketAction
    detail: str | None = None
    rule_id: str | None = None  # set when a rule made the change (H2)
    rule_name: str | None = None


@dataclass(frozen=True)
class Note:
    """An internal note: seen by the shop's team only, never by the buyer."""

    at: datetime
    author_id: str
    text: str


@dataclass(frozen=True)
class RuleRef:
    """A rule acting: its id and name go on every record it causes."""

    id: str
    name: str


@dataclass(frozen=True)
class Ticket:
    id: str
    type: TicketType
    subject: str
    facts: RequestFacts
    status: TicketStatus
    opened_at: datetime
    assignee: str | None = None
    tags: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    rules_applied: tuple[str, ...] = ()  # the rules that acted or were skipped: each runs once
    rules_due: bool = True  # the rules have not run on the new request yet (see services)
    timeline: tuple[TicketRecord, ...] = ()
    version: int = 0

    @property
    def shop_id(self) -> str:
        return self.facts.shop_id

    @property
    def request_final(self) -> bool:
        return self.facts.phase is RequestPhase.FINAL


def ticket_type_for(facts: RequestFacts) -> TicketType | None:
    """H1: which ticket a new request opens, if any (the module docstring says why)."""
    if facts.initiator is RequestInitiator.SELLER:
        return None
    if facts.phase is not RequestPhase.FINAL:
        return TicketType.REQUEST
    if facts.initiator is RequestInitiator.BUYER and facts.kind is RequestKind.CANCELLATION:
        return None  # C1: cancelled at once, nobody has anything to do
    return TicketType.NOTIFICATION


def _record(
    actor: Actor,
    action: TicketAction,
    now: datetime,
    detail: str | None = None,
    rule: RuleRef | None = None,
) -> TicketRecord:
    return TicketRecord(
        now,
        actor.kind,
        actor.id,
        action,
        detail,
        rule.id if rule else None,
        rule.name if rule else None,
    )


def _with(t: Ticket, record: TicketRecord, **changes: object) -> Ticket:
    return replace(t, timeline=(*t.timeline, record), **changes)  # type: ignore[arg-type]


def _applied(t: Ticket, rule: RuleRef | None) -> tuple[str, ...]:
    if rule is None or rule.id in t.rules_applied:
        return t.rules_applied
    return (*t.rules_applied, rule.id)


def open_ticket(facts: RequestFacts, actor: Actor, new_id: str, now: datetime) -> Ticket | None:
    """H1: the ticket a new request opens (None: this request needs no ticket)."""
    kind = ticket_type_for(facts)
    if kind is None:
        return None
    profile = PROFILES[facts.kind]
    record = _record(actor, TicketAction.OPENED, now, f"{facts.kind.value} {facts.status}")
    return Ticket(
        id=new_id,
        type=kind,
        subject=(
            profile.ticket_subject if kind is TicketType.REQUEST else profile.notice_ticket_subject
        ),
        facts=facts,
        status=TicketStatus.OPEN,
        opened_at=now,
        timeline=(record,),
    )


def follow_request(
    t: Ticket, facts: RequestFacts, actor: Actor, now: datetime, rule: RuleRef | None = None
) -> Ticket:
    """The request moved: the ticket shows its new state, and its status follows the phase
    (a final request resolves its ticket). A rule's decision is recorded as the rule's."""
    if facts.request_id != t.facts.request_id:
        raise ValueError(f"ticket {t.id} is for {t.facts.request_id}, not {facts.request_id}")
    if facts == t.facts:
        return t
    detail = f"{t.facts.status} -> {facts.status}"
    record = _record(actor, TicketAction.REQUEST_MOVED, now, detail, rule)
    status = STATUS_OF_PHASE[facts.phase] if facts.phase != t.facts.phase else t.status
    return _with(t, record, facts=facts, status=status, rules_applied=_applied(t, rule))


def clean_tag(tag: str) -> str:
    tag = tag.strip().lower()
    if not _TAG.match(tag):
        raise ValidationFailed(
            "a tag is 1 to 32 characters: letters, digits, '-' or '_', starting with a letter "
            "or digit",
            field="tag",
        )
    return tag


def clean_agent_id(agent_id: str, field: str = "assignee") -> str:
    agent_id = agent_id.strip()
    if not _AGENT.match(agent_id):
        raise ValidationFailed(
            "an agent id is 1 to 64 letters, digits, '.', '-' or '_'", field=field
        )
    return agent_id


def assign(
    t: Ticket, assignee: str | None, actor: Actor, now: datetime, rule: RuleRef | None = None
) -> Ticket:
    """Give the ticket to an agent of the shop (the service checks the roster), or to nobody."""
    if assignee == t.assignee:
        return replace(t, rules_applied=_applied(t, rule))
    action = TicketAction.ASSIGNED if assignee else TicketAction.UNASSIGNED
    record = _record(actor, action, now, assignee, rule)
    return _with(t, record, assignee=assignee, rules_applied=_applied(t, rule))


def tag(t: Ticket, tag_: str, actor: Actor, now: datetime, rule: RuleRef | None = None) -> Ticket:
    tag_ = clean_tag(tag_)
    if tag_ in t.tags:
        return replace(t, rules_applied=_applied(t, rule))
    if len(t.tags) >= MAX_TAGS:
        raise ValidationFailed(f"a ticket has at most {MAX_TAGS} tags", field="tag")
    record = _record(actor, TicketAction.TAGGED, now, tag_, rule)
    return _with(t, record, tags=(*t.tags, tag_), rules_applied=_applied(t, rule))


def untag(t: Ticket, tag_: str, actor: Actor, now: datetime) -> Ticket:
    tag_ = clean_tag(tag_)
    if tag_ not in t.tags:
        return t
    record = _record(actor, TicketAction.UNTAGGED, now, tag_)
    return _with(t, record, tags=tuple(x for x in t.tags if x != tag_))


def add_note(t: Ticket, text: str, actor: Actor, now: datetime) -> Ticket:
    text = text.strip()
    if not 1 <= len(text) <= NOTE_MAX_LENGTH:
        raise ValidationFailed(f"a note is 1 to {NOTE_MAX_LENGTH} characters", field="text")
    note = Note(now, actor.id, text)
    record = _record(actor, TicketAction.NOTE_ADDED, now)
    return _with(t, record, notes=(*t.notes, note))


def set_status(
    t: Ticket, status: TicketStatus, actor: Actor, now: datetime, rule: RuleRef | None = None
) -> Ticket:
    """An agent (or a rule) moves the ticket; a final request's ticket stays resolved."""
    if (
        status is not TicketStatus.RESOLVED
        and t.request_final
        and t.status is TicketStatus.RESOLVED
    ):
        raise InvalidTransition(
            f"ticket {t.id} is resolved and its request is {t.facts.status}: nothing is left "
            "to decide",
            current_state=t.status.value,
            field="status",
        )
    if status is t.status:
        return replace(t, rules_applied=_applied(t, rule))
    record = _record(
        actor, TicketAction.STATUS_SET, now, f"{t.status.value} -> {status.value}", rule
    )
    return _with(t, record, status=status, rules_applied=_applied(t, rule))


def rule_skipped(t: Ticket, rule: RuleRef, why: str, actor: Actor, now: datetime) -> Ticket:
    """H2: a rule that matched but would break a domain rule does nothing, and says why."""
    if rule.id in t.rules_applied:
        return t
    record = _record(actor, TicketAction.RULE_SKIPPED, now, why, rule)
    return _with(t, record, rules_applied=(*t.rules_applied, rule.id))


def why_refused(err: DomainError) -> str:
    return f"{err.code}: {err.message}"

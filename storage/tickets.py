"""Tickets in MongoDB: one document each, its notes and timeline embedded.

Agents list a shop's tickets by any mix of status, assignee, kind and one tag, oldest deadline
first. SecantusDB's planner uses an index only for an equality prefix plus one range, so each
ticket carries `facets`: one string per combination of its filter values ("s=OPEN|t=vip", "ALL"
for none), and every list is `{shop_id, facets: <combination>, k_deadline: range}` on one index.
A ticket has 8 x (1 + tags) facets (at most 88 with MAX_TAGS); tests/integration/test_indexes.py
checks the plans.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import combinations

from models.actors import ActorKind
from models.tickets import (
    Note,
    RequestFacts,
    RequestInitiator,
    RequestKind,
    RequestPhase,
    Ticket,
    TicketAction,
    TicketRecord,
    TicketStatus,
    TicketType,
)
from storage.batch_writes import insert_at_commit
from storage.documents import Doc, money_doc, money_from
from storage.keys import ALL, sort_key
from storage.mongo import Database, Session, find_in
from storage.pagination import Page, SortOrder, fetch_page
from storage.request_store import save_changes

DEADLINE_SOONEST = SortOrder("DEADLINE_SOONEST", "k_deadline", 1)
UNASSIGNED = ""  # the assignee facet of a ticket nobody has


@dataclass(frozen=True)
class TicketFilter:
    status: TicketStatus | None = None
    assignee: str | None = None  # UNASSIGNED: tickets nobody has
    kind: RequestKind | None = None
    tag: str | None = None

    def without_status(self) -> TicketFilter:
        return replace(self, status=None)


def facet(f: TicketFilter) -> str:
    parts = []
    if f.status is not None:
        parts.append(f"s={f.status.value}")
    if f.assignee is not None:
        parts.append(f"a={f.assignee}")
    if f.kind is not None:
        parts.append(f"k={f.kind.value}")
    if f.tag is not None:
        parts.append(f"t={f.tag}")
    return "|".join(parts) or ALL


def facets_of(t: Ticket) -> list[str]:
    """`facet(f)` of every filter `f` the ticket matches, in a fixed order. Built from strings
    (the parts in facet()'s order) because every ticket write computes it."""
    parts = [f"s={t.status.value}", f"a={t.assignee or UNASSIGNED}", f"k={t.facts.kind.value}"]
    keys = []
    for size in range(len(parts) + 1):
        for combo in combinations(parts, size):
            base = "|".join(combo)
            keys.append(base or ALL)
            keys += [f"{base}|t={tag}" if base else f"t={tag}" for tag in t.tags]
    return keys


def list_query(shop_id: str, f: TicketFilter) -> Doc:
    return {"shop_id": shop_id, "facets": facet(f)}


def _facts_doc(f: RequestFacts) -> Doc:
    return {
        "request_id": f.request_id,
        "request_kind": f.kind.value,
        "order_id": f.order_id,
        "shop_id": f.shop_id,
        "buyer_id": f.buyer_id,
        "initiator": f.initiator.value,
        "reason": f.reason,
        "categories": list(f.categories),
        "amount": money_doc(f.amount),
        "request_status": f.status,
        "request_phase": f.phase.value,
        "deadline": f.deadline,
        "requested_at": f.requested_at,
    }


def _facts_from(d: Doc) -> RequestFacts:
    return RequestFacts(
        request_id=d["request_id"],
        kind=RequestKind(d["request_kind"]),
        order_id=d["order_id"],
        shop_id=d["shop_id"],
        buyer_id=d["buyer_id"],
        initiator=RequestInitiator(d["initiator"]),
        reason=d["reason"],
        categories=tuple(d["categories"]),
        amount=money_from(d["amount"]),
        status=d["request_status"],
        phase=RequestPhase(d["request_phase"]),
        deadline=d.get("deadline"),
        requested_at=d["requested_at"],
    )


def _record_doc(r: TicketRecord) -> Doc:
    return {
        "at": r.at,
        "actor_kind": r.actor_kind.value,
        "actor_id": r.actor_id,
        "action": r.action.value,
        "detail": r.detail,
        "rule_id": r.rule_id,
        "rule_name": r.rule_name,
    }


def _record_from(d: Doc) -> TicketRecord:
    return TicketRecord(
        at=d["at"],
        actor_kind=ActorKind(d["actor_kind"]),
        actor_id=d["actor_id"],
        action=TicketAction(d["action"]),
        detail=d.get("detail"),
        rule_id=d.get("rule_id"),
        rule_name=d.get("rule_name"),
    )


def ticket_doc(t: Ticket) -> Doc:
    return {
        "_id": t.id,
        "type": t.type.value,
        "subject": t.subject,
        **_facts_doc(t.facts),
        "status": t.status.value,
        "opened_at": t.opened_at,
        "assignee": t.assignee,
        "tags": list(t.tags),
        "notes": [{"at": n.at, "author_id": n.author_id, "text": n.text} for n in t.notes],
        "rules_applied": list(t.rules_applied),
        # Only while true, so the partial `rules_due` index holds just the tickets to sweep.
        "rules_due": True if t.rules_due else None,
        "timeline": [_record_doc(r) for r in t.timeline],
        "k_deadline": sort_key(t.facts.deadline, t.id),
        "facets": facets_of(t),
        "version": t.version,
    }


def ticket_from(d: Doc) -> Ticket:
    return Ticket(
        id=d["_id"],
        type=TicketType(d["type"]),
        subject=d["subject"],
        facts=_facts_from(d),
        status=TicketStatus(d["status"]),
        opened_at=d["opened_at"],
        assignee=d.get("assignee"),
        tags=tuple(d.get("tags", [])),
        notes=tuple(Note(n["at"], n["author_id"], n["text"]) for n in d.get("notes", [])),
        rules_applied=tuple(d.get("rules_applied", [])),
        rules_due=bool(d.get("rules_due")),
        timeline=tuple(_record_from(r) for r in d.get("timeline", [])),
        version=d.get("version", 0),
    )


async def get(db: Database, ticket_id: str, session: Session | None = None) -> Ticket | None:
    doc = await db.tickets.find_one({"_id": ticket_id}, session=session)
    return ticket_from(doc) if doc else None


async def for_request(
    db: Database, request_id: str, session: Session | None = None
) -> Ticket | None:
    doc = await db.tickets.find_one({"request_id": request_id}, session=session)
    return ticket_from(doc) if doc else None


async def get_many(db: Database, ticket_ids: list[str]) -> dict[str, Ticket]:
    return {d["_id"]: ticket_from(d) for d in await find_in(db.tickets, "_id", ticket_ids)}


async def for_requests(
    db: Database, request_ids: list[str], session: Session | None = None
) -> dict[str, Ticket]:
    found = await find_in(db.tickets, "request_id", request_ids, session)
    return {d["request_id"]: ticket_from(d) for d in found}


async def insert_many(db: Database, tickets: list[Ticket], session: Session) -> None:
    if tickets:
        docs = [ticket_doc(t) for t in tickets]
        if not insert_at_commit(db, db.tickets, docs, session):
            await db.tickets.insert_many(docs, session=session)


async def save_many(
    db: Database, changes: list[tuple[Ticket, Ticket]], session: Session
) -> list[Ticket]:
    """Each ticket from the state read in this transaction to its new state, if it changed: the
    transaction is the compare-and-set (a concurrent change makes it rerun), as for requests."""
    changed = [(b, a) for b, a in changes if a != b]
    saved = {t.id: t for t in await save_changes(db.tickets, ticket_doc, changed, session)}
    return [saved.get(a.id, a) for _, a in changes]


async def page(
    db: Database, shop_id: str, f: TicketFilter, first: int, after: str | None
) -> tuple[list[Ticket], Page]:
    result = await fetch_page(db.tickets, list_query(shop_id, f), DEADLINE_SOONEST, first, after)
    return [ticket_from(d) for d in result.docs], result


async def count(db: Database, shop_id: str, f: TicketFilter) -> int:
    return await db.tickets.count_documents(list_query(shop_id, f))


async def current(db: Database, shop_id: str, limit: int) -> list[Ticket]:
    """The shop's tickets not resolved yet, oldest deadline first (the dry run's candidates)."""
    open_ = [
        list_query(shop_id, TicketFilter(status=s))
        for s in (TicketStatus.OPEN, TicketStatus.PENDING)
    ]
    found: list[Ticket] = []
    for query in open_:
        docs = await db.tickets.find(query).sort(DEADLINE_SOONEST.spec).limit(limit).to_list(None)
        found += [ticket_from(d) for d in docs]
    found.sort(key=lambda t: sort_key(t.facts.deadline, t.id))
    return found[:limit]


async def rules_due(
    db: Database, opened_before: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """Tickets whose rules have not run yet (the process that opened them stopped first)."""
    before = {"$lt": opened_before + timedelta(milliseconds=1)}
    found = db.tickets.find({"rules_due": True, "opened_at": before}, {"opened_at": 1})
    docs = await found.sort([("opened_at", 1)]).limit(limit).to_list(None)
    return [(d["_id"], d["opened_at"]) for d in docs]

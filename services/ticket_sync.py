"""The seam between request services and the helpdesk (H1): call it from a write path.

Every request service (cancellations here; the after-sale service the same way) calls
`on_requests_written` from its one write path, inside its transaction, with the facts of every
request it creates or moves. A new request opens its ticket; a moved request moves its ticket
(status, live state, next deadline). The request, its record and its ticket land together or not
at all, and so do the ticket's events on the live feed (H3). A move made by a rule (actor
`rule.<id>`, see models/ticket_rules.rule_actor) is recorded on the ticket as that rule's, and
counts as the rule's one run on the request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bson import ObjectId

from models import events
from models.actors import Actor, ActorKind
from models.tickets import RequestFacts, RuleRef, Ticket, follow_request, open_ticket
from storage import events as event_log
from storage import ticket_rules as rule_store
from storage import tickets as ticket_store
from storage.mongo import Database, Session

log = logging.getLogger("aftersales.helpdesk")

# Runs the helpdesk rules on new requests (services/tickets.py); returns the ids of the requests
# a rule decided, so the caller shows their new state. Wired by services/bootstrap.py.
AfterCreate = Callable[[list[str]], Awaitable[set[str]]]


async def run_rules_after_create(after_create: AfterCreate | None, ids: list[str]) -> set[str]:
    """H2: the shop's rules on new requests, right after the transaction that created them.
    Their failure never undoes the request: the ticket keeps `rules_due` and the deadline worker
    runs them again."""
    if after_create is None or not ids:
        return set()
    try:
        return await after_create(ids)
    except Exception:
        log.exception("helpdesk rules failed on %s; the deadline worker retries", ids)
        return set()


RULE_ACTOR_PREFIX = "rule."


@dataclass(frozen=True)
class RequestChange:
    facts: RequestFacts  # the request as it now is (models/ticket_facts.py builds these)
    created: bool  # True: this write creates the request


def new_ticket_id() -> str:
    return f"tkt_{ObjectId()}"


async def _rule_acting(db: Database, actor: Actor, session: Session) -> RuleRef | None:
    if actor.kind is not ActorKind.SELLER_AGENT or not actor.id.startswith(RULE_ACTOR_PREFIX):
        return None
    rule_id = actor.id.removeprefix(RULE_ACTOR_PREFIX)
    rule = await rule_store.get(db, rule_id, session)
    return RuleRef(rule_id, rule.name if rule else rule_id)


async def on_requests_written(
    db: Database,
    session: Session,
    actor: Actor,
    changes: Sequence[RequestChange],
    now: datetime,
) -> list[Ticket]:
    """Open the tickets of new requests and move those of moved ones, in the caller's
    transaction. Returns the tickets written."""
    opened = [
        t
        for ch in changes
        if ch.created and (t := open_ticket(ch.facts, actor, new_ticket_id(), now)) is not None
    ]
    if opened:
        # H2: in a shop with no rule, a new ticket has no rules due, and nothing runs after the
        # commit (services/tickets.py::run_rules_for_requests finds nothing to do).
        with_rules = await rule_store.shops_with_rules(
            db, sorted({t.shop_id for t in opened}), session
        )
        opened = [replace(t, rules_due=t.shop_id in with_rules) for t in opened]
    await ticket_store.insert_many(db, opened, session)
    # H3: each ticket change on the shop's live feed, in this transaction (after the request's
    # own events, which the caller appends first; one numbering orders both).
    ticket_events = [e for t in opened for e in events.of_ticket(None, t)]
    moved = [ch.facts for ch in changes if not ch.created]
    if not moved:
        await event_log.append_many(db, ticket_events, session)
        return opened
    found = await ticket_store.for_requests(db, [f.request_id for f in moved], session)
    rule = await _rule_acting(db, actor, session)
    pairs = [
        (found[f.request_id], follow_request(found[f.request_id], f, actor, now, rule))
        for f in moved
        if f.request_id in found
    ]
    saved = await ticket_store.save_many(db, pairs, session)
    ticket_events += [
        e
        for (before, _), after in zip(pairs, saved, strict=True)
        for e in events.of_ticket(before, after)
    ]
    await event_log.append_many(db, ticket_events, session)
    return opened + saved

"""Helpdesk use cases (H1, H2): tickets, the shop's agents, rules, and the rules engine.

Tickets are opened and moved by the request services themselves (services/ticket_sync.py).
Here: reading and editing tickets, deciding from a ticket (delegated to the request's own
service: the ticket's decision becomes the request's own command, models/commands.py, so the
same rules and permission apply), rules CRUD, the dry run,
and running the rules on a new request.

When rules run: right after the transaction that created the request, not inside it. A rule that
approves then goes through the very path a human's approval takes (its own transaction, the
compare-and-set on the request), so a rule racing a human has exactly one outcome, and the buyer's
request is never slowed, enlarged or undone by a rule. The ticket is opened with `rules_due` in
the request's transaction; the engine clears it when done, and the deadline worker runs the rules
of any ticket still due (a process stopped in between). A rule runs at most once per request
whoever runs it: ticket actions check `rules_applied` in the ticket's transaction; decisions carry
an idempotency key per rule and request, and the request's write marks the rule applied.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bson import ObjectId

from models import access, events
from models.actors import Actor
from models.clock import Clock
from models.commands import (
    ApprovalTerms,
    ApproveFromTicket,
    RejectFromTicket,
    TicketCommand,
    approval,
    partial_refund,
    rejection,
)
from models.errors import DomainError, NotFound
from models.money import Money
from models.ticket_rules import (
    HISTORY_WINDOW,
    MAX_RULES_PER_SHOP,
    PARTIAL_REFUND_KINDS,
    Condition,
    InvalidRule,
    Preview,
    Rule,
    RuleAction,
    RuleActionKind,
    RuleProblem,
    apply_ticket_rule,
    dry_run,
    rule_actor,
    rules_to_run,
    validate_rule,
)
from models.tickets import (
    RequestFacts,
    Ticket,
    TicketStatus,
    add_note,
    assign,
    clean_agent_id,
    rule_skipped,
    set_status,
    tag,
    untag,
    why_refused,
)
from services.commands import Handle
from storage import agents as agent_store
from storage import events as event_log
from storage import orders as order_store
from storage import ticket_rules as rule_store
from storage import tickets as ticket_store
from storage.mongo import Database, Session
from storage.pagination import Page
from storage.tickets import TicketFilter

log = logging.getLogger("aftersales.helpdesk")

DRY_RUN_LIMIT = 500  # current tickets a dry run looks at, oldest deadline first


# The buyer's requests to a shop, every kind, requested in [since, before)
# (services/buyer_history.py).
HistoryCounter = Callable[[Database, str, str, datetime, datetime], Awaitable[int]]


@dataclass(frozen=True)
class RuleDraft:
    name: str
    position: int
    enabled: bool
    condition: Condition
    action: RuleAction


def new_rule_id() -> str:
    return f"rul_{ObjectId()}"


class HelpdeskService:
    def __init__(
        self, db: Database, clock: Clock, requests: Handle, history: HistoryCounter
    ) -> None:
        self.db = db
        self.clock = clock
        # Decisions from a ticket or a rule go to the request's own service as its command.
        self.requests = requests
        self.history = history

    def _now(self) -> datetime:
        return self.clock.now()

    # ---- tickets -------------------------------------------------------------------------

    async def get(self, actor: Actor, ticket_id: str) -> Ticket:
        t = await ticket_store.get(self.db, ticket_id)
        if t is None:
            raise NotFound(f"no ticket {ticket_id}", field="id")
        access.require_team_view(actor, t.shop_id, f"ticket {ticket_id}")
        return t

    async def for_request(self, actor: Actor, request_id: str) -> Ticket | None:
        """The ticket a request opened (None: it opened none), for the shop's team."""
        t = await ticket_store.for_request(self.db, request_id)
        if t is None:
            return None
        if not access.can_team_view(actor, t.shop_id):
            return None  # as for a request that opened none, or an unknown id
        return t

    async def page(
        self, actor: Actor, shop_id: str | None, f: TicketFilter, first: int, after: str | None
    ) -> tuple[list[Ticket], Page]:
        shop = access.team_shop(actor, shop_id)
        return await ticket_store.page(self.db, shop, f, first, after)

    async def counts(
        self, actor: Actor, shop_id: str | None, f: TicketFilter
    ) -> dict[TicketStatus | None, int]:
        """The count of every status under the other filters (None: all statuses)."""
        shop = access.team_shop(actor, shop_id)
        base = f.without_status()
        counts: dict[TicketStatus | None, int] = {
            s: await ticket_store.count(self.db, shop, replace(base, status=s))
            for s in TicketStatus
        }
        counts[None] = sum(counts.values())
        return counts

    async def _edit(
        self, ticket_id: str, change: Callable[[Ticket], Ticket], shop_id: str | None
    ) -> Ticket:
        """`shop_id`: the shop the ticket should be of, to queue behind its other writes."""

        async def work(session: Session) -> Ticket:
            t = await ticket_store.get(self.db, ticket_id, session)
            if t is None:
                raise NotFound(f"no ticket {ticket_id}", field="ticketId")
            [saved] = await ticket_store.save_many(self.db, [(t, change(t))], session)
            # H3: the change on the shop's live feed, in the same transaction.
            await event_log.append_many(self.db, events.of_ticket(t, saved), session)
            return saved

        return await self.db.transaction(work, serial=shop_id)

    async def _agent_edit(
        self, actor: Actor, ticket_id: str, change: Callable[[Ticket, datetime], Ticket]
    ) -> Ticket:
        def checked(t: Ticket) -> Ticket:
            access.require_team_view(actor, t.shop_id, f"ticket {ticket_id}", "ticketId")
            access.require_shop_agent(actor, t.shop_id)
            return change(t, self._now())

        return await self._edit(ticket_id, checked, actor.shop_id)

    async def assign(self, actor: Actor, ticket_id: str, assignee: str | None) -> Ticket:
        if assignee is not None:
            assignee = clean_agent_id(assignee)
            shop = (await self.get(actor, ticket_id)).shop_id
            access.require_shop_agent(actor, shop)
            if not await agent_store.is_agent(self.db, shop, assignee):
                raise NotFound(f"{assignee} is not an agent of shop {shop}", field="assignee")
        return await self._agent_edit(
            actor, ticket_id, lambda t, now: assign(t, assignee, actor, now)
        )

    async def tag(self, actor: Actor, ticket_id: str, tag_: str) -> Ticket:
        return await self._agent_edit(actor, ticket_id, lambda t, now: tag(t, tag_, actor, now))

    async def untag(self, actor: Actor, ticket_id: str, tag_: str) -> Ticket:
        return await self._agent_edit(actor, ticket_id, lambda t, now: untag(t, tag_, actor, now))

    async def add_note(self, actor: Actor, ticket_id: str, text: str) -> Ticket:
        return await self._agent_edit(
            actor, ticket_id, lambda t, now: add_note(t, text, actor, now)
        )

    async def set_status(self, actor: Actor, ticket_id: str, status: TicketStatus) -> Ticket:
        return await self._agent_edit(
            actor, ticket_id, lambda t, now: set_status(t, status, actor, now)
        )

    async def handle(self, actor: Actor, command: TicketCommand, key: str | None = None) -> Ticket:
        """A decision from a ticket: the same decision as on the request (same rules, same
        permission); the request's write moves the ticket in the same transaction."""
        t = await self.get(actor, command.ticket_id)
        kind, request_id = t.facts.kind, t.facts.request_id
        match command:
            case ApproveFromTicket():
                await self.requests(actor, approval(kind, request_id, command.terms), key)
            case RejectFromTicket():
                decision = rejection(kind, request_id, command.reason, command.comment)
                await self.requests(actor, decision, key)
            case _:
                raise TypeError(f"not a ticket command: {command!r}")
        return await self.get(actor, command.ticket_id)

    # ---- the shop's agents ---------------------------------------------------------------

    async def add_agent(self, actor: Actor, shop_id: str | None, agent_id: str) -> list[str]:
        shop = access.rules_shop(actor, shop_id)
        await agent_store.add(self.db, shop, clean_agent_id(agent_id, "agentId"), self._now())
        return await agent_store.of_shop(self.db, shop)

    async def remove_agent(self, actor: Actor, shop_id: str | None, agent_id: str) -> list[str]:
        shop = access.rules_shop(actor, shop_id)
        await agent_store.remove(self.db, shop, clean_agent_id(agent_id, "agentId"))
        return await agent_store.of_shop(self.db, shop)

    async def agents(self, actor: Actor, shop_id: str | None) -> list[str]:
        return await agent_store.of_shop(self.db, access.team_shop(actor, shop_id))

    # ---- rules ---------------------------------------------------------------------------

    async def rules(self, actor: Actor, shop_id: str | None) -> list[Rule]:
        return await rule_store.for_shop(self.db, access.team_shop(actor, shop_id))

    async def _valid(self, rule: Rule, session: Session | None = None) -> Rule:
        rule = validate_rule(rule)
        a = rule.action
        if (
            a.kind is RuleActionKind.ASSIGN
            and a.assignee
            and not await agent_store.is_agent(self.db, rule.shop_id, a.assignee, session)
        ):
            raise InvalidRule(
                RuleProblem.UNKNOWN_AGENT,
                f"{a.assignee} is not an agent of shop {rule.shop_id}",
                field="action.assignee",
            )
        return rule

    def _rule(self, actor: Actor, shop: str, rule_id: str, d: RuleDraft) -> Rule:
        return Rule(
            rule_id,
            shop,
            d.name,
            d.position,
            d.enabled,
            d.condition,
            d.action,
            actor.id,
            self._now(),
        )

    async def create_rule(self, actor: Actor, shop_id: str | None, draft: RuleDraft) -> Rule:
        shop = access.rules_shop(actor, shop_id)

        async def work(session: Session) -> Rule:
            rule = await self._valid(self._rule(actor, shop, new_rule_id(), draft), session)
            if await rule_store.count(self.db, shop, session) >= MAX_RULES_PER_SHOP:
                raise InvalidRule(
                    RuleProblem.TOO_MANY_RULES,
                    f"a shop has at most {MAX_RULES_PER_SHOP} rules",
                    field="shopId",
                )
            return await rule_store.insert(self.db, rule, session)

        return await self.db.transaction(work)

    async def update_rule(self, actor: Actor, rule_id: str, draft: RuleDraft) -> Rule:
        async def work(session: Session) -> Rule:
            before = await self._existing_rule(actor, rule_id, session)
            rule = await self._valid(self._rule(actor, before.shop_id, rule_id, draft), session)
            return await rule_store.replace_rule(self.db, before, rule, session)

        return await self.db.transaction(work)

    async def delete_rule(self, actor: Actor, rule_id: str) -> Rule:
        async def work(session: Session) -> Rule:
            rule = await self._existing_rule(actor, rule_id, session)
            await rule_store.delete(self.db, rule_id, session)
            return rule

        return await self.db.transaction(work)

    async def _existing_rule(self, actor: Actor, rule_id: str, session: Session) -> Rule:
        rule = await rule_store.get(self.db, rule_id, session)
        if rule is None:
            raise NotFound(f"no rule {rule_id}", field="ruleId")
        access.require_rules_writer(actor, rule.shop_id, f"rule {rule_id}")
        return rule

    async def dry_run(self, actor: Actor, shop_id: str | None, draft: RuleDraft) -> list[Preview]:
        """H2: which of the shop's current (unresolved) tickets the rule would act on, and how.
        The rule is checked as if saved; nothing is written."""
        shop = access.rules_shop(actor, shop_id)
        rule = await self._valid(self._rule(actor, shop, "dry-run", draft))
        current = await ticket_store.current(self.db, shop, DRY_RUN_LIMIT)
        histories: dict[tuple[str, datetime], int] = {}
        if rule.condition.buyer_requests_over is not None:
            for t in current:
                at = (t.facts.buyer_id, t.facts.requested_at)
                if at not in histories:
                    histories[at] = await self._history(t.facts)
        items = [(t, histories.get((t.facts.buyer_id, t.facts.requested_at), 0)) for t in current]
        return dry_run(rule, items, self._now(), await self._refundable(rule, current))

    async def _refundable(self, rule: Rule, tickets: list[Ticket]) -> dict[str, Money]:
        """What is left to refund on the orders of the after-sale requests a paying rule would
        decide (the refund ledger, R7): one batched read, only when the rule pays money."""
        a = rule.action
        if not (a.kind is RuleActionKind.OFFER_PARTIAL_REFUND or a.kind is RuleActionKind.APPROVE):
            return {}
        order_ids = sorted(
            {t.facts.order_id for t in tickets if t.facts.kind in PARTIAL_REFUND_KINDS}
        )
        if not order_ids:
            return {}
        orders = (await order_store.with_ledgers(self.db, order_ids)).values()
        return {o.id: ledger.refundable_total(o) for o, ledger in orders}

    # ---- the rules engine ----------------------------------------------------------------

    async def _history(self, facts: RequestFacts) -> int:
        """The buyer's earlier requests to the shop within HISTORY_WINDOW, every kind."""
        since = facts.requested_at - HISTORY_WINDOW
        return await self.history(self.db, facts.shop_id, facts.buyer_id, since, facts.requested_at)

    async def run_rules_for_requests(self, request_ids: list[str]) -> set[str]:
        """H2 on new requests; returns the ids of those a rule decided."""
        found = await ticket_store.for_requests(self.db, request_ids, None)
        decided: set[str] = set()
        for request_id in request_ids:
            t = found.get(request_id)
            if t is not None and t.rules_due and await self._run(t):
                decided.add(request_id)
        return decided

    async def run_rules_for_tickets(self, ticket_ids: list[str]) -> list[str]:
        """The deadline worker's sweep: tickets whose rules did not run."""
        found = await ticket_store.get_many(self.db, ticket_ids)
        done = []
        for ticket_id in ticket_ids:
            t = found.get(ticket_id)
            if t is not None and t.rules_due:
                await self._run(t)
                done.append(ticket_id)
        return done

    async def _run(self, t: Ticket) -> bool:
        rules = await rule_store.for_shop(self.db, t.shop_id)
        needs_history = any(r.condition.buyer_requests_over is not None for r in rules)
        history = await self._history(t.facts) if needs_history else 0
        decided = False
        for rule in rules_to_run(rules, t, history):
            a = rule.action
            if a.kind.is_decision:
                decided = await self._decide(t, rule) or decided
            elif (
                a.kind is RuleActionKind.ASSIGN
                and a.assignee
                and not await agent_store.is_agent(self.db, t.shop_id, a.assignee)
            ):  # removed from the shop since the rule was saved
                why = f"UNKNOWN_AGENT: {a.assignee} is no longer an agent of shop {t.shop_id}"
                await self._edit(t.id, _skipped(rule, why, self._now()), t.shop_id)
            else:
                await self._edit(t.id, _ticket_rule(rule, self._now()), t.shop_id)
        await self._edit(t.id, _rules_done, t.shop_id)
        return decided

    async def _decide(self, t: Ticket, rule: Rule) -> bool:
        """A rule's decision, through the request's service like a human's. Refused by the
        domain (someone decided first, the window closed, more than paid): nothing moves and
        the ticket records the rule and why."""
        actor, a = rule_actor(rule), rule.action
        request_id = t.facts.request_id
        key = f"rule-{rule.id}-{request_id}"
        kind = t.facts.kind
        try:
            if a.kind is RuleActionKind.APPROVE:
                await self.requests(
                    actor, approval(kind, request_id, ApprovalTerms(reason=a.reason)), key
                )
            elif a.kind is RuleActionKind.REJECT:
                await self.requests(
                    actor, rejection(kind, request_id, a.reason or "", a.comment), key
                )
            elif a.amount is not None:
                await self.requests(actor, partial_refund(kind, request_id, a.amount), key)
            return True
        except DomainError as err:
            await self._edit(t.id, _skipped(rule, why_refused(err), self._now()), t.shop_id)
            return False


def _ticket_rule(rule: Rule, now: datetime) -> Callable[[Ticket], Ticket]:
    return lambda t: apply_ticket_rule(t, rule, now)


def _skipped(rule: Rule, why: str, now: datetime) -> Callable[[Ticket], Ticket]:
    return lambda t: rule_skipped(t, rule.ref, why, rule_actor(rule), now)


def _rules_done(t: Ticket) -> Ticket:
    return replace(t, rules_due=False)

"""GraphQL for the helpdesk view (H1, H2): tickets, the shop's agents, rules and the dry run.

Resolvers check the input's shape, call one HelpdeskService method and map the outcome to its
union; the rules live in models/tickets.py and models/ticket_rules.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models import ticket_rules as rules_domain
from models import tickets as domain
from models.commands import ApprovalTerms, ApproveFromTicket, RejectFromTicket, chosen_lines
from models.errors import ValidationFailed
from models.money import Money as DomainMoney
from resolvers.after_sales.inputs import LineQuantityInput, lines_of
from resolvers.after_sales.types import AfterSale
from resolvers.commands import handled
from resolvers.context import Context, actor_of, caller_who, services_of
from resolvers.errors import (
    AfterSaleRefusedError,
    InvalidRuleError,
    InvalidStateError,
    NotPendingError,
    RefundExceedsRefundableError,
    ResponseWindowClosedError,
    WindowClosedError,
    outcome,
    result_union,
)
from resolvers.inputs import IDEMPOTENCY_HELP, MoneyInput, money_of, well_formed_id
from resolvers.orders.types import Cancellation, Order
from resolvers.requests.types import (
    Request,
    RequestInitiator,
    RequestStatus,
    domain_initiator,
    initiator_of,
    status_of,
)
from resolvers.values import ActorKind, Money, PageInfo, Reason, RequestKind
from services.tickets import RuleDraft
from storage.tickets import UNASSIGNED, TicketFilter

RequestPhase = strawberry.enum(domain.RequestPhase, name="RequestPhase")
TicketStatus = strawberry.enum(domain.TicketStatus, name="TicketStatus")
TicketType = strawberry.enum(domain.TicketType, name="TicketType")
TicketAction = strawberry.enum(domain.TicketAction, name="TicketAction")
RuleActionKind = strawberry.enum(rules_domain.RuleActionKind, name="RuleActionKind")


@strawberry.type
class TicketNote:
    at: datetime
    author_id: str
    text: str


@strawberry.type
class TicketRecord:
    at: datetime
    actor_kind: ActorKind  # type: ignore[valid-type]
    actor_id: str
    action: TicketAction  # type: ignore[valid-type]
    detail: str | None
    rule_id: strawberry.ID | None = strawberry.field(description="Set when a rule did it (H2).")
    rule_name: str | None


@strawberry.type(
    description="What the ticket knows of its request, as it is now: what rules match on."
)
class TicketRequest:
    id: strawberry.ID
    kind: RequestKind  # type: ignore[valid-type]
    initiator: RequestInitiator
    reason: Reason
    status: RequestStatus
    phase: RequestPhase  # type: ignore[valid-type]
    next_deadline: datetime | None = strawberry.field(
        description="When the next step is due; the platform acts then if nobody did."
    )
    requested_at: datetime
    categories: list[str]
    amount: Money = strawberry.field(description="The price of the items asked about.")


@strawberry.type
class Ticket:
    _t: strawberry.Private[domain.Ticket]
    id: strawberry.ID
    type: TicketType  # type: ignore[valid-type]
    subject: str
    status: TicketStatus  # type: ignore[valid-type]
    assignee: str | None
    tags: list[str]
    notes: list[TicketNote] = strawberry.field(description="Internal: never shown to the buyer.")
    opened_at: datetime
    order_id: strawberry.ID
    buyer_id: strawberry.ID
    request_facts: TicketRequest = strawberry.field(
        description="The request's facts the ticket keeps (phase, next deadline, categories, "
        "amount); the request itself is `request`."
    )
    rules_applied: list[strawberry.ID] = strawberry.field(
        description="Rules that ran on this request (each runs once)."
    )
    timeline: list[TicketRecord]

    @classmethod
    def of(cls, t: domain.Ticket) -> Ticket:
        f = t.facts
        return cls(
            _t=t,
            id=strawberry.ID(t.id),
            type=t.type,
            subject=t.subject,
            status=t.status,
            assignee=t.assignee,
            tags=list(t.tags),
            notes=[TicketNote(at=n.at, author_id=n.author_id, text=n.text) for n in t.notes],
            opened_at=t.opened_at,
            order_id=strawberry.ID(f.order_id),
            buyer_id=strawberry.ID(f.buyer_id),
            request_facts=TicketRequest(
                id=strawberry.ID(f.request_id),
                kind=f.kind,
                initiator=initiator_of(f.initiator),
                reason=Reason.of(f.reason),
                status=status_of(f.status),
                phase=f.phase,
                next_deadline=f.deadline,
                requested_at=f.requested_at,
                categories=list(f.categories),
                amount=Money.of(f.amount),
            ),
            rules_applied=[strawberry.ID(r) for r in t.rules_applied],
            timeline=[
                TicketRecord(
                    at=r.at,
                    actor_kind=r.actor_kind,
                    actor_id=r.actor_id,
                    action=r.action,
                    detail=r.detail,
                    rule_id=strawberry.ID(r.rule_id) if r.rule_id else None,
                    rule_name=r.rule_name,
                )
                for r in t.timeline
            ],
        )

    @strawberry.field(
        description="The request itself, live: a cancellation or an after-sale request "
        "(after-sale requests batched across a list of tickets)."
    )
    async def request(self, info: Info[Context, Any]) -> Request | None:
        if self._t.facts.kind is domain.RequestKind.CANCELLATION:
            return await self._cancellation(info)
        return await self._after_sale(info)

    @strawberry.field(
        description="The cancellation itself, live, when the request is one.",
        deprecation_reason="Use `request` (`... on Cancellation`).",
    )
    async def cancellation(self, info: Info[Context, Any]) -> Cancellation | None:
        if self._t.facts.kind is not domain.RequestKind.CANCELLATION:
            return None
        return await self._cancellation(info)

    @strawberry.field(
        description="The refund, return or replacement request itself, live, when the request "
        "is one (batched across a list of tickets).",
        deprecation_reason="Use `request` (`... on AfterSale`).",
    )
    async def after_sale(self, info: Info[Context, Any]) -> AfterSale | None:
        if self._t.facts.kind is domain.RequestKind.CANCELLATION:
            return None
        return await self._after_sale(info)

    async def _cancellation(self, info: Info[Context, Any]) -> Cancellation:
        c = await services_of(info).cancellations.get(actor_of(info), self._t.facts.request_id)
        return Cancellation.of(c)

    async def _after_sale(self, info: Info[Context, Any]) -> AfterSale | None:
        r = await info.context.after_sales.load(self._t.facts.request_id)
        if r is None:
            return None
        access.require_view(actor_of(info), r.shop_id, r.buyer_id, f"after-sale request {r.id}")
        return AfterSale.of(r)

    @strawberry.field
    async def order(self, info: Info[Context, Any]) -> Order | None:
        order = await info.context.orders.load(self._t.facts.order_id)
        return Order.of(order) if order else None


@strawberry.type
class TicketEdge:
    cursor: str
    node: Ticket


@strawberry.type
class TicketConnection:
    edges: list[TicketEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Ticket]:
        return [e.node for e in self.edges]


@strawberry.type(description="Tickets per status under the other filters.")
class TicketCounts:
    all: int
    open: int
    pending: int
    resolved: int


@strawberry.type
class TicketRuleCondition:
    kinds: list[RequestKind]  # type: ignore[valid-type]
    initiators: list[RequestInitiator]
    reasons: list[str]
    categories: list[str]
    amount_at_least: Money | None
    amount_below: Money | None
    buyer_requests_over: int | None


@strawberry.type
class TicketRuleAction:
    kind: RuleActionKind  # type: ignore[valid-type]
    tag: str | None
    assignee: str | None
    reason: str | None
    comment: str | None
    amount: Money | None


def _money(m: DomainMoney | None) -> Money | None:
    return Money.of(m) if m else None


@strawberry.type(description="H2: a condition over the request and one action.")
class TicketRule:
    id: strawberry.ID
    shop_id: strawberry.ID
    name: str
    position: int = strawberry.field(description="Rules run in ascending position, then id.")
    enabled: bool
    condition: TicketRuleCondition
    action: TicketRuleAction
    created_by: str
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, r: rules_domain.Rule) -> TicketRule:
        c, a = r.condition, r.action
        return cls(
            id=strawberry.ID(r.id),
            shop_id=strawberry.ID(r.shop_id),
            name=r.name,
            position=r.position,
            enabled=r.enabled,
            condition=TicketRuleCondition(
                kinds=sorted(c.kinds, key=lambda k: k.value),
                initiators=[initiator_of(i) for i in sorted(c.initiators, key=lambda i: i.value)],
                reasons=sorted(c.reasons),
                categories=sorted(c.categories),
                amount_at_least=_money(c.amount_at_least),
                amount_below=_money(c.amount_below),
                buyer_requests_over=c.buyer_requests_over,
            ),
            action=TicketRuleAction(
                kind=a.kind,
                tag=a.tag,
                assignee=a.assignee,
                reason=a.reason,
                comment=a.comment,
                amount=_money(a.amount),
            ),
            created_by=r.created_by,
            updated_at=r.updated_at,
            version=r.version,
        )


@strawberry.type
class DryRunHit:
    ticket: Ticket
    acts: bool = strawberry.field(description="False: it matches but would do nothing (why).")
    effect: str


@strawberry.type(description="What a rule would do to the shop's unresolved tickets now.")
class DryRun:
    matched: int
    acting: int
    hits: list[DryRunHit]


@strawberry.type
class DeletedTicketRule:
    id: strawberry.ID


@strawberry.type
class ShopAgents:
    shop_id: strawberry.ID
    agents: list[str]


# ---- inputs --------------------------------------------------------------------------------


@strawberry.input
class TicketFilterInput:
    status: TicketStatus | None = None  # type: ignore[valid-type]
    assignee: str | None = None
    unassigned: bool = False
    kind: RequestKind | None = None  # type: ignore[valid-type]
    tag: str | None = None


def ticket_filter(f: TicketFilterInput | None) -> TicketFilter:
    if f is None:
        return TicketFilter()
    if f.unassigned and f.assignee:
        raise ValidationFailed("filter by an assignee or by unassigned, not both", field="assignee")
    assignee = UNASSIGNED if f.unassigned else f.assignee
    if assignee:
        assignee = domain.clean_agent_id(assignee)
    return TicketFilter(
        status=f.status,
        assignee=assignee,
        kind=f.kind,
        tag=domain.clean_tag(f.tag) if f.tag is not None else None,
    )


@strawberry.input(description="Every part given must hold; an empty list matches anything.")
class TicketRuleConditionInput:
    kinds: list[RequestKind] = strawberry.field(default_factory=list)  # type: ignore[valid-type]
    initiators: list[RequestInitiator] = strawberry.field(default_factory=list)
    reasons: list[str] = strawberry.field(default_factory=list)
    categories: list[str] = strawberry.field(
        default_factory=list, description="Any line of the request in one of them."
    )
    amount_at_least: MoneyInput | None = strawberry.field(default=None, description="Inclusive.")
    amount_below: MoneyInput | None = strawberry.field(default=None, description="Exclusive.")
    buyer_requests_over: int | None = strawberry.field(
        default=None,
        description="More than this many earlier requests by the buyer to the shop in 30 days.",
    )


@strawberry.input
class TicketRuleActionInput:
    kind: RuleActionKind  # type: ignore[valid-type]
    tag: str | None = None
    assignee: str | None = None
    reason: str | None = strawberry.field(
        default=None,
        description="REJECT: the reject reason. APPROVE of a replacement: the reason type.",
    )
    comment: str | None = None
    amount: MoneyInput | None = strawberry.field(default=None, description="A partial refund.")


@strawberry.input
class TicketRuleInput:
    name: str
    condition: TicketRuleConditionInput
    action: TicketRuleActionInput
    position: int = 100
    enabled: bool = True


def rule_draft(r: TicketRuleInput) -> RuleDraft:
    c, a = r.condition, r.action
    return RuleDraft(
        name=r.name,
        position=r.position,
        enabled=r.enabled,
        condition=rules_domain.Condition(
            kinds=frozenset(c.kinds),
            initiators=frozenset(
                domain_initiator(i, domain.RequestInitiator) for i in c.initiators
            ),
            reasons=frozenset(x.strip() for x in c.reasons),
            categories=frozenset(x.strip() for x in c.categories),
            amount_at_least=money_of(c.amount_at_least, "condition.amountAtLeast"),
            amount_below=money_of(c.amount_below, "condition.amountBelow"),
            buyer_requests_over=c.buyer_requests_over,
        ),
        action=rules_domain.RuleAction(
            kind=a.kind,
            tag=a.tag,
            assignee=a.assignee,
            reason=a.reason,
            comment=a.comment,
            amount=money_of(a.amount, "action.amount"),
        ),
    )


@strawberry.input
class TicketInput:
    ticket_id: strawberry.ID


@strawberry.input
class AssignTicketInput:
    ticket_id: strawberry.ID
    assignee: str | None = strawberry.field(description="An agent of the shop; null: nobody.")


@strawberry.input
class TagTicketInput:
    ticket_id: strawberry.ID
    tag: str


@strawberry.input
class AddTicketNoteInput:
    ticket_id: strawberry.ID
    text: str = strawberry.field(description="Internal; at most 2,000 characters.")


@strawberry.input
class SetTicketStatusInput:
    ticket_id: strawberry.ID
    status: TicketStatus  # type: ignore[valid-type]


@strawberry.input
class ApproveFromTicketInput:
    ticket_id: strawberry.ID
    reason: str | None = strawberry.field(
        default=None, description="A replacement's reason type (P2); otherwise unused."
    )
    lines: list[LineQuantityInput] | None = strawberry.field(
        default=None,
        description="After-sale requests: cover only these lines and quantities (default: as "
        "asked).",
    )
    buyer_keeps_item: bool = strawberry.field(
        default=False, description="A return: refund without the item coming back (R7)."
    )
    partial_amount: MoneyInput | None = strawberry.field(
        default=None, description="A refund or a return: refund less than the items' price (R7)."
    )
    comment: str | None = strawberry.field(
        default=None, description="After-sale requests: a comment on the decision."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)

    def command(self) -> ApproveFromTicket:
        ticket_id = _ticket_id(self.ticket_id)
        terms = ApprovalTerms(
            lines=chosen_lines(lines_of(self.lines)),
            buyer_keeps_item=self.buyer_keeps_item,
            partial_amount=money_of(self.partial_amount, "partialAmount"),
            reason=self.reason,
            comment=self.comment,
        )
        return ApproveFromTicket(ticket_id, terms)


@strawberry.input
class RejectFromTicketInput:
    ticket_id: strawberry.ID
    reason: str = strawberry.field(description="A reject reason of the request's kind.")
    comment: str | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class CreateTicketRuleInput:
    shop_id: strawberry.ID | None = None
    rule: TicketRuleInput


@strawberry.input
class UpdateTicketRuleInput:
    rule_id: strawberry.ID
    rule: TicketRuleInput


@strawberry.input
class TicketRuleIdInput:
    rule_id: strawberry.ID


@strawberry.input
class DryRunTicketRuleInput:
    shop_id: strawberry.ID | None = None
    rule: TicketRuleInput


@strawberry.input
class ShopAgentInput:
    shop_id: strawberry.ID | None = None
    agent_id: str


# ---- results -------------------------------------------------------------------------------

# One union per result type (the policy: resolvers/errors.py::result_union): a ticket's edits
# and the decisions made from it answer the same members.
TicketResult = result_union(
    "TicketResult",
    Ticket,
    NotPendingError,
    ResponseWindowClosedError,
    InvalidStateError,
    RefundExceedsRefundableError,
    WindowClosedError,
    AfterSaleRefusedError,
)
TicketRuleResult = result_union("TicketRuleResult", TicketRule, InvalidRuleError)
DeleteTicketRuleResult = result_union("DeleteTicketRuleResult", DeletedTicketRule)
DryRunResult = result_union("DryRunResult", DryRun, InvalidRuleError)
ShopAgentsResult = result_union("ShopAgentsResult", ShopAgents)


def _ticket_id(value: str) -> str:
    return well_formed_id(value, "ticketId")


def _dry_run(previews: list[rules_domain.Preview]) -> DryRun:
    return DryRun(
        matched=len(previews),
        acting=sum(1 for p in previews if p.acts),
        hits=[
            DryRunHit(ticket=Ticket.of(p.ticket), acts=p.acts, effect=p.effect) for p in previews
        ],
    )


@strawberry.type
class TicketQueries:
    @strawberry.field(description="H1: the shop's tickets, oldest deadline first.")
    async def tickets(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        filter: TicketFilterInput | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> TicketConnection:
        svc = services_of(info).helpdesk
        found, page = await svc.page(
            actor_of(info), well_formed_id(shop_id, "shopId"), ticket_filter(filter), first, after
        )
        edges = [
            TicketEdge(cursor=c, node=Ticket.of(t))
            for t, c in zip(found, page.cursors, strict=True)
        ]
        end = page.cursors[-1] if page.cursors else None
        return TicketConnection(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=end)
        )

    @strawberry.field(description="Tickets per status under the other filters of `tickets`.")
    async def ticket_counts(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        filter: TicketFilterInput | None = None,
    ) -> TicketCounts:
        svc = services_of(info).helpdesk
        counts = await svc.counts(
            actor_of(info), well_formed_id(shop_id, "shopId"), ticket_filter(filter)
        )
        s = domain.TicketStatus
        return TicketCounts(
            all=counts[None],
            open=counts[s.OPEN],
            pending=counts[s.PENDING],
            resolved=counts[s.RESOLVED],
        )

    @strawberry.field
    async def ticket(self, info: Info[Context, Any], id: strawberry.ID) -> Ticket:
        t = await services_of(info).helpdesk.get(actor_of(info), well_formed_id(id, "id"))
        return Ticket.of(t)

    @strawberry.field(
        description="The ticket a request (a cancellation or an after-sale request) opened; "
        "null when it opened none."
    )
    async def request_ticket(
        self, info: Info[Context, Any], request_id: strawberry.ID
    ) -> Ticket | None:
        svc = services_of(info).helpdesk
        t = await svc.for_request(actor_of(info), well_formed_id(request_id, "requestId"))
        return Ticket.of(t) if t else None

    @strawberry.field(description="H2: the shop's rules, in the order they run.")
    async def ticket_rules(
        self, info: Info[Context, Any], shop_id: strawberry.ID | None = None
    ) -> list[TicketRule]:
        svc = services_of(info).helpdesk
        found = await svc.rules(actor_of(info), well_formed_id(shop_id, "shopId"))
        return [TicketRule.of(r) for r in found]

    @strawberry.field(description="The agents a ticket may be assigned to.")
    async def shop_agents(
        self, info: Info[Context, Any], shop_id: strawberry.ID | None = None
    ) -> list[str]:
        svc = services_of(info).helpdesk
        return await svc.agents(actor_of(info), well_formed_id(shop_id, "shopId"))


@strawberry.type
class TicketMutations:
    @strawberry.mutation(description="Give a ticket to an agent of the shop, or to nobody.")
    async def assign_ticket(
        self, info: Info[Context, Any], input: AssignTicketInput
    ) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.assign(actor, _ticket_id(input.ticket_id), input.assignee)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation
    async def tag_ticket(self, info: Info[Context, Any], input: TagTicketInput) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.tag(actor, _ticket_id(input.ticket_id), input.tag)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation
    async def untag_ticket(self, info: Info[Context, Any], input: TagTicketInput) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.untag(actor, _ticket_id(input.ticket_id), input.tag)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation(description="An internal note, for the shop's team only.")
    async def add_ticket_note(
        self, info: Info[Context, Any], input: AddTicketNoteInput
    ) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.add_note(actor, _ticket_id(input.ticket_id), input.text)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation(description="Open, pending or resolved; the request's next move wins.")
    async def set_ticket_status(
        self, info: Info[Context, Any], input: SetTicketStatusInput
    ) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.set_status(actor, _ticket_id(input.ticket_id), input.status)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation(
        description="Approve the ticket's request: the same decision, rules and permission "
        "as on the request; ticket and request move together."
    )
    async def approve_from_ticket(
        self, info: Info[Context, Any], input: ApproveFromTicketInput
    ) -> TicketResult:
        return await handled(
            info,
            access.require_an_acting_agent,
            input.command,
            input.idempotency_key,
            Ticket.of,
        )

    @strawberry.mutation(description="Reject the ticket's request with a reason of its kind.")
    async def reject_from_ticket(
        self, info: Info[Context, Any], input: RejectFromTicketInput
    ) -> TicketResult:
        def command() -> RejectFromTicket:
            return RejectFromTicket(_ticket_id(input.ticket_id), input.reason, input.comment)

        return await handled(
            info, access.require_an_acting_agent, command, input.idempotency_key, Ticket.of
        )

    @strawberry.mutation(description="H2: a new rule for the shop, checked before it is saved.")
    async def create_ticket_rule(
        self, info: Info[Context, Any], input: CreateTicketRuleInput
    ) -> TicketRuleResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_a_rules_author)
            shop = well_formed_id(input.shop_id, "shopId")
            return await svc.create_rule(actor, shop, rule_draft(input.rule))

        return await outcome(call(), TicketRule.of)

    @strawberry.mutation
    async def update_ticket_rule(
        self, info: Info[Context, Any], input: UpdateTicketRuleInput
    ) -> TicketRuleResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_a_rules_author)
            rule_id = well_formed_id(input.rule_id, "ruleId")
            return await svc.update_rule(actor, rule_id, rule_draft(input.rule))

        return await outcome(call(), TicketRule.of)

    @strawberry.mutation
    async def delete_ticket_rule(
        self, info: Info[Context, Any], input: TicketRuleIdInput
    ) -> DeleteTicketRuleResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_a_rules_author)
            return await svc.delete_rule(actor, well_formed_id(input.rule_id, "ruleId"))

        return await outcome(call(), lambda r: DeletedTicketRule(id=strawberry.ID(r.id)))

    @strawberry.mutation(
        description="H2: which of the shop's unresolved tickets a rule would act on, and how. "
        "Nothing is saved or changed."
    )
    async def dry_run_ticket_rule(
        self, info: Info[Context, Any], input: DryRunTicketRuleInput
    ) -> DryRunResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_a_rules_author)
            shop = well_formed_id(input.shop_id, "shopId")
            return await svc.dry_run(actor, shop, rule_draft(input.rule))

        return await outcome(call(), _dry_run)

    @strawberry.mutation(description="Add an agent the shop's tickets may be assigned to.")
    async def add_shop_agent(
        self, info: Info[Context, Any], input: ShopAgentInput
    ) -> ShopAgentsResult:
        svc = services_of(info).helpdesk
        shop = input.shop_id

        async def call() -> Any:
            actor = caller_who(info, access.require_a_rules_author)
            return await svc.add_agent(actor, well_formed_id(shop, "shopId"), input.agent_id)

        actor = info.context.actor
        owner = shop or (actor.shop_id if actor else None) or ""
        return await outcome(
            call(), lambda agents: ShopAgents(shop_id=strawberry.ID(owner), agents=agents)
        )

    @strawberry.mutation
    async def remove_shop_agent(
        self, info: Info[Context, Any], input: ShopAgentInput
    ) -> ShopAgentsResult:
        svc = services_of(info).helpdesk
        shop = input.shop_id

        async def call() -> Any:
            actor = caller_who(info, access.require_a_rules_author)
            return await svc.remove_agent(actor, well_formed_id(shop, "shopId"), input.agent_id)

        actor = info.context.actor
        owner = shop or (actor.shop_id if actor else None) or ""
        return await outcome(
            call(), lambda agents: ShopAgents(shop_id=strawberry.ID(owner), agents=agents)
        )

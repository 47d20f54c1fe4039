"""GraphQL types of the helpdesk view (H1, H2): tickets, rules, the dry run, the shop's agents.
Each wraps a domain object (models/tickets.py, models/ticket_rules.py); none holds a rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models import ticket_rules as rules_domain
from models import tickets as domain
from models.money import Money as DomainMoney
from resolvers.after_sales.types import AfterSale
from resolvers.cancellations.types import Cancellation
from resolvers.context import Context, actor_of, services_of
from resolvers.orders.types import Order
from resolvers.requests.types import (
    Request,
    RequestInitiator,
    RequestStatus,
    initiator_of,
    status_of,
)
from resolvers.values import ActorKind, Connection, Money, Reason, RequestKind

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


TicketConnection = Connection[Ticket]


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

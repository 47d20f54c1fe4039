"""GraphQL inputs of the helpdesk (H1, H2), and the domain values they are read into."""

from __future__ import annotations

import strawberry

from models import ticket_rules as rules_domain
from models import tickets as domain
from models.commands import ApproveFromTicket
from models.errors import ValidationFailed
from resolvers.after_sales.inputs import approval_terms
from resolvers.helpdesk.types import RuleActionKind, TicketStatus
from resolvers.inputs import (
    IDEMPOTENCY_HELP,
    LineQuantityInput,
    MoneyInput,
    money_of,
    well_formed_id,
)
from resolvers.requests.types import (
    RequestInitiator,
    domain_initiator,
)
from resolvers.values import RequestKind
from services.read_types import UNASSIGNED, TicketFilter
from services.tickets import RuleDraft


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
        return ApproveFromTicket(ticket_id_of(self.ticket_id), approval_terms(self))


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


def ticket_id_of(value: str) -> str:
    return well_formed_id(value, "ticketId")

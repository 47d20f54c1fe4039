"""Write side of the helpdesk (H1, H2). Resolvers check the input's shape, call one
HelpdeskService method (or hand a decision's command to `Services.handle`) and map the outcome to
its result union; the rules live in models/tickets.py and models/ticket_rules.py."""

from __future__ import annotations

from typing import Any

import strawberry

from models import access
from models import ticket_rules as rules_domain
from models.actors import Actor
from models.commands import Command, RejectFromTicket
from resolvers.commands import ResultMutations
from resolvers.errors import (
    AfterSaleRefusedError,
    InvalidRuleError,
    InvalidStateError,
    NotPendingError,
    RefundExceedsRefundableError,
    ResponseWindowClosedError,
    WindowClosedError,
    result_union,
)
from resolvers.helpdesk.inputs import (
    AddTicketNoteInput,
    ApproveFromTicketInput,
    AssignTicketInput,
    CreateTicketRuleInput,
    DryRunTicketRuleInput,
    RejectFromTicketInput,
    SetTicketStatusInput,
    ShopAgentInput,
    TagTicketInput,
    TicketRuleIdInput,
    UpdateTicketRuleInput,
    rule_draft,
    ticket_id_of,
)
from resolvers.helpdesk.types import (
    DeletedTicketRule,
    DryRun,
    DryRunHit,
    ShopAgents,
    Ticket,
    TicketRule,
)
from resolvers.inputs import well_formed_id
from services.bootstrap import Services

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


def _dry_run(previews: list[rules_domain.Preview]) -> DryRun:
    return DryRun(
        matched=len(previews),
        acting=sum(1 for p in previews if p.acts),
        hits=[
            DryRunHit(ticket=Ticket.of(p.ticket), acts=p.acts, effect=p.effect) for p in previews
        ],
    )


ticket = ResultMutations(TicketResult, Ticket.of)
ticket_rule = ResultMutations(TicketRuleResult, TicketRule.of)
deleted_ticket_rule = ResultMutations(
    DeleteTicketRuleResult, lambda r: DeletedTicketRule(id=strawberry.ID(r.id))
)
dry_run = ResultMutations(DryRunResult, _dry_run)
shop_agents = ResultMutations(ShopAgentsResult, lambda agents: agents)


def _shop_agents(actor: Actor, shop: str | None, agents: list[str]) -> ShopAgents:
    """The agents of the shop named, or else of the caller's."""
    return ShopAgents(shop_id=strawberry.ID(shop or actor.shop_id or ""), agents=agents)


@strawberry.type
class TicketMutations:
    @ticket.service_call(
        access.require_an_agent, "Give a ticket to an agent of the shop, or to nobody."
    )
    async def assign_ticket(services: Services, actor: Actor, input: AssignTicketInput) -> Any:
        return await services.helpdesk.assign(actor, ticket_id_of(input.ticket_id), input.assignee)

    @ticket.service_call(access.require_an_agent)
    async def tag_ticket(services: Services, actor: Actor, input: TagTicketInput) -> Any:
        return await services.helpdesk.tag(actor, ticket_id_of(input.ticket_id), input.tag)

    @ticket.service_call(access.require_an_agent)
    async def untag_ticket(services: Services, actor: Actor, input: TagTicketInput) -> Any:
        return await services.helpdesk.untag(actor, ticket_id_of(input.ticket_id), input.tag)

    @ticket.service_call(access.require_an_agent, "An internal note, for the shop's team only.")
    async def add_ticket_note(services: Services, actor: Actor, input: AddTicketNoteInput) -> Any:
        return await services.helpdesk.add_note(actor, ticket_id_of(input.ticket_id), input.text)

    @ticket.service_call(
        access.require_an_agent, "Open, pending or resolved; the request's next move wins."
    )
    async def set_ticket_status(
        services: Services, actor: Actor, input: SetTicketStatusInput
    ) -> Any:
        ticket_id = ticket_id_of(input.ticket_id)
        return await services.helpdesk.set_status(actor, ticket_id, input.status)

    @ticket.command(
        access.require_an_acting_agent,
        "Approve the ticket's request: the same decision, rules and permission as on the "
        "request; ticket and request move together.",
    )
    def approve_from_ticket(input: ApproveFromTicketInput) -> Command:
        return input.command()

    @ticket.command(
        access.require_an_acting_agent, "Reject the ticket's request with a reason of its kind."
    )
    def reject_from_ticket(input: RejectFromTicketInput) -> Command:
        return RejectFromTicket(ticket_id_of(input.ticket_id), input.reason, input.comment)

    @ticket_rule.service_call(
        access.require_a_rules_author, "H2: a new rule for the shop, checked before it is saved."
    )
    async def create_ticket_rule(
        services: Services, actor: Actor, input: CreateTicketRuleInput
    ) -> Any:
        shop = well_formed_id(input.shop_id, "shopId")
        return await services.helpdesk.create_rule(actor, shop, rule_draft(input.rule))

    @ticket_rule.service_call(access.require_a_rules_author)
    async def update_ticket_rule(
        services: Services, actor: Actor, input: UpdateTicketRuleInput
    ) -> Any:
        rule_id = well_formed_id(input.rule_id, "ruleId")
        return await services.helpdesk.update_rule(actor, rule_id, rule_draft(input.rule))

    @deleted_ticket_rule.service_call(access.require_a_rules_author)
    async def delete_ticket_rule(services: Services, actor: Actor, input: TicketRuleIdInput) -> Any:
        return await services.helpdesk.delete_rule(actor, well_formed_id(input.rule_id, "ruleId"))

    @dry_run.service_call(
        access.require_a_rules_author,
        "H2: which of the shop's unresolved tickets a rule would act on, and how. Nothing is "
        "saved or changed.",
    )
    async def dry_run_ticket_rule(
        services: Services, actor: Actor, input: DryRunTicketRuleInput
    ) -> Any:
        shop = well_formed_id(input.shop_id, "shopId")
        return await services.helpdesk.dry_run(actor, shop, rule_draft(input.rule))

    @shop_agents.service_call(
        access.require_a_rules_author, "Add an agent the shop's tickets may be assigned to."
    )
    async def add_shop_agent(services: Services, actor: Actor, input: ShopAgentInput) -> Any:
        shop = well_formed_id(input.shop_id, "shopId")
        agents = await services.helpdesk.add_agent(actor, shop, input.agent_id)
        return _shop_agents(actor, shop, agents)

    @shop_agents.service_call(access.require_a_rules_author)
    async def remove_shop_agent(services: Services, actor: Actor, input: ShopAgentInput) -> Any:
        shop = well_formed_id(input.shop_id, "shopId")
        agents = await services.helpdesk.remove_agent(actor, shop, input.agent_id)
        return _shop_agents(actor, shop, agents)

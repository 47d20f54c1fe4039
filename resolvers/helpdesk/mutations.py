"""Write side of the helpdesk (H1, H2). Resolvers check the input's shape, call one
HelpdeskService method (or hand a decision's command to `Services.handle`) and map the outcome to
its result union; the rules live in models/tickets.py and models/ticket_rules.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from models import ticket_rules as rules_domain
from models.commands import Command, RejectFromTicket
from resolvers.commands import CommandMutations
from resolvers.context import Context, caller_who, services_of
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
ticket_decision = CommandMutations(TicketResult, Ticket.of)


def _dry_run(previews: list[rules_domain.Preview]) -> DryRun:
    return DryRun(
        matched=len(previews),
        acting=sum(1 for p in previews if p.acts),
        hits=[
            DryRunHit(ticket=Ticket.of(p.ticket), acts=p.acts, effect=p.effect) for p in previews
        ],
    )


@strawberry.type
class TicketMutations:
    @strawberry.mutation(description="Give a ticket to an agent of the shop, or to nobody.")
    async def assign_ticket(
        self, info: Info[Context, Any], input: AssignTicketInput
    ) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.assign(actor, ticket_id_of(input.ticket_id), input.assignee)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation
    async def tag_ticket(self, info: Info[Context, Any], input: TagTicketInput) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.tag(actor, ticket_id_of(input.ticket_id), input.tag)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation
    async def untag_ticket(self, info: Info[Context, Any], input: TagTicketInput) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.untag(actor, ticket_id_of(input.ticket_id), input.tag)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation(description="An internal note, for the shop's team only.")
    async def add_ticket_note(
        self, info: Info[Context, Any], input: AddTicketNoteInput
    ) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.add_note(actor, ticket_id_of(input.ticket_id), input.text)

        return await outcome(call(), Ticket.of)

    @strawberry.mutation(description="Open, pending or resolved; the request's next move wins.")
    async def set_ticket_status(
        self, info: Info[Context, Any], input: SetTicketStatusInput
    ) -> TicketResult:
        svc = services_of(info).helpdesk

        async def call() -> Any:
            actor = caller_who(info, access.require_an_agent)
            return await svc.set_status(actor, ticket_id_of(input.ticket_id), input.status)

        return await outcome(call(), Ticket.of)

    @ticket_decision(
        access.require_an_acting_agent,
        "Approve the ticket's request: the same decision, rules and permission as on the "
        "request; ticket and request move together.",
    )
    def approve_from_ticket(input: ApproveFromTicketInput) -> Command:
        return input.command()

    @ticket_decision(
        access.require_an_acting_agent, "Reject the ticket's request with a reason of its kind."
    )
    def reject_from_ticket(input: RejectFromTicketInput) -> Command:
        return RejectFromTicket(ticket_id_of(input.ticket_id), input.reason, input.comment)

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

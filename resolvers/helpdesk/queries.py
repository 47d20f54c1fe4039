"""Read side of the helpdesk (H1, H2): a shop's tickets and their counts, a ticket, the ticket of
a request, the rules and the agents."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models import tickets as domain
from resolvers.context import Context, actor_of, services_of
from resolvers.helpdesk.inputs import TicketFilterInput, ticket_filter
from resolvers.helpdesk.types import (
    Ticket,
    TicketConnection,
    TicketCounts,
    TicketRule,
)
from resolvers.inputs import well_formed_id


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
        return TicketConnection.of(found, page, Ticket.of)

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

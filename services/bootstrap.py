"""Wires the services to one database and one clock, once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.actors import Actor
from models.clock import Clock
from models.commands import Command, TicketCommand
from services.after_sale_desk import wire_after_sales
from services.after_sales import AfterSaleService
from services.cancellations import CancellationService
from services.commands import RequestCommands
from services.evidence import EvidenceService
from services.lookups import Lookups
from services.orders import OrderService
from services.tickets import HelpdeskService
from storage.indexes import ensure_indexes
from storage.mongo import Database


@dataclass
class Services:
    db: Database
    clock: Clock
    orders: OrderService
    cancellations: CancellationService
    after_sales: AfterSaleService
    helpdesk: HelpdeskService
    requests: RequestCommands
    evidence: EvidenceService
    lookups: Lookups  # reads by id for the API's loaders and the live feed

    async def handle(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        """Every use case's one entry (services/commands.py): a ticket's decision to the
        helpdesk, a request's command to its service."""
        if isinstance(command, TicketCommand):
            return await self.helpdesk.handle(actor, command, key)
        return await self.requests.handle(actor, command, key)


async def build_services(db: Database, clock: Clock) -> Services:
    await ensure_indexes(db)
    cancellations = CancellationService(db, clock)
    after_sales = AfterSaleService(db, clock)
    requests = RequestCommands(cancellations, after_sales)
    helpdesk = HelpdeskService(db, clock, requests.handle)
    # H2: the shop's rules run on every new request, right after it is written.
    cancellations.after_create = helpdesk.run_rules_for_requests
    # H1, H2: refunds, returns and replacements are tickets too, with the same rules.
    wire_after_sales(helpdesk, after_sales)
    # E1: a step's evidence is attached in the step's own transaction.
    evidence = EvidenceService(db, clock)
    after_sales.on_write = evidence.attach_claimed
    cancellations.on_write = evidence.attach_claimed_to_cancellations
    return Services(
        db=db,
        clock=clock,
        orders=OrderService(db, clock),
        cancellations=cancellations,
        after_sales=after_sales,
        helpdesk=helpdesk,
        requests=requests,
        evidence=evidence,
        lookups=Lookups(db),
    )

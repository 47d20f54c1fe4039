"""Wires the services to one database and one clock, once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from integrations.tiktok_shop.statuses import WARN_BEFORE
from models.actors import Actor
from models.clock import Clock
from models.commands import Command, TicketCommand
from services.after_sales import AfterSaleService
from services.buyer_history import requests_of_buyer
from services.cancellations import CancellationService
from services.commands import RequestCommands
from services.evidence import EvidenceService
from services.lookups import Lookups
from services.marketplace_views import MarketplaceViews
from services.orders import OrderService
from services.tickets import HelpdeskService
from services.tiktok_decisions import TikTokDecisions
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
    # H4: a linked shop's decisions held for TikTok (the gate of `requests`), and what a
    # mirrored request shows of TikTok.
    tiktok_decisions: TikTokDecisions
    marketplace: MarketplaceViews

    async def handle(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        """Every use case's one entry (services/commands.py): a ticket's decision to the
        helpdesk, a request's command to its service."""
        if isinstance(command, TicketCommand):
            return await self.helpdesk.handle(actor, command, key)
        return await self.requests.handle(actor, command, key)


async def build_services(
    db: Database, clock: Clock, *, tiktok_warn_before: timedelta = WARN_BEFORE
) -> Services:
    """Every service built with what it uses, once: nothing is set on one afterwards.
    `tiktok_warn_before`: how long before TikTok's deadline a linked shop's seller is warned."""
    await ensure_indexes(db)
    # E1: a step's evidence is attached in the step's own transaction.
    evidence = EvidenceService(db, clock)
    cancellations = CancellationService(db, clock, on_write=evidence.attach_claimed)
    after_sales = AfterSaleService(db, clock, on_write=evidence.attach_claimed)
    # H4: every entry point's decisions pass the same gate: a linked shop's go to TikTok.
    tiktok_decisions = TikTokDecisions(db, clock)
    # H1, H2: a decision from a ticket or a rule is the request's own command; it never opens a
    # request, so it needs no rules run after it.
    decisions = RequestCommands(cancellations, after_sales, gate=tiktok_decisions.gate)
    helpdesk = HelpdeskService(db, clock, decisions.handle, history=requests_of_buyer)
    # H2: the shop's rules run on every new request, right after it is written.
    requests = RequestCommands(
        cancellations,
        after_sales,
        after_create=helpdesk.run_rules_for_requests,
        gate=tiktok_decisions.gate,
    )
    # P4: a replacement order's move moves its request, in the same transaction.
    orders = OrderService(db, clock, on_orders_moved=after_sales.follow_replacement_orders)
    return Services(
        db=db,
        clock=clock,
        orders=orders,
        cancellations=cancellations,
        after_sales=after_sales,
        helpdesk=helpdesk,
        requests=requests,
        evidence=evidence,
        lookups=Lookups(db),
        tiktok_decisions=tiktok_decisions,
        marketplace=MarketplaceViews(db, clock, tiktok_warn_before),
    )

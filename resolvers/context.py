"""The per-request GraphQL context: the services, the caller, and batch loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from feed.live_feed import LiveFeed
from graphql_runtime.limits import Guard
from models.actors import Actor
from models.after_sale_requests import AfterSaleRequest
from models.orders import Order
from models.refunds import Refund
from models.tickets import Ticket
from services.bootstrap import Services
from services.deadline_worker import DeadlineWorker
from services.marketplace_views import MarketplaceView
from services.read_types import Evidence
from services.webhooks import WebhookService


@dataclass
class Context:
    services: Services
    actor: Actor | None
    identity_error: str | None = None
    worker: DeadlineWorker | None = None
    feed: LiveFeed | None = None
    webhooks: WebhookService | None = None  # None: one for development (http targets allowed)
    # Set for a shared subscription (feed/sharing.py): how to cut off its subscribers.
    on_too_slow: Callable[[str], None] | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    # A WebSocket's: its caller's connection slot and token expiry (feed/ws_callers.py).
    admission: Any = None
    request_id: str = ""
    guard: Guard = field(default_factory=Guard)
    orders: DataLoader[str, Order | None] = field(init=False)
    after_sales: DataLoader[str, AfterSaleRequest | None] = field(init=False)
    evidence: DataLoader[str, list[Evidence]] = field(init=False)  # by request id (E1)
    tickets: DataLoader[str, Ticket | None] = field(init=False)  # by request id (H1)
    refunds: DataLoader[str, Refund | None] = field(init=False)  # by request id, never cached
    # H4: TikTok's side of a mirrored request, by request id, never cached (as refunds).
    marketplace: DataLoader[str, MarketplaceView | None] = field(init=False)

    def __post_init__(self) -> None:
        lookups = self.services.lookups

        async def load_orders(ids: list[str]) -> list[Order | None]:
            found = await lookups.orders(ids)
            return [found.get(i) for i in ids]

        async def load_after_sales(ids: list[str]) -> list[AfterSaleRequest | None]:
            found = await lookups.after_sales(ids)
            return [found.get(i) for i in ids]

        async def load_evidence(request_ids: list[str]) -> list[list[Evidence]]:
            found = await self.services.evidence.of_requests(request_ids)
            return [found.get(i, []) for i in request_ids]

        async def load_tickets(request_ids: list[str]) -> list[Ticket | None]:
            found = await lookups.tickets_of_requests(request_ids)
            return [found.get(i) for i in request_ids]

        async def load_refunds(request_ids: list[str]) -> list[Refund | None]:
            found = await lookups.refunds_of_requests(request_ids)
            return [found.get(i) for i in request_ids]

        async def load_marketplace(request_ids: list[str]) -> list[MarketplaceView | None]:
            found = await self.services.marketplace.of_requests(request_ids)
            return [found.get(i) for i in request_ids]

        self.orders = DataLoader(load_fn=load_orders)
        self.tickets = DataLoader(load_fn=load_tickets)
        # A refund settles while a subscription's context lives: batched, never remembered.
        self.refunds = DataLoader(load_fn=load_refunds, cache=False)
        self.marketplace = DataLoader(load_fn=load_marketplace, cache=False)
        self.evidence = DataLoader(load_fn=load_evidence)
        self.after_sales = DataLoader(load_fn=load_after_sales)


def actor_of(info: Info[Context, Any]) -> Actor:
    ctx = info.context
    if ctx.identity_error:
        raise GraphQLError(ctx.identity_error, extensions={"code": "UNAUTHENTICATED"})
    if ctx.actor is None:
        raise GraphQLError(
            "who is calling? send Authorization: Bearer <token> (mint one: ./dev token --help)",
            extensions={"code": "UNAUTHENTICATED"},
        )
    return ctx.actor


def caller_who(info: Info[Context, Any], may: Callable[[Actor], None]) -> Actor:
    """The caller, refused (models.errors.Forbidden) when `may` (a check of models/access.py
    on the caller alone) says they can never do this operation: called before the input is
    read, so what such a caller sent is never parsed."""
    actor = actor_of(info)
    may(actor)
    return actor


def services_of(info: Info[Context, Any]) -> Services:
    return info.context.services

"""Who may see and act on what. Pure checks; the service layer calls them before deciding."""

from __future__ import annotations

from dataclasses import dataclass

from models.actors import Actor, ActorKind
from models.errors import Forbidden


@dataclass(frozen=True)
class Scope:
    """The slice of the data an actor may list: one shop, one buyer, or everything."""

    shop_id: str | None = None
    buyer_id: str | None = None


def can_view(actor: Actor, shop_id: str, buyer_id: str) -> bool:
    if actor.kind is ActorKind.PLATFORM:
        return True
    if actor.kind is ActorKind.SELLER_AGENT:
        return actor.shop_id == shop_id
    return actor.id == buyer_id


def view_key(actor: Actor) -> tuple[str, str | None]:
    """Actors with the same key see the same requests (`can_view`, `list_scope`): any agent of
    a shop sees the shop, whatever their permissions; a buyer sees their own; the platform all."""
    if actor.kind is ActorKind.SELLER_AGENT:
        return (actor.kind.value, actor.shop_id)
    if actor.kind is ActorKind.BUYER:
        return (actor.kind.value, actor.id)
    return (actor.kind.value, None)


def require_view(actor: Actor, shop_id: str, buyer_id: str, what: str) -> None:
    if not can_view(actor, shop_id, buyer_id):
        raise Forbidden(f"{what} is not yours to see")


def list_scope(actor: Actor, shop_id: str | None) -> Scope:
    """Sellers list their own shop, buyers their own requests, the platform any one shop."""
    if actor.kind is ActorKind.SELLER_AGENT:
        if shop_id is not None and shop_id != actor.shop_id:
            raise Forbidden(f"shop {shop_id} is not yours", field="shopId")
        return Scope(shop_id=actor.shop_id)
    if actor.kind is ActorKind.BUYER:
        return Scope(shop_id=shop_id, buyer_id=actor.id)
    return Scope(shop_id=shop_id)


def require_buyer_of(actor: Actor, buyer_id: str) -> None:
    if actor.kind is not ActorKind.BUYER or actor.id != buyer_id:
        raise Forbidden("only the buyer of this order can do this")


def require_seller_of(actor: Actor, shop_id: str) -> None:
    """A seller agent of this shop with the adjustments permission (DOMAIN.md, Actors)."""
    if actor.kind is not ActorKind.SELLER_AGENT or actor.shop_id != shop_id:
        raise Forbidden("only an agent of this order's shop can do this")
    if not actor.can_adjust:
        raise Forbidden("acting on requests needs the adjustments permission")


def require_platform(actor: Actor) -> None:
    if actor.kind is not ActorKind.PLATFORM:
        raise Forbidden("only the platform can do this")

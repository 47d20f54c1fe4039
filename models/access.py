"""Who may see and act on what: the one place these rules live.

Pure checks. Services call them before deciding (queries and mutations alike); a subscription
filters its events with `can_view` (the same rule as reading the thing the event is about).
Resolvers never decide access themselves. Rules:

- the platform sees everything and alone decides appeals, platform refunds, policy, payment and
  delivery events, and cancellations for non-payment;
- a seller agent sees only their own shop and acts on its requests only with the adjustments
  permission; any agent of the shop may hand its orders to the carrier;
- a buyer sees only their own orders and requests and acts only as their buyer;
- an integration (a system with a token for one shop) places that shop's orders and moves their
  payment and fulfilment states through the order intake, and reads nothing else;
- an item found by its id that the caller may not learn of is answered as an unknown id is
  (NOT_FOUND, the same message and field): an outsider holding an id learns nothing of it, not
  even that it exists. FORBIDDEN is for a caller who may see the item but not do this to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.actors import Actor, ActorKind
from models.errors import Forbidden, NotFound, ValidationFailed
from models.notifications import Recipient


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
    if actor.kind is ActorKind.INTEGRATION:
        return False  # it learns what it fed from the intake's answers, nothing more
    return actor.id == buyer_id


def can_receive_event(actor: Actor, shop_id: str, buyer_id: str) -> bool:
    """A subscription event about a request or order goes to whoever may read that thing."""
    return can_view(actor, shop_id, buyer_id)


def view_key(actor: Actor) -> tuple[str, str | None]:
    """Actors with the same key see the same requests (`can_view`, `list_scope`): any agent of
    a shop sees the shop, whatever their permissions; a buyer sees their own; the platform all."""
    if actor.kind in (ActorKind.SELLER_AGENT, ActorKind.INTEGRATION):
        return (actor.kind.value, actor.shop_id)
    if actor.kind is ActorKind.BUYER:
        return (actor.kind.value, actor.id)
    return (actor.kind.value, None)


def can_know(actor: Actor, shop_id: str, buyer_id: str) -> bool:
    """Whether an actor may learn that an item exists: whoever may read it, and the integration
    of its shop (which moves the shop's orders without reading them)."""
    if actor.kind is ActorKind.INTEGRATION:
        return actor.shop_id == shop_id
    return can_view(actor, shop_id, buyer_id)


def require_view(actor: Actor, shop_id: str, buyer_id: str, what: str, field: str = "id") -> None:
    """Reading an item found by its id: one who may not learn of it is told what an unknown id
    is; one who may (the shop's integration) that it is not theirs to read."""
    if can_view(actor, shop_id, buyer_id):
        return
    if can_know(actor, shop_id, buyer_id):
        raise Forbidden(f"{what} is not yours to see")
    raise NotFound(f"no {what}", field=field)


def require_known(actor: Actor, shop_id: str, buyer_id: str, missing: NotFound) -> None:
    """Acting on an item found by its id: one who may not learn of it gets `missing`, the
    answer to an unknown id, before any check of what they may do."""
    if not can_know(actor, shop_id, buyer_id):
        raise missing


def list_scope(actor: Actor, shop_id: str | None) -> Scope:
    """Sellers list their own shop, buyers their own requests, the platform any one shop;
    integrations list nothing."""
    if actor.kind is ActorKind.INTEGRATION:
        raise Forbidden("an integration feeds orders; it lists nothing")
    if actor.kind is ActorKind.SELLER_AGENT:
        if shop_id is not None and shop_id != actor.shop_id:
            raise Forbidden(f"shop {shop_id} is not yours", field="shopId")
        return Scope(shop_id=actor.shop_id)
    if actor.kind is ActorKind.BUYER:
        return Scope(shop_id=shop_id, buyer_id=actor.id)
    return Scope(shop_id=shop_id)


def request_scope(actor: Actor, shop_id: str | None) -> Scope:
    """`list_scope` for the request lists and counts: the platform must name the shop."""
    scope = list_scope(actor, shop_id)
    if not scope.shop_id and not scope.buyer_id:
        raise ValidationFailed("shopId is required for the platform", field="shopId")
    return scope


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


# Who may make a call on a request or an order, given its shop and buyer. A service runs it
# before the domain decides, and again on the outcome an idempotency key recalls: a repeated
# call gets the first outcome only if the caller may still make that call on it.
Permit = Callable[[str, str], None]


def permit_buyer(actor: Actor) -> Permit:
    return lambda shop_id, buyer_id: require_buyer_of(actor, buyer_id)


def permit_seller(actor: Actor) -> Permit:
    return lambda shop_id, buyer_id: require_seller_of(actor, shop_id)


def permit_platform(actor: Actor) -> Permit:
    return lambda shop_id, buyer_id: require_platform(actor)


def require_shop_or_platform(actor: Actor, shop_id: str) -> None:
    """Fulfilment (handing to the carrier) is not an adjustment: any agent of the shop may."""
    if actor.kind is ActorKind.PLATFORM:
        return
    if actor.kind is not ActorKind.SELLER_AGENT or actor.shop_id != shop_id:
        raise Forbidden("only the shop or the platform can do this")


def require_integration_of(actor: Actor, shop_id: str) -> None:
    """The order intake: only the integration whose token names this shop feeds its orders."""
    if actor.kind is not ActorKind.INTEGRATION or actor.shop_id != shop_id:
        raise Forbidden(f"only the integration of shop {shop_id} feeds its orders", field="shopId")


def require_order_mover(actor: Actor, shop_id: str, handing_to_carrier: bool) -> None:
    """Who moves an order's payment and fulfilment: the shop's integration any step, the
    platform any step, an agent of the shop only the hand-over to the carrier."""
    if actor.kind is ActorKind.INTEGRATION and actor.shop_id == shop_id:
        return
    if handing_to_carrier:
        require_shop_or_platform(actor, shop_id)
    else:
        require_platform(actor)


def inbox_of(actor: Actor) -> tuple[Recipient, str] | None:
    """Whose notifications an actor reads: a buyer theirs, an agent their shop's; the platform
    has no inbox (None: an empty list, not an error)."""
    if actor.kind is ActorKind.BUYER:
        return Recipient.BUYER, actor.id
    if actor.kind is ActorKind.SELLER_AGENT and actor.shop_id:
        return Recipient.SHOP, actor.shop_id
    return None


# ---- the helpdesk: tickets, rules and the team list are the shop's team's (H1, H2) ----------


def team_shop(actor: Actor, shop_id: str | None) -> str:
    """The shop whose tickets, rules and agents an actor reads: an agent their own (naming
    another is refused), the platform the one it names; buyers none."""
    if actor.kind is ActorKind.SELLER_AGENT:
        if shop_id is not None and shop_id != actor.shop_id:
            raise Forbidden(f"shop {shop_id} is not yours", field="shopId")
        assert actor.shop_id is not None
        return actor.shop_id
    if actor.kind is ActorKind.PLATFORM:
        if not shop_id:
            raise ValidationFailed("shopId is required for the platform", field="shopId")
        return shop_id
    raise Forbidden("tickets are for the shop's team")


def can_team_view(actor: Actor, shop_id: str) -> bool:
    if actor.kind is ActorKind.PLATFORM:
        return True
    return actor.kind is ActorKind.SELLER_AGENT and actor.shop_id == shop_id


def require_team_view(actor: Actor, shop_id: str, what: str, field: str = "id") -> None:
    """Reading one ticket, rule or webhook found by its id: one outside the shop's team is told
    what an unknown id is (never whose it is, nor that it exists)."""
    if not can_team_view(actor, shop_id):
        raise NotFound(f"no {what}", field=field)


def require_shop_agent(actor: Actor, shop_id: str) -> None:
    """Working a ticket (assign, tag, note, status) is for any agent of its shop."""
    if actor.kind is not ActorKind.SELLER_AGENT or actor.shop_id != shop_id:
        raise Forbidden("only an agent of the ticket's shop can do this")


def rules_shop(actor: Actor, shop_id: str | None) -> str:
    """Rules act with the adjustments permission, so only those who hold it (or the platform)
    write them, and the team list."""
    shop = team_shop(actor, shop_id)
    if actor.kind is ActorKind.SELLER_AGENT and not actor.can_adjust:
        raise Forbidden("writing rules needs the adjustments permission")
    return shop


def require_rules_writer(actor: Actor, shop_id: str, what: str, field: str = "ruleId") -> None:
    """Changing one rule found by its id: as `rules_shop`, without naming the rule's shop."""
    require_team_view(actor, shop_id, what, field)
    if actor.kind is ActorKind.SELLER_AGENT and not actor.can_adjust:
        raise Forbidden("writing rules needs the adjustments permission")


# ---- who may attempt an operation at all: decided from the caller alone -----------------------
# Checked before the caller's input is read (resolvers/context.py::caller_who), so one who may
# never do an operation costs no parsing of what they sent; the full check above, which needs
# the item (its shop, its buyer), still runs in the service.


def require_a_buyer(actor: Actor) -> None:
    if actor.kind is not ActorKind.BUYER:
        raise Forbidden("only the buyer of this order can do this")


def require_an_acting_agent(actor: Actor) -> None:
    """The deciders of `require_seller_of`, of any shop."""
    if actor.kind is not ActorKind.SELLER_AGENT:
        raise Forbidden("only an agent of this order's shop can do this")
    if not actor.can_adjust:
        raise Forbidden("acting on requests needs the adjustments permission")


def require_an_agent(actor: Actor) -> None:
    """Those of `require_shop_agent`, of any shop."""
    if actor.kind is not ActorKind.SELLER_AGENT:
        raise Forbidden("only an agent of the ticket's shop can do this")


def require_an_agent_or_platform(actor: Actor) -> None:
    """Those of `require_shop_or_platform`, of any shop."""
    if actor.kind is ActorKind.BUYER:
        raise Forbidden("only the shop or the platform can do this")


def require_a_rules_author(actor: Actor) -> None:
    """Those of `rules_shop` and `require_rules_writer`, of any shop."""
    if actor.kind is ActorKind.BUYER:
        raise Forbidden("tickets are for the shop's team")
    if actor.kind is ActorKind.SELLER_AGENT and not actor.can_adjust:
        raise Forbidden("writing rules needs the adjustments permission")


# ---- evidence (E1): files attached to a request's steps ------------------------------------


def can_view_evidence(actor: Actor, shop_id: str, buyer_id: str) -> bool:
    """The order's buyer, the shop's agents (any permission) and the platform: whoever may read
    the request the file belongs to."""
    return can_view(actor, shop_id, buyer_id)


def require_evidence_view(
    actor: Actor, shop_id: str, buyer_id: str, what: str = "such evidence"
) -> None:
    if not can_view_evidence(actor, shop_id, buyer_id):
        raise NotFound(f"no {what}")


def require_uploader(actor: Actor, shop_id: str, buyer_id: str) -> None:
    """Only those who may attach to the order's requests upload for it: its buyer, or an agent
    of its shop who may act (the platform attaches nothing)."""
    if actor.kind is ActorKind.BUYER and actor.id == buyer_id:
        return
    if actor.kind is ActorKind.SELLER_AGENT and actor.shop_id == shop_id and actor.can_adjust:
        return
    raise Forbidden("only the order's buyer or an agent of its shop who may act can upload")

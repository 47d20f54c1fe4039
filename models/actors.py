"""Who acts: buyers, seller agents, the platform (and its expiry worker), and the systems that
feed a shop's orders (integrations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ActorKind(Enum):
    BUYER = "BUYER"
    SELLER_AGENT = "SELLER_AGENT"
    PLATFORM = "PLATFORM"
    # A system, not a person: the marketplace's order system feeding one shop's orders.
    INTEGRATION = "INTEGRATION"


# The shop permission a seller agent needs to act on requests (seed 003: "Adjustments").
ADJUSTMENTS = "adjustments"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str
    shop_id: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.kind is ActorKind.SELLER_AGENT and not self.shop_id:
            raise ValueError("a seller agent belongs to a shop")
        if self.kind is ActorKind.INTEGRATION and not self.shop_id:
            raise ValueError("an integration feeds one shop")

    @property
    def can_adjust(self) -> bool:
        return ADJUSTMENTS in self.permissions


# The expiry worker acts as the platform, with no person behind it.
EXPIRY_WORKER = Actor(ActorKind.PLATFORM, "expiry-worker")

"""Who may feed a shop's orders (models/access.py), decided alone: the shop's integration feeds
it and reads nothing; nobody else feeds it."""

from __future__ import annotations

import pytest

from models import access
from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.errors import Forbidden

FEEDER = Actor(ActorKind.INTEGRATION, "orders-1", "shop-1")
OTHERS = {
    "another shop's integration": Actor(ActorKind.INTEGRATION, "orders-1", "shop-2"),
    "the shop's agent": Actor(ActorKind.SELLER_AGENT, "a-1", "shop-1", frozenset({ADJUSTMENTS})),
    "a buyer": Actor(ActorKind.BUYER, "buyer-1"),
    "the platform": Actor(ActorKind.PLATFORM, "ops-1"),
}


def test_the_shops_integration_feeds_it() -> None:
    access.require_integration_of(FEEDER, "shop-1")


@pytest.mark.parametrize("who", list(OTHERS))
def test_nobody_else_feeds_the_shop(who: str) -> None:
    with pytest.raises(Forbidden):
        access.require_integration_of(OTHERS[who], "shop-1")


def test_an_integration_reads_nothing_even_of_its_shop() -> None:
    assert not access.can_view(FEEDER, "shop-1", "buyer-1")
    # An integration id that equals a buyer's id reads nothing of that buyer either.
    assert not access.can_view(Actor(ActorKind.INTEGRATION, "buyer-1", "shop-1"), "s", "buyer-1")
    with pytest.raises(Forbidden):
        access.list_scope(FEEDER, "shop-1")


@pytest.mark.parametrize(
    ("who", "handing", "allowed"),
    [
        ("feeder", False, True),
        ("feeder", True, True),
        ("the platform", False, True),
        ("the shop's agent", True, True),
        ("the shop's agent", False, False),
        ("another shop's integration", True, False),
        ("a buyer", True, False),
    ],
)
def test_who_moves_an_order(who: str, handing: bool, allowed: bool) -> None:
    actor = FEEDER if who == "feeder" else OTHERS[who]
    if allowed:
        access.require_order_mover(actor, "shop-1", handing)
    else:
        with pytest.raises(Forbidden):
            access.require_order_mover(actor, "shop-1", handing)


def test_integrations_of_two_shops_never_share_a_view() -> None:
    other = OTHERS["another shop's integration"]
    assert access.view_key(FEEDER) != access.view_key(other)

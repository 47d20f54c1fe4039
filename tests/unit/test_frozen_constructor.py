"""storage/rebuild.py: the decoders' constructors build what the classes' own __init__ would."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from models.actors import ActorKind
from models.cancellations import CancellationAction, CancellationStatus, TimelineRecord
from models.errors import ValidationFailed
from models.money import Money
from models.orders import LineItem
from storage.rebuild import frozen_constructor

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
FIELDS = {
    "at": AT,
    "actor_kind": ActorKind.BUYER,
    "actor_id": "buyer-1",
    "action": CancellationAction.REQUEST,
    "from_status": None,
    "to_status": CancellationStatus.PENDING,
    "reason": "CHANGED_MIND",
    "comment": None,
    "deadline": None,
}


def test_built_value_equals_and_hashes_as_the_classes_own() -> None:
    built = frozen_constructor(TimelineRecord)(**FIELDS)
    made = TimelineRecord(**FIELDS)
    assert type(built) is TimelineRecord
    assert built == made and hash(built) == hash(made)
    assert vars(built) == vars(made)


def test_built_value_stays_frozen() -> None:
    built = frozen_constructor(TimelineRecord)(**FIELDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.actor_id = "someone else"  # type: ignore[misc]


def test_every_field_must_be_given_even_one_with_a_default() -> None:
    build = frozen_constructor(TimelineRecord)
    partial = {k: v for k, v in FIELDS.items() if k != "deadline"}  # has a default in the class
    with pytest.raises(TypeError):
        build(**partial)
    with pytest.raises(TypeError):
        build(**FIELDS, extra=1)


def test_a_class_that_checks_itself_is_checked_as_its_init_would() -> None:
    build = frozen_constructor(LineItem)
    price = Money(450, "USD")
    line = build(line_id="l1", sku="S", title="Tea", quantity=2, unit_price=price, category="f")
    assert line == LineItem("l1", "S", "Tea", 2, price, "f")
    with pytest.raises(ValidationFailed) as refused:
        build(line_id="l1", sku="S", title="Tea", quantity=0, unit_price=price, category="f")
    assert refused.value.field == "quantity"


def test_classes_that_are_not_frozen_are_refused() -> None:
    @dataclasses.dataclass
    class Mutable:
        x: int

    with pytest.raises(TypeError, match="not a frozen dataclass"):
        frozen_constructor(Mutable)

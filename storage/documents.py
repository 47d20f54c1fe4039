"""Mapping between domain objects and MongoDB documents. Money is stored as integer minor units."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import Enum
from functools import cache, cached_property, lru_cache, partial
from types import NoneType, UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from models.actors import ActorKind
from models.money import Money
from models.orders import LineItem, Order
from models.policy import CategoryPolicy
from models.refund_ledger import RefundBreakdown
from models.requests import Initiator, TimelineRecord
from storage.keys import ALL, sort_key
from storage.rebuild import frozen_constructor

Doc = dict[str, Any]
E = TypeVar("E", bound=Enum)
V = TypeVar("V")
Q = TypeVar("Q")  # a kind of request


def _member(enum: type[E], value: Any) -> E:
    """`enum(value)`, by a plain dict lookup first: a page of 50 requests decodes ~250 members,
    and Enum's own call costs ~0.4 us each. An unknown value still raises Enum's ValueError."""
    try:
        member = enum._value2member_map_.get(value)
    except TypeError:  # not hashable: Enum's own call says what is wrong with it
        member = None
    return member if member is not None else enum(value)  # type: ignore[return-value]


# What LineItem(...) and TimelineRecord(...) build, for a fraction of frozen's cost: a tab
# page decodes 50 requests and their lines (storage/rebuild.py).
_new_line = frozen_constructor(LineItem)
_new_record = frozen_constructor(TimelineRecord)


def money_doc(m: Money) -> Doc:
    return {"minor": m.minor, "currency": m.currency}


def money_from(d: Doc) -> Money:
    return _money(d["minor"], d["currency"])


@lru_cache(maxsize=4096)
def _money(minor: int, currency: str) -> Money:
    # Money is immutable and a shop's prices repeat: a tab page of 50 requests decodes ~100
    # amounts, and a lookup costs a quarter of building and checking one. (Keys equal as
    # numbers share an entry, which is what int() would have made of them anyway.)
    return Money(int(minor), currency)


def line_doc(line: LineItem) -> Doc:
    return {
        "line_id": line.line_id,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": money_doc(line.unit_price),
        "category": line.category,
    }


def line_from(d: Doc) -> LineItem:
    return _new_line(
        line_id=d["line_id"],
        sku=d["sku"],
        title=d["title"],
        quantity=d["quantity"],
        unit_price=money_from(d["unit_price"]),
        category=d["category"],
    )


def value_doc(value: Any) -> Any:
    """A domain value as stored: a dataclass as a document of its fields (money as minor units
    and currency, an enum as its value, a tuple as a list), None as None."""
    return None if value is None else _codec(type(value))[0](value)


def value_from(cls: type[V], d: Doc) -> V:
    """The value `value_doc` stored, rebuilt from its class's field types; a field the document
    lacks takes its default (a field added since it was stored)."""
    return _codec(cls)[1](d)  # type: ignore[no-any-return]


def optional_value(cls: type[V], d: Doc | None) -> V | None:
    return value_from(cls, d) if d else None


Coder = Callable[[Any], Any] | None  # None: stored as it is
_MISSING = object()


@cache
def _codec(cls: type) -> tuple[Callable[[Any], Doc], Callable[[Doc], Any]]:
    """The encoder and decoder of `cls`, written out once from its field types, so that a call
    costs about what a hand-written pair does (1.1 to 1.2 times: benchmarks/document_codec.py)."""
    hints = get_type_hints(cls)
    namespace: dict[str, Any] = {"cls": cls, "MISSING": _MISSING}
    items, reads = [], []
    for i, f in enumerate(fields(cls)):
        encode, decode = _coders(hints[f.name])
        namespace[f"encode{i}"], namespace[f"decode{i}"] = encode, decode
        got = f"value.{f.name}"
        if encode is not None:
            got = f"None if (v{i} := {got}) is None else encode{i}(v{i})"
        items.append(f"{f.name!r}: {got}")
        stored = "v" if decode is None else f"None if v is None else decode{i}(v)"
        reads.append(f"    if (v := d.get({f.name!r}, MISSING)) is not MISSING:\n")
        reads.append(f"        given[{f.name!r}] = {stored}\n")
    source = (
        f"def encode(value):\n    return {{{', '.join(items)}}}\n"
        f"def decode(d):\n    given = {{}}\n{''.join(reads)}    return cls(**given)\n"
    )
    exec(compile(source, f"<document codec of {cls.__qualname__}>", "exec"), namespace)
    return namespace["encode"], namespace["decode"]


def _coders(hint: Any) -> tuple[Coder, Coder]:
    """How a value of this field type is stored, and read back (None stays None either way)."""
    if get_origin(hint) in (UnionType, Union):  # `X | None`: as X
        [inner] = [a for a in get_args(hint) if a is not NoneType]
        return _coders(inner)
    if get_origin(hint) is tuple:  # `tuple[X, ...]`: a list of X
        encode, decode = _coders(get_args(hint)[0])
        if encode is None or decode is None:  # plain values
            return list, tuple
        return (lambda v: [encode(x) for x in v]), (lambda v: tuple(decode(x) for x in v))
    if hint is Money:
        return money_doc, money_from
    if hint is LineItem:
        return line_doc, line_from
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum_value, partial(_member, hint)
    if is_dataclass(hint):
        return value_doc, partial(value_from, hint)
    return None, None


def _enum_value(member: Enum) -> Any:
    return member.value


def order_doc(o: Order) -> Doc:
    doc = value_doc(o)
    doc["_id"] = doc.pop("id")
    doc["states"] = [ALL, o.fulfilment_state.value]  # list keys: see storage/keys.py
    doc["k_placed"] = sort_key(o.placed_at, o.id)
    return doc  # type: ignore[no-any-return]


def order_from(d: Doc) -> Order:
    return value_from(Order, {**d, "id": d["_id"]})


def record_doc(r: TimelineRecord) -> Doc:
    return {
        "at": r.at,
        "actor_kind": r.actor_kind.value,
        "actor_id": r.actor_id,
        "action": r.action.value,
        "from_status": r.from_status.value if r.from_status else None,
        "to_status": r.to_status.value,
        "reason": r.reason,
        "comment": r.comment,
        "deadline": r.deadline,
    }


def record_from(d: Doc, actions: type[Enum], statuses: type[Enum]) -> TimelineRecord:
    """A timeline record of any kind of request, with that kind's actions and statuses."""
    from_status = d.get("from_status")
    return _new_record(
        at=d["at"],
        actor_kind=_member(ActorKind, d["actor_kind"]),
        actor_id=d["actor_id"],
        action=_member(actions, d["action"]),
        from_status=_member(statuses, from_status) if from_status else None,
        to_status=_member(statuses, d["to_status"]),
        reason=d.get("reason"),
        comment=d.get("comment"),
        deadline=d.get("deadline"),
    )


@dataclass(frozen=True)
class RequestCodec(Generic[Q]):
    """How one kind of request is stored: what every kind holds (its opening, status, lines,
    refund, timeline and version; its `tabs` list key and its `k_deadline` sort key, see
    storage/keys.py), then its own fields: `plain` ones as they are, `enums` as their values,
    `parts` (what its steps add) each embedded as its value (`value_doc`)."""

    cls: type[Q]
    actions: type[Enum]
    statuses: type[Enum]
    tabs: Callable[[Q], list[str]]
    deadline: Callable[[Q], datetime | None]  # what `k_deadline` sorts by
    plain: tuple[str, ...] = ()
    enums: Mapping[str, type[Enum]] = field(default_factory=dict)
    parts: Mapping[str, type] = field(default_factory=dict)

    @cached_property
    def _new(self) -> Callable[..., Q]:
        return frozen_constructor(self.cls)

    def to_doc(self, r: Any) -> Doc:
        return {
            # What every kind is opened with (models/requests.py::OpenedRequest).
            "_id": r.id,
            "order_id": r.order_id,
            "shop_id": r.shop_id,
            "buyer_id": r.buyer_id,
            "initiator": r.initiator.value,
            "reason": r.reason,
            "note": r.note,
            "currency": r.currency,
            "policy": r.policy.to_seconds(),
            "requested_at": r.requested_at,
            "k_requested": sort_key(r.requested_at, r.id),
            "status": r.status.value,
            "tabs": self.tabs(r),
            "k_deadline": sort_key(self.deadline(r), r.id),
            "lines": [line_doc(line) for line in r.lines],
            "refund": value_doc(r.refund),
            "resolved_at": r.resolved_at,
            "timeline": [record_doc(x) for x in r.timeline],
            "version": r.version,
            **{name: getattr(r, name) for name in self.plain},
            **{name: getattr(r, name).value for name in self.enums},
            **{name: value_doc(getattr(r, name)) for name in self.parts},
        }

    def from_doc(self, d: Doc) -> Q:
        timeline = [record_from(x, self.actions, self.statuses) for x in d.get("timeline", [])]
        return self._new(
            id=d["_id"],
            order_id=d["order_id"],
            shop_id=d["shop_id"],
            buyer_id=d["buyer_id"],
            initiator=_member(Initiator, d["initiator"]),
            reason=d["reason"],
            note=d.get("note"),
            currency=d["currency"],
            policy=CategoryPolicy.from_seconds(d["policy"]),
            requested_at=d["requested_at"],
            status=_member(self.statuses, d["status"]),
            lines=tuple([line_from(x) for x in d["lines"]]),
            refund=optional_value(RefundBreakdown, d.get("refund")),
            resolved_at=d.get("resolved_at"),
            timeline=tuple(timeline),
            version=d.get("version", 0),
            **{name: d.get(name) for name in self.plain},
            **{name: _member(enum, d[name]) for name, enum in self.enums.items()},
            **{name: optional_value(cls, d.get(name)) for name, cls in self.parts.items()},
        )


def changes_between(before: Doc, after: Doc) -> Doc:
    """The update that turns `before` into `after`: `$set` of the changed fields, and `$push` of
    the records added to the end of an embedded timeline. Rewriting only what moved keeps the
    work per decision close to a bare update of the same fields."""
    update: Doc = {}
    changed = {k: v for k, v in after.items() if k != "_id" and before.get(k) != v}
    old_timeline, new_timeline = before.get("timeline"), after.get("timeline")
    if (
        "timeline" in changed
        and isinstance(old_timeline, list)
        and isinstance(new_timeline, list)
        and new_timeline[: len(old_timeline)] == old_timeline
    ):
        del changed["timeline"]
        update["$push"] = {"timeline": {"$each": new_timeline[len(old_timeline) :]}}
    if changed:
        update["$set"] = changed
    return update

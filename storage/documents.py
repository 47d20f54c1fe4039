"""Mapping between domain objects and MongoDB documents.

A dataclass is stored as a document of its fields, its coders written out once from the fields'
types: money as integer minor units and its currency (the minor units alone where what holds
the value records the currency: an order's refund ledger), a policy as its windows in seconds, an
enum as its value, a tuple as a list, a dataclass as its own document. A field the document lacks
reads as its default, None for an optional one (a field added since it was stored). A
collection's document keeps its `id` as `_id`, with the keys its lists are found by
(storage/keys.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields, is_dataclass
from enum import EnumType
from functools import cache, lru_cache, partial
from operator import attrgetter
from types import NoneType, UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from models.money import Money
from models.orders import Order
from models.policy import CategoryPolicy
from models.refund_ledger import RefundBreakdown
from storage.keys import ALL, sort_key
from storage.rebuild import frozen_constructor

Doc = dict[str, Any]
V = TypeVar("V")
Coder = Callable[[Any], Any] | None  # None: stored as it is
Codec = tuple[Callable[[Any], Doc], Callable[[Doc], Any]]  # a type's encoder and decoder
# What the models' fields name but import for type checking only (an import cycle otherwise).
_TYPE_ONLY = {"CategoryPolicy": CategoryPolicy, "RefundBreakdown": RefundBreakdown, "Order": Order}


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


def value_doc(value: Any, id_key: str = "id", currency: str | None = None) -> Any:
    """A domain value as stored, None as None; as a collection's document with `id_key="_id"`;
    with a `currency`, its money as bare minor units of that currency, which whatever holds the
    value records (an order's refund ledger, in its order's currency)."""
    return None if value is None else _codec(type(value), id_key, currency)[0](value)


def value_from(cls: type[V], d: Doc, id_key: str = "id", currency: str | None = None) -> V:
    """The value `value_doc` stored, rebuilt from its class's field types."""
    return _codec(cls, id_key, currency)[1](d)  # type: ignore[no-any-return]


@cache
def _codec(hint: Any, id_key: str = "id", currency: str | None = None) -> Codec:
    """The encoder and decoder of a dataclass (or of a generic one's alias), written out once
    from its field types, so that a call costs about what a hand-written pair does
    (benchmarks/document_codec.py)."""
    cls, bound = _bindings(hint)
    hints = get_type_hints(cls, localns=_TYPE_ONLY)
    # ABSENT: what `d.get` gives for a key the document lacks, which no stored value is.
    namespace: dict[str, Any] = {"build": frozen_constructor(cls), "ABSENT": object()}
    items, args, fast = [], [], []
    for i, f in enumerate(fields(cls)):
        key = id_key if f.name == "id" else f.name
        encode, decode = _coders(hints[f.name], bound, currency)
        namespace |= {f"encode{i}": encode, f"decode{i}": decode}
        namespace |= {f"default{i}": f.default, f"factory{i}": f.default_factory}
        got = f"value.{f.name}"
        if encode is not None:
            got = f"None if (v := {got}) is None else encode{i}(v)"
        items.append(f"{key!r}: {got}")
        decoded = "v" if decode is None else f"decode{i}(v)"
        quick = decoded
        if isinstance(decode, EnumType):  # an enum: its member map
            namespace[f"members{i}"] = decode._value2member_map_
            quick = f"members{i}[v]"
        # A key the document lacks reads as the field's default, None for an optional field;
        # any other is the missing key's KeyError. A None stored reads as None.
        if f.default is not MISSING or f.default_factory is not MISSING:
            absent = f"default{i}" if f.default is not MISSING else f"factory{i}()"
            read = f"{absent} if (v := d.get({key!r}, ABSENT)) is ABSENT else v if v is None"
        elif NoneType in get_args(hints[f.name]):
            read = f"v if (v := d.get({key!r})) is None"
        else:
            read = f"v if (v := d[{key!r}]) is None"
        args.append(f"{f.name}=({read} else {decoded})")
        fast.append(f"{f.name}=({read} else {quick})")
    # The checked decoder reads each member by Enum's own lookup, a call each, for every field
    # of every row of a page (benchmarks/tab_stages.py times the decode). The quick one reads
    # members by subscript, and leaves any document it cannot read so (a KeyError or TypeError)
    # to the checked one, which raises as it always did.
    source = (
        f"def encode(value):\n    return {{{', '.join(items)}}}\n"
        f"def checked(d):\n    return build({', '.join(args)})\n"
        f"def decode(d):\n    try:\n        return build({', '.join(fast)})\n"
        "    except (KeyError, TypeError):\n        return checked(d)\n"
    )
    exec(compile(source, f"<document codec of {cls.__qualname__}>", "exec"), namespace)
    return namespace["encode"], namespace["decode"]


def _bindings(hint: Any) -> tuple[type, dict[Any, Any]]:
    """The class `hint` names and what its type variables stand for: the arguments of a generic
    alias (`TimelineRecord[A, S]`), or those a class gives its generic bases (a cancellation's
    `OpenedRequest[CancellationAction, CancellationStatus]`)."""
    cls = get_origin(hint) or hint
    # The alias itself (when it is one), then the bases the class and its ancestors declare.
    bases = [hint, *(b for c in cls.__mro__ for b in vars(c).get("__orig_bases__", ()))]
    bound: dict[Any, Any] = {}
    for base in bases:
        if get_origin(base) not in (None, Generic):
            bound |= zip(get_origin(base).__parameters__, get_args(base), strict=True)
    return cls, bound


def _coders(hint: Any, bound: Mapping[Any, Any], currency: str | None) -> tuple[Coder, Coder]:
    """How a value of this field type is stored, and read back (None stays None either way)."""
    hint = bound.get(hint, hint)  # a type variable: the type it stands for
    if get_origin(hint) in (UnionType, Union):  # `X | None`: as X
        [inner] = [a for a in get_args(hint) if a is not NoneType]
        return _coders(inner, bound, currency)
    if get_origin(hint) is tuple:  # `tuple[X, ...]`: a list of X
        encode, decode = _coders(get_args(hint)[0], bound, currency)
        if encode is None or decode is None:  # plain values
            return list, tuple
        return (lambda v: [encode(x) for x in v]), (lambda v: tuple([decode(x) for x in v]))
    if hint is Money and currency is not None:
        return attrgetter("minor"), partial(_money, currency=currency)
    if hint is Money:
        return money_doc, money_from
    if hint is CategoryPolicy:  # its windows in seconds
        return CategoryPolicy.to_seconds, CategoryPolicy.from_seconds
    if isinstance(hint, EnumType):  # read by Enum's own call (the quick decoder: a subscript)
        return attrgetter("value"), hint
    if is_dataclass(get_origin(hint) or hint):
        if get_origin(hint) is not None:  # `TimelineRecord[A, S]`: A and S as bound here
            hint = get_origin(hint)[tuple(bound.get(a, a) for a in get_args(hint))]
        return _codec(hint, currency=currency)
    return None, None


def order_doc(o: Order) -> Doc:
    doc: Doc = value_doc(o, "_id")
    doc["states"] = [ALL, o.fulfilment_state.value]  # list keys: see storage/keys.py
    doc["k_placed"] = sort_key(o.placed_at, o.id)
    return doc


def order_from(d: Doc) -> Order:
    return value_from(Order, d, "_id")


def changes_between(before: Doc, after: Doc, also: Doc | None = None) -> Doc:
    """The update that turns `before` into `after`: `$set` of the changed fields (and of `also`),
    and `$push` of the records added to the end of an embedded timeline. Rewriting only what
    moved keeps the work per decision close to a bare update of the same fields."""
    update: Doc = {}
    changed = {k: v for k, v in after.items() if k != "_id" and before.get(k) != v}
    changed |= also or {}
    if "timeline" in changed:  # a list on both sides, made by the same encoder
        old, new = before["timeline"], after["timeline"]
        if new[: len(old)] == old:
            del changed["timeline"]
            update["$push"] = {"timeline": {"$each": new[len(old) :]}}
    if changed:
        update["$set"] = changed
    return update

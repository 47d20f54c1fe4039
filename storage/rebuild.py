"""Rebuilding frozen domain values from stored documents, without frozen's per-field cost.

A frozen dataclass's `__init__` sets each field through `object.__setattr__` (its own
`__setattr__` refuses): ~4 us for a request's 19 fields, where filling the instance's `__dict__`
takes ~1 us. A tab page decodes 50 requests and their timelines, so the difference is a tenth
of a millisecond or more a page. `frozen_constructor` makes, once per class, a function that
builds the very object `cls(...)` would: every field must be given (no defaults, so a field the
decoder forgets is a TypeError, as it would be for a field without a default), and a class's
`__post_init__` (its checks) runs last, as its `__init__` runs it, so nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def frozen_constructor(cls: type[T]) -> Callable[..., T]:
    """A keyword-only constructor equal to `cls(**kwargs)` with every field given."""
    if not (is_dataclass(cls) and cls.__dataclass_params__.frozen):  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    if "__slots__" in vars(cls):  # its own: Generic's empty __slots__ leaves a __dict__
        raise TypeError(f"{cls.__name__} has slots, not a __dict__")
    names = [f.name for f in fields(cls) if f.init]
    if len(names) != len(fields(cls)):
        raise TypeError(f"{cls.__name__} has fields its __init__ does not take")
    lines = [f"    d[{name!r}] = {name}" for name in names]
    if hasattr(cls, "__post_init__"):
        lines.append("    obj.__post_init__()")
    body = "\n".join(lines)
    source = (
        f"def build(*, {', '.join(names)}):\n"
        "    obj = new(cls)\n"
        "    d = obj.__dict__\n"
        f"{body}\n"
        "    return obj\n"
    )
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    exec(compile(source, f"<frozen constructor of {cls.__qualname__}>", "exec"), namespace)
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = f"frozen_constructor({cls.__qualname__})"
    return build

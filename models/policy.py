"""Y1: windows and rules per product category, with the marketplace defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from functools import lru_cache

from models.errors import ValidationFailed

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CategoryPolicy:
    # C1: the buyer may cancel at once within this window after placing the order.
    unconditional_cancel_window: timedelta = HOUR
    # C6, R3: silence from the seller for this long accepts or approves the request.
    seller_response_window: timedelta = 48 * HOUR
    # R1, P1: after delivery, how long the buyer may ask for a refund, return or replacement.
    return_refund_window: timedelta = 15 * DAY
    # R8: how long the buyer has to ship a return once it is approved.
    buyer_return_shipping_window: timedelta = 7 * DAY
    # R8: how long the seller has to confirm a returned parcel arrived.
    seller_receipt_window: timedelta = 7 * DAY
    # R5, R6: how long the buyer has to appeal a rejection.
    appeal_window: timedelta = 7 * DAY
    # R10: refunds in this category are paid by the platform without a seller step.
    instant_refund: bool = False
    # P2: the buyer must send the faulty item back before the replacement ships.
    replacement_needs_item_back: bool = True
    # R12: how long the buyer has to accept or decline a partial-refund offer.
    offer_response_window: timedelta = 48 * HOUR
    # R12: what the buyer's silence on an offer means: accepted (True) or declined (False).
    offer_silence_accepts: bool = False
    # P4: how long a shipped replacement order may take to be delivered; then a refund instead.
    replacement_delivery_window: timedelta = 14 * DAY

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta) and value <= timedelta(0):
                raise ValidationFailed(f"{f.name} must be a positive duration", field=f.name)

    def to_seconds(self) -> dict[str, float | bool]:
        out: dict[str, float | bool] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                seconds = value.total_seconds()
                out[f.name] = int(seconds) if seconds.is_integer() else seconds  # never rounded
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_seconds(cls, data: Mapping[str, float | bool]) -> CategoryPolicy:
        """The policy stored as `to_seconds` wrote it. Every stored request carries its policy and
        most share a few: one decoded policy (immutable) is reused for equal data, the types of
        the values included (a flag `True` is not the number 1). Decoding one took ~7 us, a
        seventh of a request's document (benchmarks/tab_query.py reads 50 a page)."""
        try:  # keyed by the items and, apart, their types: built by C loops, ~2x faster
            return _policy_of(tuple(data.items()), tuple(map(type, data.values())))
        except TypeError:  # a value that cannot key the cache (not hashable): decode it as it is
            return cls._decode(data)

    @classmethod
    def _decode(cls, data: Mapping[str, float | bool]) -> CategoryPolicy:
        kwargs: dict[str, timedelta | bool] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            # The field decides the type: a flag must be a bool, a window a number of seconds.
            if f.type == "bool":  # annotations are strings here (postponed evaluation)
                if not isinstance(value, bool):
                    raise ValidationFailed(f"{f.name} must be true or false", field=f.name)
                kwargs[f.name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValidationFailed(f"{f.name} must be a number of seconds", field=f.name)
                kwargs[f.name] = timedelta(seconds=value)
        return cls(**kwargs)  # type: ignore[arg-type]


@lru_cache(maxsize=1024)
def _policy_of(
    items: tuple[tuple[str, float | bool], ...], types: tuple[type, ...]
) -> CategoryPolicy:
    return CategoryPolicy._decode(dict(items))


DEFAULT_POLICY = CategoryPolicy()


@dataclass(frozen=True)
class PolicyBook:
    """The policies of the categories that set their own; every other category gets the default."""

    by_category: Mapping[str, CategoryPolicy]
    default: CategoryPolicy = DEFAULT_POLICY

    def for_category(self, category: str) -> CategoryPolicy:
        return self.by_category.get(category, self.default)

    def for_order(self, categories: Iterable[str]) -> CategoryPolicy:
        """One policy for a request that spans an order's categories, the same in any order.

        DOMAIN.md is silent on mixed orders. The marketplace protects the buyer without asking a
        seller for more than any item's category promises: every window is the shortest among the
        categories, a refund is instant only if every category says so, silence accepts an offer
        only if every category says so, and the faulty item must come back if any category asks
        for it.
        """
        policies = [self.for_category(c) for c in sorted(set(categories))] or [self.default]
        combined: dict[str, timedelta | bool] = {}
        for f in fields(CategoryPolicy):
            values = [getattr(p, f.name) for p in policies]
            if f.name in ("instant_refund", "offer_silence_accepts"):
                combined[f.name] = all(values)
            elif f.name == "replacement_needs_item_back":
                combined[f.name] = any(values)
            else:
                combined[f.name] = min(values)
        return CategoryPolicy(**combined)  # type: ignore[arg-type]

"""Y1: windows and rules per product category, with the marketplace defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta

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

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta) and value <= timedelta(0):
                raise ValidationFailed(f"{f.name} must be a positive duration", field=f.name)

    def to_seconds(self) -> dict[str, int | bool]:
        out: dict[str, int | bool] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = int(value.total_seconds()) if isinstance(value, timedelta) else value
        return out

    @classmethod
    def from_seconds(cls, data: Mapping[str, int | bool]) -> CategoryPolicy:
        kwargs: dict[str, timedelta | bool] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            kwargs[f.name] = value if isinstance(value, bool) else timedelta(seconds=int(value))
        return cls(**kwargs)  # type: ignore[arg-type]


DEFAULT_POLICY = CategoryPolicy()


@dataclass(frozen=True)
class PolicyBook:
    """The policies of the categories that set their own; every other category gets the default."""

    by_category: Mapping[str, CategoryPolicy]
    default: CategoryPolicy = DEFAULT_POLICY

    def for_category(self, category: str) -> CategoryPolicy:
        return self.by_category.get(category, self.default)

    def for_order(self, categories: Iterable[str]) -> CategoryPolicy:
        """One policy for a request that spans an order's categories.

        DOMAIN.md is silent on mixed orders. The marketplace protects the buyer, so the seller gets
        the shortest response window, and the buyer the shortest unconditional-cancel window (the
        window is a promise every item's seller must be able to keep).
        """
        policies = [self.for_category(c) for c in set(categories)] or [self.default]
        first = policies[0]
        return replace(
            first,
            unconditional_cancel_window=min(p.unconditional_cancel_window for p in policies),
            seller_response_window=min(p.seller_response_window for p in policies),
        )

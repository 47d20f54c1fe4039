"""Y1, Y2: windows and rules per product category, with the marketplace defaults; the business
calendar deadlines that count business days are counted on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from enum import Enum
from functools import lru_cache

from models.errors import ValidationFailed

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CategoryPolicy:
    # C1: the buyer may cancel at once within this window after placing the order. Zero: no
    # such window, every paid order's cancellation waits for the seller (a marketplace that
    # decides it itself, whose clock may run ahead of this one's: services/tiktok_connection.py).
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
    # Y2, C8: how long a prepaid order may stay unpaid when the marketplace sends no due time.
    payment_window: timedelta = 24 * HOUR
    # Y2: the seller's response window counts business days (BusinessCalendar): each whole day
    # of it is a business day, so a 48-hour window asked on a Friday ends on Tuesday.
    business_days: bool = False
    # Y2: above this order value (items, in minor units of the order's currency; 0: never) the
    # seller answers within `high_value_seller_response_window` instead.
    high_value_above: int = 0
    high_value_seller_response_window: timedelta = 96 * HOUR
    # R12: how long the buyer has to accept or decline a partial-refund offer.
    offer_response_window: timedelta = 48 * HOUR
    # R12: what the buyer's silence on an offer means: accepted (True) or declined (False).
    offer_silence_accepts: bool = False
    # P4: how long a shipped replacement order may take to be delivered; then a refund instead.
    replacement_delivery_window: timedelta = 14 * DAY

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, timedelta) or value > timedelta(0):
                continue
            if f.name != "unconditional_cancel_window":
                raise ValidationFailed(f"{f.name} must be a positive duration", field=f.name)
            if value < timedelta(0):
                raise ValidationFailed(f"{f.name} must not be negative", field=f.name)
        if self.high_value_above < 0:
            raise ValidationFailed(
                "high_value_above must not be negative", field="high_value_above"
            )

    def to_seconds(self) -> dict[str, float | bool]:
        """Windows in seconds, flags and amounts as they are."""
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
        kwargs: dict[str, timedelta | bool | int] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            # The field decides the type: a flag must be a bool, a window a number of seconds.
            if f.type == "bool":  # annotations are strings here (postponed evaluation)
                if not isinstance(value, bool):
                    raise ValidationFailed(f"{f.name} must be true or false", field=f.name)
                kwargs[f.name] = value
            elif f.type == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValidationFailed(f"{f.name} must be a whole number", field=f.name)
                kwargs[f.name] = value  # type: ignore[assignment]
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


class WindowKind(Enum):
    STANDARD = "STANDARD"
    HIGH_VALUE = "HIGH_VALUE"  # Y2: the longer window above an order value


@dataclass(frozen=True)
class ResponseWindow:
    """Y2: the seller response window that applies to a request, and how it is counted."""

    kind: WindowKind
    length: timedelta
    business_days: bool

    def ends(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        if not self.business_days:
            return start + self.length
        days, rest = divmod(self.length, DAY)
        return calendar.add_business_days(start, days) + rest


def seller_response_window(policy: CategoryPolicy, order_value_minor: int) -> ResponseWindow:
    """Y2: the longer window when the order is worth more than the policy's threshold."""
    if policy.high_value_above and order_value_minor > policy.high_value_above:
        length, kind = policy.high_value_seller_response_window, WindowKind.HIGH_VALUE
    else:
        length, kind = policy.seller_response_window, WindowKind.STANDARD
    return ResponseWindow(kind, length, policy.business_days)


@dataclass(frozen=True)
class BusinessCalendar:
    """Y2: the days deadlines counted in business days skip: weekends and listed holidays
    (dates in UTC, the service's time)."""

    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.weekend <= set(range(7)) or len(self.weekend) == 7:
            raise ValidationFailed("a weekend is some of the days 0 to 6, not all", field="weekend")

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same time of day, `days` business days later: each day stepped onto counts if it
        is a business day (Friday + 2 is Tuesday; Saturday + 2 is Tuesday too)."""
        at, counted = start, 0
        while counted < days:
            at += DAY
            counted += self.is_business_day(at.date())
        return at


WEEKENDS_ONLY = BusinessCalendar()


@dataclass(frozen=True)
class PolicyBook:
    """The policies of the categories that set their own; every other category gets the default.
    `calendar` is the marketplace's, for deadlines counted in business days (Y2)."""

    by_category: Mapping[str, CategoryPolicy]
    default: CategoryPolicy = DEFAULT_POLICY
    calendar: BusinessCalendar = WEEKENDS_ONLY

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
        combined: dict[str, timedelta | bool | int] = {}
        for f in fields(CategoryPolicy):
            values = [getattr(p, f.name) for p in policies]
            if f.name in ("instant_refund", "business_days", "offer_silence_accepts"):
                combined[f.name] = all(values)
            elif f.name == "replacement_needs_item_back":
                combined[f.name] = any(values)
            elif f.name == "high_value_above":  # the longer window only if every one grants it
                combined[f.name] = 0 if 0 in values else max(values)
            else:
                combined[f.name] = min(values)
        return CategoryPolicy(**combined)  # type: ignore[arg-type]

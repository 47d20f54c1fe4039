"""Y2 decided without I/O (models/policy.py): business days on a calendar, the longer response
window above an order value, the payment window, and how a mixed order combines them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.errors import ValidationFailed
from models.policy import (
    DEFAULT_POLICY,
    HOUR,
    BusinessCalendar,
    CategoryPolicy,
    PolicyBook,
    WindowKind,
    seller_response_window,
)

FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
CALENDAR = BusinessCalendar(holidays=frozenset({date(2026, 12, 7)}))  # a Monday


@pytest.mark.parametrize(
    ("start", "days", "ends"),
    [
        (FRIDAY, 2, datetime(2026, 12, 9, 10, tzinfo=UTC)),  # Sat, Sun, Mon skipped
        (FRIDAY + timedelta(days=1), 1, datetime(2026, 12, 8, 10, tzinfo=UTC)),  # from Saturday
        (FRIDAY - timedelta(days=3), 2, datetime(2026, 12, 3, 10, tzinfo=UTC)),  # Tue: Thu
        (FRIDAY, 0, FRIDAY),
    ],
)
def test_y2_business_days_skip_weekends_and_listed_holidays(
    start: datetime, days: int, ends: datetime
) -> None:
    assert CALENDAR.add_business_days(start, days) == ends


def test_y2_a_window_in_business_days_keeps_its_part_of_a_day_as_time() -> None:
    policy = CategoryPolicy(seller_response_window=36 * HOUR, business_days=True)
    window = seller_response_window(policy, 0)
    assert window.ends(FRIDAY, BusinessCalendar()) == datetime(2026, 12, 7, 22, tzinfo=UTC)
    calendar_time = seller_response_window(DEFAULT_POLICY, 0)
    assert calendar_time.ends(FRIDAY, CALENDAR) == FRIDAY + 48 * HOUR


def test_y2_the_longer_window_applies_strictly_above_the_order_value() -> None:
    policy = CategoryPolicy(high_value_above=10000, high_value_seller_response_window=96 * HOUR)
    assert seller_response_window(policy, 10001).kind is WindowKind.HIGH_VALUE
    assert seller_response_window(policy, 10001).length == 96 * HOUR
    assert seller_response_window(policy, 10000).kind is WindowKind.STANDARD
    assert seller_response_window(DEFAULT_POLICY, 10**9).kind is WindowKind.STANDARD


def test_y2_a_mixed_order_gets_business_days_and_the_longer_window_only_if_all_grant_them() -> None:
    generous = CategoryPolicy(business_days=True, high_value_above=10000, payment_window=2 * HOUR)
    strict = CategoryPolicy(business_days=True, high_value_above=20000)
    book = PolicyBook({"a": generous, "b": strict, "c": DEFAULT_POLICY})
    both = book.for_order(["a", "b"])
    assert (both.business_days, both.high_value_above, both.payment_window) == (
        True,
        20000,
        2 * HOUR,
    )
    mixed = book.for_order(["a", "c"])
    assert (mixed.business_days, mixed.high_value_above) == (False, 0)


def test_y2_policy_round_trips_and_refuses_bad_values() -> None:
    policy = CategoryPolicy(
        payment_window=HOUR, business_days=True, high_value_above=12345,
        high_value_seller_response_window=72 * HOUR,
    )  # fmt: skip
    assert CategoryPolicy.from_seconds(policy.to_seconds()) == policy
    with pytest.raises(ValidationFailed):
        CategoryPolicy.from_seconds({"high_value_above": 1.5})
    with pytest.raises(ValidationFailed):
        CategoryPolicy(high_value_above=-1)
    with pytest.raises(ValidationFailed):
        CategoryPolicy(payment_window=timedelta(0))
    with pytest.raises(ValidationFailed):
        BusinessCalendar(weekend=frozenset(range(7)))

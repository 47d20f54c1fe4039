"""Exact money (DOMAIN.md, Orders) and Y1: windows and rules per product category."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.errors import ValidationFailed
from models.money import CurrencyMismatch, Money, currency_exponent, total
from models.orders import LineItem
from models.policy import DAY, DEFAULT_POLICY, HOUR, CategoryPolicy, PolicyBook

# --- Money ----------------------------------------------------------------------------------


def test_money_addition_and_subtraction_are_exact_integers() -> None:
    # 0.1 + 0.2 in floats is 0.30000000000000004; in minor units it is 30 exactly.
    assert Money(10, "USD") + Money(20, "USD") == Money(30, "USD")
    assert Money(1999, "USD") - Money(2000, "USD") == Money(-1, "USD")
    assert (Money(10, "USD") + Money(20, "USD")).amount == Decimal("0.30")
    assert Money(333, "EUR") * 3 == Money(999, "EUR")


def test_money_total_of_many_small_amounts_has_no_drift() -> None:
    cents = [Money(1, "USD")] * 10_000
    assert total(cents, "USD") == Money(10_000, "USD")
    assert total(cents, "USD").amount == Decimal("100.00")
    assert total([], "JPY") == Money.zero("JPY")


def test_money_refuses_mixed_currencies() -> None:
    usd, eur = Money(100, "USD"), Money(100, "EUR")
    with pytest.raises(CurrencyMismatch):
        usd + eur
    with pytest.raises(CurrencyMismatch):
        usd - eur
    with pytest.raises(CurrencyMismatch):
        usd < eur  # noqa: B015
    with pytest.raises(CurrencyMismatch):
        usd <= eur  # noqa: B015
    with pytest.raises(CurrencyMismatch):
        total([usd, eur], "USD")
    assert usd != eur


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        Money(12.34, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(Decimal("12.34"), "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")
    with pytest.raises(TypeError):
        Money(100, "USD") * 1.5  # type: ignore[operator]


def test_money_refuses_a_malformed_currency_code() -> None:
    for code in ("usd", "US", "USDX", ""):
        with pytest.raises(ValueError):
            Money(1, code)


@pytest.mark.parametrize(
    ("minor", "currency", "expected", "exponent"),
    [
        (1234, "USD", "12.34", -2),
        (5, "USD", "0.05", -2),
        (0, "USD", "0.00", -2),
        (-250, "EUR", "-2.50", -2),
        (1500, "JPY", "1500", 0),
        (0, "JPY", "0", 0),
        (99000, "KRW", "99000", 0),
    ],
)
def test_money_amount_is_an_exact_decimal_with_the_currency_exponent(
    minor: int, currency: str, expected: str, exponent: int
) -> None:
    amount = Money(minor, currency).amount
    assert isinstance(amount, Decimal)
    assert amount == Decimal(expected)
    assert amount.as_tuple().exponent == exponent
    assert str(amount) == expected
    assert str(Money(minor, currency)) == f"{expected} {currency}"


def test_money_currency_exponents() -> None:
    assert currency_exponent("USD") == 2
    assert currency_exponent("EUR") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("VND") == 0


def test_money_comparison_within_one_currency() -> None:
    assert Money(1, "USD") < Money(2, "USD")
    assert Money(2, "USD") <= Money(2, "USD")
    assert not Money(3, "USD") <= Money(2, "USD")
    assert Money(3, "USD") > Money(2, "USD")


@settings(max_examples=200, deadline=None)
@given(
    a=st.integers(-(10**15), 10**15),
    b=st.integers(-(10**15), 10**15),
    currency=st.sampled_from(["USD", "EUR", "JPY", "KRW"]),
)
def test_money_arithmetic_matches_integer_arithmetic(a: int, b: int, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y).minor == a + b
    assert (x - y).minor == a - b
    assert (x + y) - y == x
    assert (x + y).amount == x.amount + y.amount
    assert x.amount == Decimal(a) / (10 ** currency_exponent(currency))
    assert (x < y) == (a < b)


def test_line_item_subtotal_is_exact_and_refuses_bad_values() -> None:
    line = LineItem("l1", "SKU", "Pen", 3, Money(333, "USD"), "office")
    assert line.subtotal == Money(999, "USD")
    with pytest.raises(ValidationFailed) as err:
        LineItem("l1", "SKU", "Pen", 0, Money(333, "USD"), "office")
    assert err.value.field == "quantity"
    with pytest.raises(ValidationFailed) as err:
        LineItem("l1", "SKU", "Pen", 1, Money(-1, "USD"), "office")
    assert err.value.field == "unitPrice"


# --- Y1: CategoryPolicy ------------------------------------------------------------------------


def test_y1_defaults_are_the_marketplace_rules() -> None:
    assert DEFAULT_POLICY.unconditional_cancel_window == timedelta(hours=1)
    assert DEFAULT_POLICY.seller_response_window == timedelta(hours=48)
    assert DEFAULT_POLICY.return_refund_window == 15 * DAY
    assert DEFAULT_POLICY.instant_refund is False
    assert DEFAULT_POLICY.replacement_needs_item_back is True


WINDOWS = [
    "unconditional_cancel_window",
    "seller_response_window",
    "return_refund_window",
    "buyer_return_shipping_window",
    "seller_receipt_window",
    "appeal_window",
]


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        (name, bad)
        for name in WINDOWS
        for bad in (timedelta(0), timedelta(seconds=-1), -HOUR)
        # zero is no unconditional window (C1): the next test
        if bad or name != "unconditional_cancel_window"
    ],
)
def test_y1_policy_refuses_non_positive_windows(name: str, bad: timedelta) -> None:
    with pytest.raises(ValidationFailed) as err:
        CategoryPolicy(**{name: bad})
    assert err.value.field == name
    assert name in err.value.message


def test_c1_y1_the_unconditional_window_may_be_zero_from_the_api_too() -> None:
    policy = CategoryPolicy.from_seconds({"unconditional_cancel_window": 0})
    assert policy.unconditional_cancel_window == timedelta(0)
    with pytest.raises(ValidationFailed) as err:
        CategoryPolicy.from_seconds({"unconditional_cancel_window": -1})
    assert err.value.field == "unconditional_cancel_window"


def test_y1_policy_accepts_the_smallest_positive_window() -> None:
    policy = CategoryPolicy(seller_response_window=timedelta(microseconds=1))
    assert policy.seller_response_window == timedelta(microseconds=1)


def test_y1_to_seconds_gives_whole_seconds_and_flags() -> None:
    data = DEFAULT_POLICY.to_seconds()
    assert data["unconditional_cancel_window"] == 3600
    assert data["seller_response_window"] == 48 * 3600
    assert data["return_refund_window"] == 15 * 24 * 3600
    assert data["instant_refund"] is False
    assert data["replacement_needs_item_back"] is True
    assert all(type(v) in (int, bool) for v in data.values())


def test_y1_from_seconds_fills_missing_fields_with_defaults() -> None:
    policy = CategoryPolicy.from_seconds({"seller_response_window": 7200, "instant_refund": True})
    assert policy.seller_response_window == timedelta(hours=2)
    assert policy.instant_refund is True
    assert policy.unconditional_cancel_window == DEFAULT_POLICY.unconditional_cancel_window
    assert CategoryPolicy.from_seconds({}) == DEFAULT_POLICY


def test_y1_from_seconds_refuses_non_positive_windows() -> None:
    with pytest.raises(ValidationFailed) as err:
        CategoryPolicy.from_seconds({"appeal_window": 0})
    assert err.value.field == "appeal_window"


def test_y1_from_seconds_reuses_decoded_policies_but_still_checks_types() -> None:
    # Decoded policies are reused for equal data; a flag given as 1 (equal to True, and hashed
    # alike) is still refused after True was decoded, and a window given as True after 1.
    assert CategoryPolicy.from_seconds({"instant_refund": True}).instant_refund is True
    with pytest.raises(ValidationFailed):
        CategoryPolicy.from_seconds({"instant_refund": 1})
    assert CategoryPolicy.from_seconds({"appeal_window": 1}).appeal_window == timedelta(seconds=1)
    with pytest.raises(ValidationFailed):
        CategoryPolicy.from_seconds({"appeal_window": True})
    with pytest.raises(ValidationFailed):  # not hashable: decoded (and refused) all the same
        CategoryPolicy.from_seconds({"appeal_window": [1]})  # type: ignore[dict-item]
    data = DEFAULT_POLICY.to_seconds()
    assert CategoryPolicy.from_seconds(data) is CategoryPolicy.from_seconds(dict(data))


windows = st.integers(1, 400 * 24 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=200, deadline=None)
@given(
    policy=st.builds(
        CategoryPolicy,
        unconditional_cancel_window=windows,
        seller_response_window=windows,
        return_refund_window=windows,
        buyer_return_shipping_window=windows,
        seller_receipt_window=windows,
        appeal_window=windows,
        instant_refund=st.booleans(),
        replacement_needs_item_back=st.booleans(),
    )
)
def test_y1_to_seconds_from_seconds_round_trip(policy: CategoryPolicy) -> None:
    data = policy.to_seconds()
    assert CategoryPolicy.from_seconds(data) == policy
    assert CategoryPolicy.from_seconds(data).to_seconds() == data


# --- Y1: PolicyBook -----------------------------------------------------------------------------


BOOK = PolicyBook(
    {
        "food": CategoryPolicy(
            unconditional_cancel_window=timedelta(minutes=15),
            seller_response_window=72 * HOUR,
        ),
        "jewellery": CategoryPolicy(
            unconditional_cancel_window=3 * HOUR,
            seller_response_window=24 * HOUR,
        ),
        "custom": CategoryPolicy(
            unconditional_cancel_window=timedelta(minutes=30),
            seller_response_window=12 * HOUR,
        ),
    }
)


def test_y1_category_without_its_own_policy_gets_the_default() -> None:
    assert BOOK.for_category("books") == DEFAULT_POLICY
    assert BOOK.for_order(["books"]) == DEFAULT_POLICY
    assert BOOK.for_order([]) == DEFAULT_POLICY
    assert BOOK.for_category("food").unconditional_cancel_window == timedelta(minutes=15)


def test_y1_single_category_order_uses_that_categorys_policy() -> None:
    assert BOOK.for_order(["jewellery", "jewellery"]) == BOOK.for_category("jewellery")


def test_y1_for_order_picks_the_shortest_unconditional_cancel_window() -> None:
    policy = BOOK.for_order(["jewellery", "books", "food"])
    # food 15 min < books (default) 1 h < jewellery 3 h.
    assert policy.unconditional_cancel_window == timedelta(minutes=15)


def test_y1_for_order_picks_the_shortest_seller_response_window() -> None:
    policy = BOOK.for_order(["food", "jewellery"])
    # jewellery 24 h < food 72 h.
    assert policy.seller_response_window == 24 * HOUR


def test_y1_for_order_takes_each_minimum_independently() -> None:
    # The shortest cancel window (food) and the shortest response window (custom) come from
    # different categories; a default category adds its own 1 h and 48 h to the comparison.
    policy = BOOK.for_order(["food", "custom", "books"])
    assert policy.unconditional_cancel_window == timedelta(minutes=15)
    assert policy.seller_response_window == 12 * HOUR
    mixed_with_default = BOOK.for_order(["jewellery", "books"])
    assert mixed_with_default.unconditional_cancel_window == HOUR
    assert mixed_with_default.seller_response_window == 24 * HOUR


def test_y1_for_order_uses_the_default_of_the_book() -> None:
    strict = CategoryPolicy(unconditional_cancel_window=timedelta(minutes=5))
    book = PolicyBook({}, default=strict)
    assert book.for_order(["anything"]).unconditional_cancel_window == timedelta(minutes=5)


def test_y1_for_order_combines_every_field_whatever_the_order_of_categories() -> None:
    food = CategoryPolicy(return_refund_window=timedelta(days=30), instant_refund=True)
    book = PolicyBook({"food": food})
    for categories in (["food", "books"], ["books", "food"], ["books", "food", "food"]):
        combined = book.for_order(categories)
        # Every window the shortest, instant only if every category is, item back if any asks.
        assert combined.return_refund_window == DEFAULT_POLICY.return_refund_window
        assert combined.instant_refund is False
        assert combined.replacement_needs_item_back is True
    assert book.for_order(["food"]) == food


def test_y1_from_seconds_refuses_a_window_given_as_a_flag_and_a_flag_given_as_a_number() -> None:
    with pytest.raises(ValidationFailed) as window:
        CategoryPolicy.from_seconds({"seller_response_window": True})
    with pytest.raises(ValidationFailed) as flag:
        CategoryPolicy.from_seconds({"instant_refund": 1})
    assert (window.value.field, flag.value.field) == ("seller_response_window", "instant_refund")


def test_y1_sub_second_windows_survive_a_round_trip() -> None:
    policy = CategoryPolicy(seller_response_window=timedelta(milliseconds=1500))
    assert CategoryPolicy.from_seconds(policy.to_seconds()) == policy

"""GraphQL inputs every feature shares: ids, money and the idempotency key's help text."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import overload

import strawberry

from models.errors import ValidationFailed
from models.money import Money, currency_exponent

IDEMPOTENCY_HELP = (
    "Repeat a call with the same key to get its first outcome; nothing changes twice."
)


@strawberry.input
class LineQuantityInput:
    line_id: strawberry.ID
    quantity: int


_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@overload
def well_formed_id(value: str, field: str) -> str: ...
@overload
def well_formed_id(value: None, field: str) -> None: ...
def well_formed_id(value: str | None, field: str) -> str | None:
    """Ids are short and plain; anything else is refused before it reaches the database."""
    if value is not None and not _ID_PATTERN.fullmatch(value):
        raise ValidationFailed(f"{field} is not a well-formed id", field=field)
    return value


# Far above any one order on the shop (10 million in a two-decimal currency), far below where
# arithmetic on totals could surprise: money from a client is at most this, either way.
MAX_MONEY_MINOR = 1_000_000_000
# 10**MAX_MONEY_DIGITS > MAX_MONEY_MINOR: an amount whose leading digit sits at or above this
# power of ten (in minor units) is over the bound, decided from its exponent alone.
MAX_MONEY_DIGITS = len(str(MAX_MONEY_MINOR))
# More significant digits than any amount needs ("1.000...0" stays exact, but is refused past
# this): the digits are read one by one below, so their number is bounded before that.
MAX_AMOUNT_DIGITS = 40


@strawberry.input(description="Exact money: a decimal string in the currency's major unit.")
class MoneyInput:
    amount: Decimal
    currency: str


def money_of(m: MoneyInput | None, field: str) -> Money | None:
    """Exact minor units, or a ValidationFailed on `field`: never a float, never rounded.

    Every bound is checked on the Decimal's exponent and digit count before any arithmetic:
    the client chooses the exponent ("1E+999999999"), and scaling or int() on it would cost
    time and memory in proportion to it. What reaches the arithmetic has at most
    MAX_AMOUNT_DIGITS digits and an exponent within a few dozen of zero."""
    if m is None:
        return None
    currency = m.currency.strip().upper()
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise ValidationFailed("currency is an ISO 4217 code", field=field)
    amount = m.amount
    if not isinstance(amount, Decimal) or not amount.is_finite():  # NaN, sNaN, Infinity
        raise ValidationFailed("amount is not a finite number", field=field)
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    if len(digits) > MAX_AMOUNT_DIGITS:
        raise ValidationFailed(f"amount has more than {MAX_AMOUNT_DIGITS} digits", field=field)
    if not any(digits):
        return Money(0, currency)  # zero (and -0, 0E+999999999): R7 refuses it in the domain
    # The exponent of the amount's leading digit, counted in minor units.
    exponent += currency_exponent(currency)
    leading = exponent + len(digits) - 1
    if leading >= MAX_MONEY_DIGITS:
        raise ValidationFailed(f"{field} is over {MAX_MONEY_MINOR} minor units", field=field)
    fraction = digits[len(digits) + exponent :] if exponent < 0 else ()
    if leading < 0 or any(fraction):
        raise ValidationFailed(f"amount has more decimals than {currency} allows", field=field)
    # Here 0 <= leading < MAX_MONEY_DIGITS: the arithmetic below is on at most ten digits.
    whole = digits[: len(digits) - len(fraction)]
    minor = int("".join(map(str, whole))) * 10 ** max(exponent, 0)
    if minor > MAX_MONEY_MINOR:
        raise ValidationFailed(f"{field} is over {MAX_MONEY_MINOR} minor units", field=field)
    # More than zero is R7's, with its own code (REFUND_AMOUNT_INVALID), decided in the domain.
    return Money(-minor if sign else minor, currency)

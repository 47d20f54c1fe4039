"""Exact money: integer minor units with an ISO 4217 currency, never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

# Minor-unit exponents for the currencies TikTok Shop settles in; anything else has two.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "IDR": 0, "CLP": 0}


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


@lru_cache(maxsize=4096)
def _major_units(minor: int, exponent: int) -> Decimal:
    # Decimals are immutable, and a shop's prices repeat: a page of 50 requests shows ~200.
    return Decimal(minor).scaleb(-exponent)


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, order=False)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int (minor units)")
        if len(self.currency) != 3 or not (self.currency.isalpha() and self.currency.isupper()):
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def amount(self) -> Decimal:
        """The amount in major units, exactly (Decimal('12.34'))."""
        return _major_units(self.minor, currency_exponent(self.currency))

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.minor * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def total(amounts: list[Money], currency: str) -> Money:
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result

"""Decoding stored documents shares immutable values (money, reasons) without loosening checks."""

from __future__ import annotations

import pytest

from models.money import Money
from resolvers.values import Reason
from storage.documents import money_from


def test_stored_money_decodes_to_shared_equal_values() -> None:
    first = money_from({"minor": 1299, "currency": "USD"})
    assert first == Money(1299, "USD")
    assert money_from({"minor": 1299, "currency": "USD"}) is first
    assert money_from({"minor": 1299, "currency": "EUR"}) == Money(1299, "EUR")


def test_stored_money_with_a_bad_currency_is_refused_every_time() -> None:
    for _ in range(2):  # a refusal is not remembered as a value
        with pytest.raises(ValueError):
            money_from({"minor": 1, "currency": "usd"})


def test_reasons_are_shared_per_code_with_their_display_text() -> None:
    reason = Reason.of("CHANGED_MIND")
    assert reason is Reason.of("CHANGED_MIND")
    assert reason.code == "CHANGED_MIND" and reason.display_text
    assert Reason.of("OUT_OF_STOCK").code == "OUT_OF_STOCK"

"""A request list's query: one equality prefix and at most one range, on the key its page is
sorted by; a filter that needs another sort, or two ranges, is refused with the field to fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.access import Scope
from models.errors import ValidationFailed
from storage.after_sales import AfterSaleFilter
from storage.request_store import SORTS, in_scope

AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SHOP = Scope(shop_id="shop-1")
CREATED = AfterSaleFilter(created_from=AT)
DEADLINE = AfterSaleFilter(deadline_before=AT)
BOTH = AfterSaleFilter(created_to=AT, deadline_before=AT)


def refusal(f: AfterSaleFilter, sort: str | None) -> tuple[str, str | None]:
    with pytest.raises(ValidationFailed) as raised:
        f.query(SHOP, None, SORTS[sort] if sort else None)
    return str(raised.value), raised.value.field


def test_each_range_filter_goes_with_the_sorts_on_its_key_and_a_count() -> None:
    for sort in ("NEWEST", "OLDEST", None):
        assert set(CREATED.query(SHOP, None, SORTS[sort] if sort else None)) == {
            "shop_id",
            "tabs",
            "k_requested",
        }
    for sort in ("DEADLINE_SOONEST", None):
        query = DEADLINE.query(SHOP, None, SORTS[sort] if sort else None)
        assert set(query) == {"shop_id", "tabs", "k_deadline"}
    assert refusal(CREATED, "DEADLINE_SOONEST") == (
        "a created-between filter sorts by NEWEST or OLDEST",
        "sort",
    )
    assert refusal(DEADLINE, "OLDEST") == (
        "a deadline-before filter sorts by DEADLINE_SOONEST",
        "sort",
    )


def test_both_ranges_are_refused_the_created_range_sort_first() -> None:
    not_both = ("filter by created between or by deadline before, not both", "filter")
    assert refusal(BOTH, "NEWEST") == not_both
    assert refusal(BOTH, None) == not_both
    assert refusal(BOTH, "DEADLINE_SOONEST")[0].startswith("a created-between filter")


def test_an_order_filters_requests_to_the_scope_and_the_buyer_it_names() -> None:
    doc = {"shop_id": "shop-1", "buyer_id": "buyer-1"}
    assert in_scope(doc, SHOP, None) and in_scope(doc, SHOP, "buyer-1")
    assert in_scope(doc, Scope(buyer_id="buyer-1"), None)
    assert not in_scope(doc, Scope(shop_id="shop-2"), None)
    assert not in_scope(doc, SHOP, "buyer-2")
    assert not in_scope(doc, Scope(buyer_id="buyer-1"), "buyer-2")

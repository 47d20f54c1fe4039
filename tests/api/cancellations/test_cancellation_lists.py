"""The Manage Cancellations page: tabs with counts, filters, sorts and cursor paging."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.clock import SettableClock
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.api_client import GraphQLError as ApiError
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

REQUEST = """
mutation($o: ID!) { requestCancellation(input: {orderId: $o, reason: OTHER}) { ... on Cancellation { id } } }"""
LIST = """
query($tab: CancellationTab!, $sort: CancellationSort!, $first: Int!, $after: String,
      $filter: CancellationFilter, $shop: ID) {
  cancellations(shopId: $shop, tab: $tab, sort: $sort, first: $first, after: $after, filter: $filter) {
    edges { cursor node { id status requestedAt respondBy buyerId orderId } }
    pageInfo { hasNextPage endCursor }
  }
}"""
COUNTS = "query($shop: ID, $filter: CancellationFilter) { cancellationTabCounts(shopId: $shop, filter: $filter) { tab count } }"


async def _shop_with_requests(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> dict[str, list[str]]:
    """Five pending requests made an hour apart, two accepted, one rejected."""
    made: dict[str, list[str]] = {"pending": [], "buyers": [], "orders": []}
    for _ in range(8):
        buyer_id = new_buyer_id()
        order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
        data = await api(REQUEST, {"o": order.id}, buyer(buyer_id))
        made["pending"].append(data["requestCancellation"]["id"])
        made["buyers"].append(buyer_id)
        made["orders"].append(order.id)
        clock.advance(timedelta(hours=1))
    for cid in made["pending"][5:7]:
        await api(
            "mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) { __typename } }",
            {"id": cid},
            seller(shop_id),
        )
    await api(
        "mutation($id: ID!) { rejectCancellation(input: {cancellationId: $id, reason: OTHER}) { __typename } }",
        {"id": made["pending"][7]},
        seller(shop_id),
    )
    return made


async def test_tabs_list_the_right_requests_with_counts(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    made = await _shop_with_requests(api, db, clock, shop_id)
    me = seller(shop_id, adjust=False)  # reading needs no permission

    counts = (await api(COUNTS, actor=me))["cancellationTabCounts"]
    assert counts == [
        {"tab": "ALL", "count": 8},
        {"tab": "TO_PROCEED", "count": 5},
        {"tab": "COMPLETED", "count": 2},
        {"tab": "CLOSED", "count": 1},
    ]
    for tab, expected in (("TO_PROCEED", 5), ("COMPLETED", 2), ("CLOSED", 1), ("ALL", 8)):
        page = await api(LIST, {"tab": tab, "sort": "NEWEST", "first": 50}, me)
        assert len(page["cancellations"]["edges"]) == expected
    closed = await api(LIST, {"tab": "CLOSED", "sort": "NEWEST", "first": 50}, me)
    assert [e["node"]["id"] for e in closed["cancellations"]["edges"]] == [made["pending"][7]]


async def test_sorts_and_cursor_paging_walk_every_request_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    made = await _shop_with_requests(api, db, clock, shop_id)
    me = seller(shop_id)

    seen: list[str] = []
    after = None
    while True:
        data = await api(LIST, {"tab": "ALL", "sort": "OLDEST", "first": 3, "after": after}, me)
        conn = data["cancellations"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == made["pending"]  # oldest first, each exactly once

    newest = await api(LIST, {"tab": "ALL", "sort": "NEWEST", "first": 50}, me)
    assert [e["node"]["id"] for e in newest["cancellations"]["edges"]] == made["pending"][::-1]

    soonest = await api(LIST, {"tab": "TO_PROCEED", "sort": "DEADLINE_SOONEST", "first": 50}, me)
    deadlines = [e["node"]["respondBy"] for e in soonest["cancellations"]["edges"]]
    assert deadlines == sorted(deadlines) and len(deadlines) == 5
    everything = await api(LIST, {"tab": "ALL", "sort": "DEADLINE_SOONEST", "first": 50}, me)
    head = [e["node"]["status"] for e in everything["cancellations"]["edges"]][:5]
    tail = [e["node"]["status"] for e in everything["cancellations"]["edges"]][5:]
    # Requests whose deadline no longer runs come last (a decided one keeps its respondBy).
    assert head == ["PENDING"] * 5 and len(tail) == 3 and "PENDING" not in tail


async def test_filters_by_order_buyer_and_created_between(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    start = clock.now()
    made = await _shop_with_requests(api, db, clock, shop_id)
    me = seller(shop_id)

    by_order = await api(
        LIST,
        {"tab": "ALL", "sort": "NEWEST", "first": 50, "filter": {"orderId": made["orders"][2]}},
        me,
    )
    assert [e["node"]["id"] for e in by_order["cancellations"]["edges"]] == [made["pending"][2]]
    by_buyer = await api(
        LIST,
        {"tab": "ALL", "sort": "NEWEST", "first": 50, "filter": {"buyerId": made["buyers"][4]}},
        me,
    )
    assert [e["node"]["buyerId"] for e in by_buyer["cancellations"]["edges"]] == [made["buyers"][4]]
    window = {
        "createdFrom": (start + timedelta(hours=1)).isoformat(),
        "createdTo": (start + timedelta(hours=3)).isoformat(),
    }
    between = await api(LIST, {"tab": "ALL", "sort": "OLDEST", "first": 50, "filter": window}, me)
    assert [e["node"]["id"] for e in between["cancellations"]["edges"]] == made["pending"][1:3]
    counts = (await api(COUNTS, {"filter": window}, me))["cancellationTabCounts"]
    assert counts[0] == {"tab": "ALL", "count": 2}


async def test_sellers_see_only_their_shop_and_buyers_only_their_requests(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    made = await _shop_with_requests(api, db, clock, shop_id)

    foreign = await api.raw(
        LIST, {"tab": "ALL", "sort": "NEWEST", "first": 5, "shop": shop_id}, seller("shop-x")
    )
    assert foreign["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    own_shop_only = await api(LIST, {"tab": "ALL", "sort": "NEWEST", "first": 50}, seller("shop-x"))
    assert own_shop_only["cancellations"]["edges"] == []
    mine = await api(LIST, {"tab": "ALL", "sort": "NEWEST", "first": 50}, buyer(made["buyers"][0]))
    assert [e["node"]["id"] for e in mine["cancellations"]["edges"]] == [made["pending"][0]]
    platform = await api(
        LIST, {"tab": "ALL", "sort": "NEWEST", "first": 50, "shop": shop_id}, PLATFORM
    )
    assert len(platform["cancellations"]["edges"]) == 8
    with pytest.raises(ApiError) as no_shop:
        await api(LIST, {"tab": "ALL", "sort": "NEWEST", "first": 5}, PLATFORM)
    assert no_shop.value.code == "VALIDATION_FAILED"
    stranger = await api.raw(
        "query($id: ID!) { cancellation(id: $id) { id } }",
        {"id": made["pending"][0]},
        buyer("someone-else"),
    )
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # as an unknown id


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"first": 5, "after": "not-a-cursor"}, "after"),
        ({"first": 5, "filter": {"orderId": "bad id!"}}, "filter.orderId"),
        (
            {
                "first": 5,
                "sort": "DEADLINE_SOONEST",
                "filter": {"createdFrom": "2026-01-01T00:00:00Z"},
            },
            "sort",
        ),
    ],
)
async def test_bad_list_arguments_get_a_clear_error(
    api: GraphQLClient, shop_id: str, variables: dict, field: str
) -> None:
    with pytest.raises(ApiError) as err:
        await api(LIST, {"tab": "ALL", "sort": "NEWEST"} | variables, seller(shop_id))
    assert err.value.code == "VALIDATION_FAILED"
    assert err.value.errors[0]["extensions"]["field"] == field


async def test_a_cursor_of_another_sort_is_refused(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _shop_with_requests(api, db, clock, shop_id)
    page = await api(LIST, {"tab": "ALL", "sort": "NEWEST", "first": 2}, seller(shop_id))
    cursor = page["cancellations"]["pageInfo"]["endCursor"]

    with pytest.raises(ApiError) as err:
        await api(
            LIST, {"tab": "ALL", "sort": "OLDEST", "first": 2, "after": cursor}, seller(shop_id)
        )
    assert "sort NEWEST" in str(err.value)


async def test_requests_without_identity_are_refused(api: GraphQLClient) -> None:
    missing = await api.raw("{ viewer { id } }")
    malformed = await api.raw("{ viewer { id } }", actor="root")
    assert missing["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert malformed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    catalogue = await api("{ buyerCancellationReasons { code } }")  # public reference data
    assert catalogue["buyerCancellationReasons"]

"""Every input is checked before anything is written: ids, enums, lengths, keys, money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.errors import ValidationFailed
from models.money import Money
from resolvers.inputs import MAX_MONEY_MINOR, MoneyInput, money_of, well_formed_id
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

RESULT = "__typename ... on UserError { code field message }"
LONG = "x" * 501


def _cases(order_id: str, buyer_id: str, shop_id: str) -> list[tuple[str, str, str, str]]:
    """(actor, mutation with its input, the field at fault, what it tests)."""
    b, s = buyer(buyer_id), seller(shop_id)
    return [
        (
            b,
            f'requestCancellation(input: {{orderId: "{order_id}!", reason: CHANGED_MIND}})',
            "orderId",
            "id",
        ),
        (
            b,
            f'requestCancellation(input: {{orderId: "{order_id}", reason: CHANGED_MIND, note: "{LONG}"}})',
            "note",
            "length",
        ),
        (
            b,
            f'requestCancellation(input: {{orderId: "{order_id}", reason: CHANGED_MIND, idempotencyKey: "{"k" * 129}"}})',
            "idempotencyKey",
            "key length",
        ),
        (
            b,
            f'requestCancellation(input: {{orderId: "{order_id}", reason: CHANGED_MIND, idempotencyKey: ""}})',
            "idempotencyKey",
            "empty key",
        ),
        (
            b,
            f'requestCancellation(input: {{orderId: "{order_id}", reason: CHANGED_MIND, idempotencyKey: "a\\nb"}})',
            "idempotencyKey",
            "control character",
        ),
        (
            s,
            f'cancelOrder(input: {{orderId: "{order_id}", reason: OUT_OF_STOCK, comment: "{LONG}"}})',
            "comment",
            "length",
        ),
        (s, 'cancelOrder(input: {orderId: "$where: 1", reason: OUT_OF_STOCK})', "orderId", "id"),
        (
            s,
            f'handToCarrier(input: {{orderId: "{order_id}", carrier: "{"c" * 65}", trackingNumber: "1Z"}})',
            "carrier",
            "length",
        ),
        (
            s,
            f'handToCarrier(input: {{orderId: "{order_id}", carrier: "UPS", trackingNumber: "  "}})',
            "trackingNumber",
            "blank",
        ),
        (s, 'acceptCancellation(input: {cancellationId: ""})', "cancellationId", "empty id"),
        (
            s,
            f'rejectCancellation(input: {{cancellationId: "{"c" * 65}", reason: OTHER}})',
            "cancellationId",
            "id length",
        ),
        (PLATFORM, 'recordPayment(input: {orderId: "ord 1"})', "orderId", "id"),
    ]


async def test_bad_input_is_a_typed_error_and_writes_nothing(
    api: GraphQLClient, db: Database, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, datetime.now(UTC) - timedelta(hours=3))
    before = await db.orders.find_one({"_id": order.id})
    for actor, mutation, field, what in _cases(order.id, buyer_id, shop_id):
        data = await api(f"mutation {{ m: {mutation} {{ {RESULT} }} }}", actor=actor)
        assert data["m"]["__typename"] == "ValidationError", (what, data)
        assert data["m"]["field"] == field, (what, data)
    assert await db.orders.find_one({"_id": order.id}) == before
    assert await db.cancellations.count_documents({"order_id": order.id}) == 0


async def test_a_value_outside_an_enum_is_refused_by_the_schema(
    api: GraphQLClient, shop_id: str
) -> None:
    body = await api.raw(
        'mutation { cancelOrder(input: {orderId: "o-1", reason: BECAUSE}) { __typename } }',
        actor=seller(shop_id),
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    as_variable = await api.raw(
        'mutation($r: SellerCancelReason!) { cancelOrder(input: {orderId: "o-1", reason: $r}) { __typename } }',
        {"r": "BECAUSE"},
        seller(shop_id),
    )
    assert as_variable["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("10000000.01", "USD"),  # one minor unit over the bound
        ("-10000000.01", "USD"),
        ("0.001", "USD"),  # finer than a cent
        ("1", "US"),
        ("1", "\u00dcSD"),  # not ASCII
        ("NaN", "USD"),
        ("Infinity", "USD"),
    ],
)
def test_money_from_a_client_is_bounded_exact_and_in_a_currency(amount: str, currency: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        money_of(MoneyInput(amount=Decimal(amount), currency=currency), "partialAmount")
    assert err.value.field == "partialAmount"


def test_money_within_bounds_is_exact() -> None:
    # Zero and below reach the domain, whose rule (R7) answers REFUND_AMOUNT_INVALID.
    assert money_of(MoneyInput(amount=Decimal("-1"), currency="USD"), "a") == Money(-100, "USD")
    assert money_of(MoneyInput(amount=Decimal("0.01"), currency="usd"), "a") == Money(1, "USD")
    top = MoneyInput(amount=Decimal(MAX_MONEY_MINOR), currency="JPY")
    assert money_of(top, "a") == Money(MAX_MONEY_MINOR, "JPY")


@pytest.mark.parametrize("bad", ["", "a b", "a" * 65, "ord/1", "ord\x00", "ord_1\n", "{$gt: ''}"])
def test_ids_are_short_and_plain(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        well_formed_id(bad, "id")

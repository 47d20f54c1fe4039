"""What a hostile caller sends is refused with a typed answer, cheaply and before it is used:
money with a huge exponent, rules written by callers who may never write them, idempotency keys
replayed across shops and callers, strings that are not valid Unicode."""

from __future__ import annotations

import base64
import json
from decimal import Context, Decimal, InvalidOperation, Overflow, Underflow, localcontext
from typing import Any

import pytest

from models.errors import ValidationFailed
from resolvers.inputs import MoneyInput, money_of
from resolvers.subscriptions import decode_cursor as decode_feed_cursor
from resolvers.subscriptions import encode_cursor as encode_feed_cursor
from tests.api_client import GraphQLClient
from tests.factories import PLATFORM, buyer, new_buyer_id, seller
from tests.test_helpdesk_api import CREATE_RULE

UPDATE_RULE = """
mutation($id: ID!, $rule: TicketRuleInput!) {
  updateTicketRule(input: {ruleId: $id, rule: $rule}) {
    __typename ... on UserError { code field } ... on TicketRule { id }
  }
}"""


def _rule_with_amount(amount: str) -> dict[str, Any]:
    return {
        "name": "Approve small ones",
        "condition": {"amountBelow": {"amount": amount, "currency": "USD"}},
        "action": {"kind": "APPROVE"},
    }


# ---- money ---------------------------------------------------------------------------------


class _NoArithmetic(Decimal):
    """A Decimal that fails on any arithmetic or conversion: what a bound check may not do to a
    client's amount before it knows the amount is small."""

    def _refuse(self, *_: object, **__: object) -> Any:
        raise AssertionError("arithmetic on an unchecked amount")

    scaleb = to_integral_value = quantize = normalize = _refuse
    __int__ = __float__ = __mul__ = __rmul__ = __add__ = __radd__ = _refuse
    __eq__ = __ne__ = __lt__ = __gt__ = __le__ = __ge__ = _refuse  # type: ignore[assignment]
    __hash__ = Decimal.__hash__


@pytest.mark.parametrize(
    "amount",
    ["1E+999990", "1E+999999999", "-1E+999999999", "1E-999999", "1E-999999999", "1" + "0" * 60],
)
def test_a_money_bound_is_decided_from_the_exponent_and_digits_before_any_arithmetic(
    amount: str,
) -> None:
    # Decimal arithmetic on the amount's magnitude would trap in this context (an exponent past
    # 40 either way), and the amount's own arithmetic fails: the check reads only its sign,
    # digits and exponent, so its cost does not grow with the exponent the client chose.
    tight = Context(Emax=40, Emin=-40, traps=[Overflow, Underflow, InvalidOperation])
    with localcontext(tight), pytest.raises(ValidationFailed) as err:
        money_of(MoneyInput(amount=_NoArithmetic(amount), currency="USD"), "partialAmount")
    assert err.value.field == "partialAmount"


@pytest.mark.parametrize(
    ("amount", "minor"),
    [("-0", 0), ("0E+999999999", 0), ("0E-999999999", 0), ("1.000", 100), ("1E+2", 10000)],
)
def test_zero_and_trailing_zeros_of_any_exponent_are_exact(amount: str, minor: int) -> None:
    money = money_of(MoneyInput(amount=Decimal(amount), currency="USD"), "a")
    assert money is not None and money.minor == minor


@pytest.mark.parametrize("amount", ["1E+999999999", "1E+999990", "NaN", "-Infinity", "sNaN"])
async def test_a_huge_or_non_finite_amount_in_a_rule_is_a_validation_error(
    api: GraphQLClient, shop_id: str, amount: str
) -> None:
    data = await api(CREATE_RULE, {"rule": _rule_with_amount(amount)}, seller(shop_id))
    result = data["createTicketRule"]
    assert (result["__typename"], result["field"]) == ("ValidationError", "condition.amountBelow")


async def test_a_buyer_writing_a_rule_is_refused_before_the_rule_is_read(
    api: GraphQLClient, shop_id: str
) -> None:
    # The amount alone would be a validation error (and was an internal error): the caller
    # decides first, so a buyer learns nothing about how the input is checked.
    rule = _rule_with_amount("1E+999999999")
    for caller in (buyer(new_buyer_id()), seller(shop_id, adjust=False)):
        data = await api(CREATE_RULE, {"rule": rule}, caller)
        assert data["createTicketRule"]["__typename"] == "ForbiddenError", caller
        updated = await api(UPDATE_RULE, {"id": "rule_whatever", "rule": rule}, caller)
        assert updated["updateTicketRule"]["__typename"] == "ForbiddenError", caller


async def test_a_caller_who_may_never_decide_is_refused_before_a_malformed_input_is_read(
    api: GraphQLClient,
) -> None:
    approve = """mutation($a: Decimal!) { approveAfterSale(input: {requestId: "not an id!",
        decision: APPROVE_REFUND, partialAmount: {amount: $a, currency: "USD"}}) {
        __typename ... on UserError { code } } }"""
    data = await api(approve, {"a": "1E+999999999"}, buyer(new_buyer_id()))
    assert data["approveAfterSale"]["__typename"] == "ForbiddenError"
    accept = 'mutation { acceptCancellation(input: {cancellationId: "$bad id"}) { __typename } }'
    data = await api(accept, actor=PLATFORM)
    assert data["acceptCancellation"]["__typename"] == "ForbiddenError"


# ---- cursors -------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _b64(b"[" * 20_000),  # nesting past the JSON decoder's recursion limit
        _b64(json.dumps(["NEWEST", "\ud800"]).encode()),  # a key the database cannot store
        _b64(json.dumps(["\ud800", "x"]).encode()),
        "A" * 60_000,
    ],
)
async def test_a_forged_page_cursor_is_a_validation_error(
    api: GraphQLClient, shop_id: str, cursor: str
) -> None:
    query = """query($shop: ID, $after: String) {
        cancellations(shopId: $shop, sort: NEWEST, first: 5, after: $after) { pageInfo { hasNextPage } } }"""
    body = await api.raw(query, {"shop": shop_id, "after": cursor}, seller(shop_id))
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "VALIDATION_FAILED",
        "after",
    )


@pytest.mark.parametrize("seq", [str(10**30), "+1", " 1", "1_0", "\u0661", "-1", ""])
def test_a_feed_cursor_is_an_event_number_of_at_most_18_digits(seq: str) -> None:
    forged = _b64(f"shop-1:{seq}".encode())
    with pytest.raises(ValidationFailed):
        decode_feed_cursor(forged, "shop-1")
    assert decode_feed_cursor(encode_feed_cursor("shop-1", 10**17), "shop-1") == 10**17

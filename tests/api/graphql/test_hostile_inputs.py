"""What a hostile caller sends is refused with a typed answer, cheaply and before it is used:
money with a huge exponent, rules written by callers who may never write them, idempotency keys
replayed across shops and callers, strings that are not valid Unicode."""

from __future__ import annotations

import base64
import json
import random
import secrets
import string
from dataclasses import replace
from datetime import timedelta
from decimal import Context, Decimal, InvalidOperation, Overflow, Underflow, localcontext
from fractions import Fraction
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.app import create_app
from api.identity import DEVELOPMENT_SECRET, Unauthenticated, actor_from_connection_params
from api.settings import SettingsError, check_production, default_settings
from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.after_sales_machine import DecisionType
from models.clock import SettableClock
from models.commands import AcceptCancellation, ApproveAfterSale
from models.errors import Forbidden, ValidationFailed
from models.money import Money, currency_exponent
from resolvers.feed.reading import decode_cursor as decode_feed_cursor
from resolvers.feed.reading import encode_cursor as encode_feed_cursor
from resolvers.inputs import MAX_AMOUNT_DIGITS, MAX_MONEY_MINOR, MoneyInput, money_of
from services.bootstrap import Services
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order, mutate, ok
from tests.support.api_client import GraphQLClient, authorization
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller
from tests.support.helpdesk_api import CREATE_RULE
from tests.support.live import Client, serving

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


@hypothesis_settings(max_examples=500, deadline=None)
# More digits than the default decimal context's 28: scaling rounded them away, and a fraction of
# a cent was accepted as a whole amount.
@example(sign=0, digits=[1, *[0] * 30, 1], exponent=-31, currency="USD")
@example(sign=1, digits=[1, *[0] * 42], exponent=-42, currency="USD")
@given(
    sign=st.integers(0, 1),
    digits=st.lists(st.integers(0, 9), min_size=1, max_size=45),
    exponent=st.integers(-60, 60),
    currency=st.sampled_from(["USD", "JPY"]),
)
def test_money_is_the_exact_amount_in_minor_units_or_refused(
    sign: int, digits: list[int], exponent: int, currency: str
) -> None:
    amount = Decimal((sign, tuple(digits), exponent))
    minor = Fraction(amount) * 10 ** currency_exponent(currency)  # exact, the slow way
    fits = (
        minor.denominator == 1
        and abs(minor) <= MAX_MONEY_MINOR
        and len(amount.as_tuple().digits) <= MAX_AMOUNT_DIGITS  # leading zeros dropped
    )
    try:
        money = money_of(MoneyInput(amount=amount, currency=currency), "a")
    except ValidationFailed:
        assert not fits, (amount, currency)
    else:
        assert fits and money == Money(int(minor), currency), (amount, currency, money)


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


# ---- idempotency keys belong to their caller, and a replay passes the call's access ----------
# What another caller gets for a key they did not use: the call runs as theirs (their own
# outcome, or FORBIDDEN when the item is not theirs); never the first caller's outcome.

ACCEPT = """mutation($id: ID!, $key: String) {
  r: acceptCancellation(input: {cancellationId: $id, idempotencyKey: $key}) {
    __typename ... on Cancellation { id orderId } ... on UserError { code } } }"""
SELLER_CANCEL = """mutation($o: ID!, $key: String) {
  r: cancelOrder(input: {orderId: $o, reason: OUT_OF_STOCK, idempotencyKey: $key}) {
    __typename ... on Cancellation { id orderId } ... on UserError { code } } }"""
BUYER_CANCEL = """mutation($o: ID!, $key: String) {
  r: requestCancellation(input: {orderId: $o, reason: CHANGED_MIND, idempotencyKey: $key}) {
    __typename ... on Cancellation { id orderId } ... on UserError { code } } }"""


async def _requested(api: GraphQLClient, db: Database, clock: SettableClock, shop: str) -> str:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop, buyer_id, clock.now() - timedelta(hours=2))
    data = await api(BUYER_CANCEL, {"o": order.id}, buyer(buyer_id))
    return data["r"]["id"]


async def test_another_shops_agent_with_the_same_id_replaying_a_key_gets_nothing_of_the_first_shop(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    other_shop = f"{shop_id}-b"
    # agent-7 of each shop: the same agent id, two callers.
    order = await place_order(db, shop_id, new_buyer_id(), clock.now())
    first = await api(SELLER_CANCEL, {"o": order.id, "key": "k-1"}, seller(shop_id))
    assert first["r"]["__typename"] == "Cancellation"

    replayed = await api(SELLER_CANCEL, {"o": order.id, "key": "k-1"}, seller(other_shop))
    assert replayed["r"] == {"__typename": "NotFoundError", "code": "NOT_FOUND"}  # as unknown

    own = await place_order(db, other_shop, new_buyer_id(), clock.now())
    theirs = await api(SELLER_CANCEL, {"o": own.id, "key": "k-1"}, seller(other_shop))
    assert theirs["r"]["__typename"] == "Cancellation"
    assert theirs["r"]["orderId"] == own.id and theirs["r"]["id"] != first["r"]["id"]


async def test_an_agent_who_lost_adjustments_cannot_replay_their_decision(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _requested(api, db, clock, shop_id)
    first = await api(ACCEPT, {"id": cid, "key": "k-2"}, seller(shop_id))
    assert first["r"]["__typename"] == "Cancellation"

    again = await api(ACCEPT, {"id": cid, "key": "k-2"}, seller(shop_id, adjust=False))

    assert again["r"] == {"__typename": "ForbiddenError", "code": "FORBIDDEN"}


async def test_a_buyer_replaying_another_buyers_key_learns_nothing(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    owner = new_buyer_id()
    order = await place_order(db, shop_id, owner, clock.now() - timedelta(hours=2))
    first = await api(BUYER_CANCEL, {"o": order.id, "key": "k-3"}, buyer(owner))
    assert first["r"]["__typename"] == "Cancellation"

    other = await api(BUYER_CANCEL, {"o": order.id, "key": "k-3"}, buyer(new_buyer_id()))

    assert other["r"] == {"__typename": "NotFoundError", "code": "NOT_FOUND"}  # as unknown


async def test_after_sale_decisions_replay_only_to_a_caller_who_may_still_decide(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    asked = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    approve = {"requestId": asked["id"], "decision": "APPROVE_REFUND", "idempotencyKey": "k-4"}
    first = await ok(api, "approveAfterSale", approve, seller(shop_id))

    for outsider, refusal in (
        (seller(f"{shop_id}-b"), ("NotFoundError", "NOT_FOUND")),  # as an unknown id
        (seller(shop_id, adjust=False), ("ForbiddenError", "FORBIDDEN")),
    ):
        replayed = await mutate(api, "approveAfterSale", approve, outsider)
        assert (replayed["__typename"], replayed["code"]) == refusal
    assert await mutate(api, "approveAfterSale", approve, seller(shop_id)) == first


async def test_a_helpdesk_decision_replays_only_within_the_shop(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    cid = await _requested(api, db, clock, shop_id)
    ticket = await api(
        "query($id: ID!) { cancellation(id: $id) { id } tickets(first: 5) { nodes { id } } }",
        {"id": cid},
        seller(shop_id),
    )
    [ticket_id] = [t["id"] for t in ticket["tickets"]["nodes"]]
    approve = """mutation($t: ID!) { r: approveFromTicket(input: {ticketId: $t,
        idempotencyKey: "k-5"}) { __typename ... on UserError { code } } }"""
    assert (await api(approve, {"t": ticket_id}, seller(shop_id)))["r"]["__typename"] == "Ticket"

    for outsider, refusal in (
        (seller(f"{shop_id}-b"), {"__typename": "NotFoundError", "code": "NOT_FOUND"}),
        (seller(shop_id, adjust=False), {"__typename": "ForbiddenError", "code": "FORBIDDEN"}),
    ):
        replayed = await api(approve, {"t": ticket_id}, outsider)
        assert replayed["r"] == refusal


async def test_the_service_checks_access_again_on_the_outcome_a_key_recalls(
    api: GraphQLClient, db: Database, clock: SettableClock, services: Services, shop_id: str
) -> None:
    # Below the resolvers' first check (who may ever decide): the write path itself refuses
    # a replay to the key's own caller once they may no longer make the call.
    cid = await _requested(api, db, clock, shop_id)
    agent = Actor(ActorKind.SELLER_AGENT, "agent-7", shop_id, frozenset({ADJUSTMENTS}))
    await services.handle(agent, AcceptCancellation(cid), "k-6")

    with pytest.raises(Forbidden):
        await services.handle(
            replace(agent, permissions=frozenset()), AcceptCancellation(cid), "k-6"
        )


async def test_an_after_sale_step_checks_access_again_on_the_outcome_a_key_recalls(
    api: GraphQLClient, db: Database, clock: SettableClock, services: Services, shop_id: str
) -> None:
    # The after-sale kinds share the cancellation's write path (RequestWrites.once): a replay
    # to the key's own caller is refused once they may no longer decide.
    order = await delivered_order(db, clock, shop_id)
    asked = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), buyer(order.buyer_id)
    )
    agent = Actor(ActorKind.SELLER_AGENT, "agent-8", shop_id, frozenset({ADJUSTMENTS}))
    approve = ApproveAfterSale(asked["id"], DecisionType.APPROVE_REFUND)
    await services.handle(agent, approve, "k-7")

    with pytest.raises(Forbidden):
        await services.handle(replace(agent, permissions=frozenset()), approve, "k-7")


# ---- strings that are not valid Unicode ----------------------------------------------------

LONE = "\ud800"  # half of a UTF-16 pair: JSON can carry it, UTF-8 (BSON, the logs) cannot


def _surrogate_cases(order_id: str, shop_id: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(actor, document, variables, the field the answer must name)."""
    b, s = "buyer", seller(shop_id)
    note_in_input = """mutation($input: RequestCancellationInput!) {
        requestCancellation(input: $input) { __typename } }"""
    note_alone = """mutation($o: ID!, $n: String) {
        requestCancellation(input: {orderId: $o, reason: CHANGED_MIND, note: $n}) { __typename } }"""
    comment = """mutation($o: ID!, $c: String) {
        cancelOrder(input: {orderId: $o, reason: OUT_OF_STOCK, comment: $c}) { __typename } }"""
    key = """mutation($o: ID!, $k: String) {
        cancelOrder(input: {orderId: $o, reason: OUT_OF_STOCK, idempotencyKey: $k}) { __typename } }"""
    carrier = """mutation($o: ID!, $c: String!) {
        handToCarrier(input: {orderId: $o, carrier: $c, trackingNumber: "1Z"}) { __typename } }"""
    cursor = (
        """query($a: String) { cancellations(first: 5, after: $a) { pageInfo { hasNextPage } } }"""
    )
    return [
        (
            b,
            note_in_input,
            {"input": {"orderId": order_id, "reason": "CHANGED_MIND", "note": f"a{LONE}"}},
            "note",
        ),
        (b, note_alone, {"o": order_id, "n": LONE}, "note"),
        (s, comment, {"o": order_id, "c": f"{LONE}b"}, "comment"),
        (s, key, {"o": order_id, "k": LONE}, "idempotencyKey"),
        (s, carrier, {"o": order_id, "c": LONE}, "carrier"),
        (s, CREATE_RULE, {"rule": {**_rule_with_amount("1"), "name": LONE}}, "rule.name"),
        (s, cursor, {"a": LONE}, "after"),
        (
            s,
            note_in_input,
            {"input": {"orderId": order_id, "reason": "CHANGED_MIND", LONE: "x"}},
            "input",
        ),
    ]


async def _post(
    http: httpx.AsyncClient, document: str, variables: dict[str, Any], actor: str
) -> dict[str, Any]:
    """As a client whose JSON escapes what is not ASCII ("\\ud800"; httpx's own json= cannot)."""
    body = json.dumps({"query": document, "variables": variables})
    headers = {**authorization(actor), "content-type": "application/json"}
    response = await http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_lone_surrogate_in_any_string_is_a_validation_error_naming_its_field(
    http: httpx.AsyncClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    for actor, document, variables, field in _surrogate_cases(order.id, shop_id):
        caller = buyer(buyer_id) if actor == "buyer" else actor
        body = await _post(http, document, variables, caller)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "VALIDATION_FAILED", (field, body)
        assert error["extensions"]["field"] == field, (field, body)
    assert await db.cancellations.count_documents({"order_id": order.id}) == 0
    assert await db.ticket_rules.count_documents({"shop_id": shop_id}) == 0


async def test_a_lone_surrogate_in_an_inline_string_is_a_syntax_error(
    http: httpx.AsyncClient, shop_id: str
) -> None:
    for literal in ('"\\ud800"', f'"{LONE}"', f'"""{LONE}"""'):
        document = f'mutation {{ cancelOrder(input: {{orderId: "o-1", reason: OUT_OF_STOCK, comment: {literal}}}) {{ __typename }} }}'
        body = await _post(http, document, {}, seller(shop_id))
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", literal


async def test_a_lone_surrogate_in_the_operation_name_is_a_plain_400(
    http: httpx.AsyncClient,
) -> None:
    body = json.dumps({"query": "query Q { __typename }", "operationName": LONE})
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_a_token_that_is_not_ascii_is_unauthenticated() -> None:
    with pytest.raises(Unauthenticated):
        actor_from_connection_params({"Authorization": f"Bearer ey{LONE}.x.y"})


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_lone_surrogate_in_a_subscriptions_variables_is_a_validation_error(
    services: Services, shop_id: str, protocol: str
) -> None:
    document = "subscription($t: ID) { ticketEvents(ticketId: $t) { __typename } }"
    payload = {"query": document, "variables": {"t": LONE}}
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    async with serving(services) as url, Client.connect(url, seller(shop_id), protocol) as ws:
        await ws.acked()
        await ws.send({"id": "1", "type": start, "payload": payload})
        message = await ws.receive()
        assert (message["id"], message["type"]) == ("1", "error"), message
        [error] = (
            message["payload"] if isinstance(message["payload"], list) else [message["payload"]]
        )
        assert error["extensions"]["code"] == "VALIDATION_FAILED", error
        assert error["extensions"]["field"] == "ticketId", error


# ---- tokens, secrets and /metrics --------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "value"),
    [("exp", "4102444800"), ("exp", True), ("iat", "1700000000"), ("nbf", False), ("iat", [1])],
)
async def test_token_times_given_as_anything_but_a_json_number_are_unauthenticated(
    api: GraphQLClient, claim: str, value: object
) -> None:
    claims: dict[str, Any] = {"kind": "platform", "sub": "ops-1", "exp": 4102444800}
    claims[claim] = value
    token = jwt.encode(claims, DEVELOPMENT_SECRET, algorithm="HS256")
    body = await api.raw("{ viewer { id } }", actor=token)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", body
    assert claim in error["message"] or "not valid" in error["message"], body


@pytest.mark.parametrize(
    "secret",
    ["abcdefgh" * 4, "abcdefgh" * 8, "0123456789abcdef" * 2, "Secret-42" * 4],
)
def test_production_refuses_a_secret_that_repeats_a_short_pattern(secret: str) -> None:
    settings = default_settings(production=True, jwt_secret=secret)
    with pytest.raises(SettingsError, match="AFTERSALES_JWT_SECRET is too weak"):
        check_production(settings)


def test_production_accepts_random_secrets_of_32_bytes_and_more() -> None:
    rng = random.Random(20261206)
    for alphabet, length in (
        ("0123456789abcdef", 32),
        ("0123456789abcdef", 64),
        (string.ascii_letters + string.digits + "-_", 43),
    ):
        for _ in range(200):
            secret = "".join(rng.choice(alphabet) for _ in range(length))
            check_production(default_settings(production=True, jwt_secret=secret))


def test_production_refuses_a_weak_metrics_token() -> None:
    settings = default_settings(
        production=True, jwt_secret=secrets.token_hex(32), metrics_token="scrape"
    )
    with pytest.raises(SettingsError, match="AFTERSALES_METRICS_TOKEN"):
        check_production(settings)


async def test_metrics_in_production_need_the_metrics_token(services: Services) -> None:
    token = secrets.token_hex(32)
    without = create_app(services, settings=default_settings(production=True))
    with_token = create_app(
        services, settings=default_settings(production=True, metrics_token=token)
    )
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=without), base_url="http://t") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=with_token), base_url="http://t") as b,
    ):
        assert (await a.get("/metrics")).status_code == 403
        assert (
            await a.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 403
        assert (await b.get("/metrics")).status_code == 401
        assert (
            await b.get("/metrics", headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        good = await b.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert good.status_code == 200 and "aftersales_" in good.text
        assert (await a.get("/healthz")).status_code == 200  # the rest is not behind it


async def test_metrics_in_development_are_open_unless_a_token_is_set(services: Services) -> None:
    token = secrets.token_hex(32)
    app = create_app(services, settings=default_settings(metrics_token=token))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/metrics")).status_code == 401
    open_app = create_app(services, settings=default_settings())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=open_app), base_url="http://t"
    ) as c:
        assert (await c.get("/metrics")).status_code == 200

"""The TikTok Shop stand-in (devtools/tiktok_shop), run as its own process and used over HTTP the
way the service's Open API client and webhook endpoint will use it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.tiktok_standin import (
    API,
    APP_KEY,
    APP_SECRET,
    StandIn,
    WebhookListener,
    running_standin,
    wait_for,
    webhook_listener,
)


@pytest.fixture(scope="module")
def listener() -> Iterator[WebhookListener]:
    with webhook_listener() as listening:
        yield listening


@pytest.fixture(scope="module")
def standin(listener: WebhookListener) -> Iterator[StandIn]:
    with running_standin(listener.url) as running:
        yield running


@pytest.fixture(autouse=True)
def _calm(standin: StandIn) -> Iterator[None]:
    standin.calm()
    yield
    standin.calm()
    standin.settle()


def pending_cancellation(standin: StandIn) -> tuple[str, str]:
    order = standin.seed_order(status="AWAITING_SHIPMENT")
    cancel = standin.ok("POST", "/_standin/cancellations", {"order_id": order["id"]})
    return order["id"], cancel["cancel_id"]


def delivered_return(standin: StandIn, return_type: str, price: str = "20.00") -> tuple[str, str]:
    order = standin.seed_order(
        status="DELIVERED", line_items=[{"product_name": "Serum", "sale_price": price}]
    )
    request = standin.ok(
        "POST", "/_standin/returns", {"order_id": order["id"], "return_type": return_type}
    )
    return order["id"], request["return_id"]


def cancellation(standin: StandIn, cancel_id: str) -> dict[str, Any]:
    data = standin.client().ok(
        "POST", f"{API}/cancellations/search", {"page_size": "1"}, {"cancel_ids": [cancel_id]}
    )
    [found] = data["cancellations"]
    return found


def return_of(standin: StandIn, return_id: str) -> dict[str, Any]:
    data = standin.client().ok(
        "POST", f"{API}/returns/search", {"page_size": "1"}, {"return_ids": [return_id]}
    )
    [found] = data["return_orders"]
    return found


# -- signatures, credentials, envelope ---------------------------------------------------------


def test_a_signed_call_is_answered_in_the_envelope(standin: StandIn) -> None:
    answer = standin.client().request("GET", "/authorization/202309/shops")
    body = answer.json()
    assert answer.status_code == 200
    assert set(body) == {"code", "message", "request_id", "data"}
    assert body["code"] == 0 and len(body["request_id"]) > 14
    assert [s["cipher"] for s in body["data"]["shops"]] == ["ROW_test_cipher"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q, b: (q, b + b" "), id="body changed after signing"),
        pytest.param(lambda q, b: (q | {"page_size": "2"}, b), id="query changed after signing"),
        pytest.param(lambda q, b: ({k: v for k, v in q.items() if k != "sign"}, b), id="no sign"),
        pytest.param(lambda q, b: (q | {"sign": q["sign"].upper()}, b), id="upper-case hex"),
    ],
)
def test_a_bad_sign_is_refused_with_401_and_106001(standin: StandIn, tamper: Any) -> None:
    answer = standin.client().request(
        "POST", f"{API}/cancellations/search", {"page_size": "1"}, {}, tamper=tamper
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == 106001 and answer.json()["data"] is None


def test_a_request_signed_with_another_secret_is_refused(standin: StandIn) -> None:
    answer = standin.client(app_secret="not-the-secret").request(
        "POST", f"{API}/cancellations/search", {"page_size": "1"}, {}
    )
    assert (answer.status_code, answer.json()["code"]) == (401, 106001)


def test_access_token_and_timestamp_are_checked(standin: StandIn) -> None:
    path, params = f"{API}/cancellations/search", {"page_size": "1"}
    for client in (standin.client(token=None), standin.client(token="TTP_other")):
        answer = client.request("POST", path, params, {})
        assert (answer.status_code, answer.json()["code"]) == (401, 36009004)
    stale = standin.client().request("POST", path, params, {}, timestamp=int(time.time()) - 3600)
    assert (stale.status_code, stale.json()["code"]) == (401, 36009004)
    no_cipher = standin.client(cipher=None).request("POST", path, params, {})
    assert no_cipher.json()["code"] == 106013
    other_cipher = standin.client(cipher="ROW_nobody").request("POST", path, params, {})
    assert other_cipher.json()["code"] == 12000000


def test_an_expired_token_answers_105002(standin: StandIn) -> None:
    shop = {"shop_id": "shop-expiring", "shop_cipher": "ROW_exp", "access_token": "TTP_exp"}
    standin.ok("POST", "/_standin/shops", shop)
    client = standin.client(cipher="ROW_exp", token="TTP_exp")
    client.ok("POST", f"{API}/cancellations/search", {"page_size": "1"}, {})
    standin.ok("POST", "/_standin/shops/shop-expiring/expire_token", {})
    answer = client.request("POST", f"{API}/cancellations/search", {"page_size": "1"}, {})
    assert (answer.status_code, answer.json()["code"]) == (401, 105002)


# -- searches ----------------------------------------------------------------------------------


def test_search_pages_by_token_without_losing_or_repeating(standin: StandIn) -> None:
    buyer = f"buyer-paging-{time.monotonic_ns()}"
    made = set()
    for _ in range(7):
        order = standin.seed_order(status="AWAITING_SHIPMENT", buyer_user_id=buyer)
        made.add(
            standin.ok("POST", "/_standin/cancellations", {"order_id": order["id"]})["cancel_id"]
        )
    client, seen, token, pages = standin.client(), [], "", 0
    while True:
        params = {"page_size": "3", "sort_field": "update_time", "sort_order": "ASC"}
        data = client.ok(
            "POST",
            f"{API}/cancellations/search",
            params | ({"page_token": token} if token else {}),
            {"buyer_user_ids": [buyer]},
        )
        assert data["total_count"] == 7
        seen += [c["cancel_id"] for c in data["cancellations"]]
        pages += 1
        token = data["next_page_token"]
        if not token:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == made


@pytest.mark.parametrize("size", ["0", "51", "x"])
def test_page_size_outside_1_to_50_is_refused(standin: StandIn, size: str) -> None:
    answer = standin.client().request("POST", f"{API}/returns/search", {"page_size": size}, {})
    assert (answer.status_code, answer.json()["code"]) == (200, 36009004)


def test_search_by_update_time_range(standin: StandIn) -> None:
    _, early = pending_cancellation(standin)
    standin.ok("POST", "/_standin/clock/advance", {"seconds": 100})
    now = standin.ok("GET", "/_standin/health")["now"]
    _, late = pending_cancellation(standin)
    data = standin.client().ok(
        "POST",
        f"{API}/cancellations/search",
        {"page_size": "50"},
        {"cancel_ids": [early, late], "update_time_ge": now},
    )
    assert [c["cancel_id"] for c in data["cancellations"]] == [late]


def test_a_search_by_ids_answers_each_known_one_once(standin: StandIn) -> None:
    _, first = pending_cancellation(standin)
    _, second = pending_cancellation(standin)
    data = standin.client().ok(
        "POST",
        f"{API}/cancellations/search",
        {"page_size": "50"},
        {"cancel_ids": [second, "no-such-cancel", first, second, 7]},
    )
    assert sorted(c["cancel_id"] for c in data["cancellations"]) == sorted([first, second])
    assert data["total_count"] == 2


# -- idempotent writes -------------------------------------------------------------------------


def test_a_repeated_idempotency_key_answers_the_same_and_applies_once(standin: StandIn) -> None:
    _, cancel_id = pending_cancellation(standin)
    client = standin.client()
    path = f"{API}/cancellations/{cancel_id}/approve"
    first = client.request("POST", path, {"idempotency_key": f"approve-{cancel_id}"}, {})
    again = client.request("POST", path, {"idempotency_key": f"approve-{cancel_id}"}, {})
    assert first.json()["code"] == 0
    assert again.json() == first.json()
    assert standin.applied()[f"cancellation:{cancel_id}:APPROVE"] == 1
    other_key = client.request("POST", path, {"idempotency_key": f"other-{cancel_id}"}, {})
    assert other_key.json()["code"] == 29000001  # no longer pending: refused, not applied
    assert standin.applied()[f"cancellation:{cancel_id}:APPROVE"] == 1


def test_a_key_reused_for_another_request_is_refused(standin: StandIn) -> None:
    _, cancel_id = pending_cancellation(standin)
    client, key = standin.client(), {"idempotency_key": f"reject-{cancel_id}"}
    path = f"{API}/cancellations/{cancel_id}/reject"
    reason = {"reject_reason": "seller_reject_apply_product_has_been_packed"}
    assert client.request("POST", path, key, reason | {"comment": "a"}).json()["code"] == 0
    assert client.request("POST", path, key, reason | {"comment": "b"}).json()["code"] == 29000005
    long_key = {"idempotency_key": "k" * 256}
    assert client.request("POST", path, long_key, reason).json()["code"] == 36009004


# -- status transitions ------------------------------------------------------------------------


def test_an_approved_cancellation_succeeds_then_completes_and_cancels_the_order(
    standin: StandIn, listener: WebhookListener
) -> None:
    order_id, cancel_id = pending_cancellation(standin)
    assert cancellation(standin, cancel_id)["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
    assert cancellation(standin, cancel_id)["seller_next_action_response"][0]["action"] == (
        "SELLER_RESPOND_CANCEL"
    )
    standin.client().ok("POST", f"{API}/cancellations/{cancel_id}/approve", {}, {})
    assert cancellation(standin, cancel_id)["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    standin.settle()
    moves = [
        (w["type"], w["data"].get("cancel_status") or w["data"].get("order_status"))
        for w in listener.for_order(order_id)
    ]
    assert moves == [
        (1, "AWAITING_SHIPMENT"),
        (11, "CANCELLATION_REQUEST_PENDING"),
        (11, "CANCELLATION_REQUEST_SUCCESS"),
        (1, "CANCELLED"),
        (11, "CANCELLATION_REQUEST_COMPLETE"),
        (67, None),
    ]
    [refund] = [w for w in listener.for_order(order_id) if w["type"] == 67]
    assert refund["data"]["refund_total"] == "12.50" and refund["data"]["cancel_id"] == cancel_id


def test_with_manual_refunds_an_approval_waits_in_success(standin: StandIn) -> None:
    standin.ok("PUT", "/_standin/refunds", {"auto_complete": False})
    try:
        _, cancel_id = pending_cancellation(standin)
        standin.client().ok("POST", f"{API}/cancellations/{cancel_id}/approve", {}, {})
        assert cancellation(standin, cancel_id)["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
        standin.ok("POST", f"/_standin/cancellations/{cancel_id}/complete")
        assert cancellation(standin, cancel_id)["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    finally:
        standin.ok("PUT", "/_standin/refunds", {"auto_complete": True})


def test_a_rejected_cancellation_is_closed_with_its_reason(standin: StandIn) -> None:
    _, cancel_id = pending_cancellation(standin)
    client = standin.client()
    reasons = client.ok("GET", f"{API}/reject_reasons", {"return_or_cancel_id": cancel_id})
    name = reasons["reasons"][0]["name"]
    path = f"{API}/cancellations/{cancel_id}/reject"
    assert (
        client.request("POST", path, {}, {"reject_reason": "nonsense"}).json()["code"] == 36009004
    )
    client.ok("POST", path, {}, {"reject_reason": name, "comment": "packed"})
    found = cancellation(standin, cancel_id)
    assert (found["cancel_status"], found["reject_reason"]) == ("CANCELLATION_REQUEST_CANCEL", name)


def test_a_decision_the_marketplace_overtook_is_refused_not_applied(standin: StandIn) -> None:
    _, silent = pending_cancellation(standin)
    _, withdrawn = pending_cancellation(standin)
    standin.ok("POST", f"/_standin/cancellations/{withdrawn}/withdraw")
    moved = standin.ok("POST", "/_standin/clock/advance", {"seconds": 3 * 24 * 3600})["moved"]
    assert silent in moved
    assert cancellation(standin, silent)["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    assert cancellation(standin, withdrawn)["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"
    client = standin.client()
    for cancel_id in (silent, withdrawn):
        answer = client.request("POST", f"{API}/cancellations/{cancel_id}/approve", {}, {})
        assert answer.json()["code"] == 29000001
        assert f"cancellation:{cancel_id}:APPROVE" not in standin.applied()


def test_a_seller_cancel_completes_and_a_second_meets_the_open_one(standin: StandIn) -> None:
    order = standin.seed_order(
        status="AWAITING_COLLECTION",
        line_items=[{"sku_id": "sku-a", "product_name": "A", "sale_price": "5.00", "quantity": 3}],
    )
    client = standin.client()
    made = client.ok(
        "POST",
        f"{API}/cancellations",
        {"idempotency_key": f"cancel-{order['id']}"},
        {
            "order_id": order["id"],
            "cancel_reason": "seller_cancel_reason_out_of_stock",
            "skus": [{"sku_id": "sku-a", "quantity": 2}],
        },
    )
    found = cancellation(standin, made["cancel_id"])
    assert (found["cancel_type"], found["cancel_status"]) == (
        "CANCEL",
        "CANCELLATION_REQUEST_COMPLETE",
    )
    assert (
        len(found["cancel_line_items"]) == 2 and found["refund_amount"]["refund_total"] == "10.00"
    )
    pending = standin.ok("POST", "/_standin/cancellations", {"order_id": order["id"]})
    assert pending["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
    again = client.request(
        "POST",
        f"{API}/cancellations",
        {},
        {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"},
    )
    assert again.json()["code"] == 25001011


def test_a_refund_only_request_approved_completes(standin: StandIn) -> None:
    _, return_id = delivered_return(standin, "REFUND")
    assert return_of(standin, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    standin.client().ok(
        "POST", f"{API}/returns/{return_id}/approve", {}, {"decision": "APPROVE_REFUND"}
    )
    assert return_of(standin, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"


def test_a_return_goes_through_shipping_and_the_received_package(standin: StandIn) -> None:
    _, return_id = delivered_return(standin, "RETURN_AND_REFUND")
    client, path = standin.client(), f"{API}/returns/{return_id}"
    refused = client.request("POST", f"{path}/approve", {}, {"decision": "APPROVE_REFUND"})
    assert refused.json()["code"] == 29000003  # a return needs buyer_keep_item for a refund only
    early = client.request(
        "POST",
        f"{path}/reject",
        {},
        {
            "decision": "REJECT_RECEIVED_PACKAGE",
            "reject_reason": "reverse_reject_receive_reason_wrong_item",
        },
    )
    assert early.json()["code"] == 25011014
    client.ok("POST", f"{path}/approve", {}, {"decision": "APPROVE_RETURN"})
    assert return_of(standin, return_id)["return_status"] == "AWAITING_BUYER_SHIP"
    standin.ok("POST", f"/_standin/returns/{return_id}/ship")
    shipped = return_of(standin, return_id)
    assert shipped["return_status"] == "BUYER_SHIPPED_ITEM"
    assert shipped["seller_next_action_response"][0]["action"] == "SELLER_RESPOND_RECEIVE_PACKAGE"
    client.ok("POST", f"{path}/approve", {}, {"decision": "APPROVE_RECEIVED_PACKAGE"})
    assert return_of(standin, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    events = [r["event"] for r in client.ok("GET", f"{path}/records")["records"]]
    assert events == [
        "BUYER_REQUEST_RETURN_AND_REFUND",
        "SELLER_APPROVE_RETURN",
        "BUYER_SHIPPED_ITEM",
        "SELLER_APPROVE_RECEIVED_PACKAGE",
        "REFUND_COMPLETED",
    ]


def test_a_received_package_can_be_rejected(standin: StandIn) -> None:
    _, return_id = delivered_return(standin, "RETURN_AND_REFUND")
    client, path = standin.client(), f"{API}/returns/{return_id}"
    client.ok("POST", f"{path}/approve", {}, {"decision": "APPROVE_RETURN"})
    standin.ok("POST", f"/_standin/returns/{return_id}/ship")
    reasons = client.ok("GET", f"{API}/reject_reasons", {"return_or_cancel_id": return_id})
    client.ok(
        "POST",
        f"{path}/reject",
        {},
        {"decision": "REJECT_RECEIVED_PACKAGE", "reject_reason": reasons["reasons"][0]["name"]},
    )
    assert return_of(standin, return_id)["return_status"] == "REJECT_RECEIVE_PACKAGE"


def test_a_partial_refund_offer_waits_for_the_buyer(standin: StandIn) -> None:
    _, return_id = delivered_return(standin, "REFUND", price="20.00")
    client, path = standin.client(), f"{API}/returns/{return_id}/approve"
    too_much = {
        "decision": "OFFER_PARTIAL_REFUND",
        "partial_refund": {"amount": "25", "currency": "USD"},
    }
    assert client.request("POST", path, {}, too_much).json()["code"] == 36009004
    offer = {
        "decision": "OFFER_PARTIAL_REFUND",
        "partial_refund": {"amount": "7.5", "currency": "USD"},
    }
    client.ok("POST", path, {}, offer)
    assert return_of(standin, return_id)["return_status"] == "AWAITING_BUYER_RESPONSE"
    standin.ok("POST", f"/_standin/returns/{return_id}/accept_offer")
    done = return_of(standin, return_id)
    assert done["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    assert done["refund_amount"]["refund_total"] == "7.50"


def test_replacement_decisions(standin: StandIn) -> None:
    client = standin.client()
    _, replaced = delivered_return(standin, "REPLACEMENT")
    assert return_of(standin, replaced)["return_status"] == "REPLACEMENT_REQUEST_PENDING"
    client.ok("POST", f"{API}/returns/{replaced}/approve", {}, {"decision": "APPROVE_REPLACEMENT"})
    done = return_of(standin, replaced)
    assert done["return_status"] == "REPLACEMENT_REQUEST_COMPLETE" and done["replacement_order_id"]
    _, refunded = delivered_return(standin, "REPLACEMENT")
    client.ok(
        "POST", f"{API}/returns/{refunded}/approve", {}, {"decision": "ISSUE_REPLACEMENT_REFUND"}
    )
    assert return_of(standin, refunded)["return_status"] == "REPLACEMENT_REQUEST_REFUND_SUCCESS"
    _, rejected = delivered_return(standin, "REPLACEMENT")
    client.ok(
        "POST",
        f"{API}/returns/{rejected}/reject",
        {},
        {
            "decision": "REJECT_REPLACEMENT",
            "reject_reason": "reverse_reject_request_reason_product_is_fine",
        },
    )
    assert return_of(standin, rejected)["return_status"] == "REPLACEMENT_REQUEST_REJECT"


def test_arbitration_blocks_the_seller_and_closes_for_the_buyer(standin: StandIn) -> None:
    _, return_id = delivered_return(standin, "REFUND")
    client, path = standin.client(), f"{API}/returns/{return_id}"
    client.ok(
        "POST",
        f"{path}/reject",
        {},
        {
            "decision": "REJECT_REFUND",
            "reject_reason": "reverse_reject_request_reason_missing_evidence",
        },
    )
    assert return_of(standin, return_id)["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    standin.ok("POST", f"/_standin/returns/{return_id}/arbitrate")
    assert return_of(standin, return_id)["arbitration_status"] == "IN_PROGRESS"
    blocked = client.request("POST", f"{path}/approve", {}, {"decision": "APPROVE_REFUND"})
    assert blocked.json()["code"] == 29000004
    standin.ok(
        "POST", f"/_standin/returns/{return_id}/close_arbitration", {"outcome": "SUPPORT_BUYER"}
    )
    closed = return_of(standin, return_id)
    assert (closed["return_status"], closed["arbitration_status"]) == (
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "SUPPORT_BUYER",
    )
    assert standin.applied()[f"return:{return_id}:REJECT_REFUND"] == 1
    assert f"return:{return_id}:APPROVE_REFUND" not in standin.applied()


def test_eligibility_and_refund_calculation(standin: StandIn) -> None:
    order = standin.seed_order(
        status="AWAITING_SHIPMENT",
        shipping_fee="4.00",
        line_items=[{"product_name": "A", "sale_price": "3.25", "quantity": 2}],
    )
    client = standin.client()
    rows = client.ok("GET", f"{API}/orders/{order['id']}/aftersale_eligibility")["line_items"]
    assert {(r["request_type"], r["eligible"]) for r in rows} == {("CANCEL", True)}
    whole = client.ok(
        "POST", f"{API}/refunds/calculate", {}, {"order_id": order["id"], "request_type": "CANCEL"}
    )
    assert (whole["refund_total"], whole["refund_shipping_fee"]) == ("10.50", "4.00")
    one_line = order["line_items"][0]["id"]
    part = client.ok(
        "POST",
        f"{API}/refunds/calculate",
        {},
        {"order_id": order["id"], "request_type": "CANCEL", "order_line_item_ids": [one_line]},
    )
    assert (part["refund_total"], part["currency"]) == ("3.25", "USD")
    standin.ok("POST", "/_standin/cancellations", {"order_id": order["id"]})
    rows = client.ok("GET", f"{API}/orders/{order['id']}/aftersale_eligibility")["line_items"]
    assert not any(r["eligible"] for r in rows)


# -- webhooks ----------------------------------------------------------------------------------


def test_webhooks_arrive_signed_with_the_documented_fields(
    standin: StandIn, listener: WebhookListener
) -> None:
    order_id, return_id = delivered_return(standin, "REFUND")
    standin.client().ok(
        "POST", f"{API}/returns/{return_id}/approve", {}, {"decision": "APPROVE_REFUND"}
    )
    standin.settle()
    got = [r for r in listener.received if r.payload["data"].get("order_id") == order_id]
    assert got and all(r.signature_ok for r in got)
    for received in got:
        assert set(received.payload) == {
            "type",
            "tts_notification_id",
            "shop_id",
            "timestamp",
            "data",
        }
    by_type = {r.payload["type"]: r.payload["data"] for r in got}
    assert set(by_type[1]) >= {"order_id", "order_status", "update_time"}
    assert set(by_type[12]) == {
        "order_id",
        "return_id",
        "return_type",
        "return_status",
        "return_role",
        "create_time",
        "update_time",
    }
    assert by_type[67]["refund_total"] == "20.00"
    statuses = [r.payload["data"]["return_status"] for r in got if r.payload["type"] == 12]
    assert statuses == [
        "RETURN_OR_REFUND_REQUEST_PENDING",
        "RETURN_OR_REFUND_REQUEST_SUCCESS",
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
    ]
    _, cancel_id = pending_cancellation(standin)
    standin.settle()
    [eleven] = [
        r.payload["data"]
        for r in listener.received
        if r.payload["data"].get("cancel_id") == cancel_id
    ]
    assert set(eleven) == {
        "order_id",
        "cancel_id",
        "cancel_status",
        "cancellations_role",
        "create_time",
    }


def test_a_webhook_answered_500_is_retried(standin: StandIn, listener: WebhookListener) -> None:
    before = len(standin.notifications())
    standin.chaos(webhooks={"delay": 1, "delay_seconds": 0.3})  # time to arm the listener
    order = standin.seed_order(status="AWAITING_SHIPMENT")
    [note] = standin.notifications()[before:]
    listener.fail_once.add(note["tts_notification_id"])
    standin.settle()
    [sent] = [
        n
        for n in standin.notifications()
        if n["tts_notification_id"] == note["tts_notification_id"]
    ]
    assert [a.split(":")[1].strip() for a in sent["attempts"]] == ["HTTP 500", "HTTP 200"]
    assert len(listener.for_order(order["id"])) == 1


def test_a_notification_can_be_replayed_byte_for_byte(
    standin: StandIn, listener: WebhookListener
) -> None:
    order = standin.seed_order(status="AWAITING_SHIPMENT")
    standin.settle()
    [first] = [r for r in listener.received if r.payload["data"].get("order_id") == order["id"]]
    standin.ok("POST", f"/_standin/webhooks/{first.payload['tts_notification_id']}/resend")
    standin.settle()
    copies = [r for r in listener.received if r.payload["data"].get("order_id") == order["id"]]
    assert [c.body for c in copies] == [first.body, first.body]


# -- chaos -------------------------------------------------------------------------------------


def orders_seeded(standin: StandIn, n: int) -> list[str]:
    return [standin.seed_order(status="AWAITING_SHIPMENT")["id"] for _ in range(n)]


def test_chaos_drops_every_webhook_when_told(standin: StandIn, listener: WebhookListener) -> None:
    standin.chaos(webhooks={"drop": 1})
    ids = orders_seeded(standin, 3)
    standin.settle()
    assert all(listener.for_order(i) == [] for i in ids)
    notes = [n for n in standin.notifications() if n["payload"]["data"]["order_id"] in ids]
    assert [n["faults"] for n in notes] == [["dropped"]] * 3


def test_chaos_duplicates_webhooks_with_the_same_notification_id(
    standin: StandIn, listener: WebhookListener
) -> None:
    standin.chaos(webhooks={"duplicate": 1})
    [order_id] = orders_seeded(standin, 1)
    standin.settle()
    copies = listener.for_order(order_id)
    assert len(copies) == 2 and copies[0] == copies[1]


def test_chaos_delay_lets_later_webhooks_overtake(
    standin: StandIn, listener: WebhookListener
) -> None:
    standin.chaos(webhooks={"delay": 1, "delay_seconds": 0.3})
    [late] = orders_seeded(standin, 1)
    standin.chaos(webhooks={"delay": 0})
    [prompt] = orders_seeded(standin, 1)
    standin.settle()
    arrival = [r.payload["data"].get("order_id") for r in listener.received]
    assert arrival.index(prompt) < arrival.index(late)


def test_chaos_reorder_swaps_a_webhook_with_the_next(
    standin: StandIn, listener: WebhookListener
) -> None:
    standin.chaos(webhooks={"reorder": 1, "hold_seconds": 5})
    first, second = orders_seeded(standin, 2)
    standin.settle()
    arrival = [r.payload["data"].get("order_id") for r in listener.received]
    assert arrival.index(second) < arrival.index(first)


def test_chaos_throttles_calls_with_429_and_applies_nothing(standin: StandIn) -> None:
    _, cancel_id = pending_cancellation(standin)
    standin.chaos(calls={"throttle": 1})
    answer = standin.client().request("POST", f"{API}/cancellations/{cancel_id}/approve", {}, {})
    assert (answer.status_code, answer.json()["code"]) == (429, 36009002)
    standin.calm()
    assert cancellation(standin, cancel_id)["cancel_status"] == "CANCELLATION_REQUEST_PENDING"


@pytest.mark.parametrize("applied_anyway", [0, 1])
def test_chaos_5xx_on_a_write_is_ambiguous(standin: StandIn, applied_anyway: int) -> None:
    _, cancel_id = pending_cancellation(standin)
    standin.chaos(calls={"server_error": 1, "applied_anyway": applied_anyway})
    key = {"idempotency_key": f"approve-{cancel_id}"}
    path = f"{API}/cancellations/{cancel_id}/approve"
    answer = standin.client().request("POST", path, key, {})
    assert (answer.status_code, answer.json()["code"]) == (500, 36009003)
    standin.calm()
    retry = standin.client().request("POST", path, key, {})
    assert retry.json()["code"] == 0  # the retry with the same key succeeds either way
    assert standin.applied()[f"cancellation:{cancel_id}:APPROVE"] == 1


def test_chaos_timeout_holds_the_answer_past_the_client_timeout(standin: StandIn) -> None:
    _, cancel_id = pending_cancellation(standin)
    standin.chaos(calls={"timeout": 1, "timeout_seconds": 1.0, "applied_anyway": 1})
    client = standin.client(timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        client.request(
            "POST", f"{API}/cancellations/{cancel_id}/approve", {"idempotency_key": "t"}, {}
        )
    standin.calm()
    wait_for(lambda: f"cancellation:{cancel_id}:APPROVE" in standin.applied(), "the late write")
    assert standin.ok("GET", "/_standin/calls")["timeout"] >= 1


def test_chaos_is_repeatable_with_a_seed(standin: StandIn) -> None:
    def outcomes() -> list[int]:
        standin.chaos(seed=42, calls={"throttle": 0.3, "server_error": 0.3})
        client = standin.client()
        codes = [
            client.request("POST", f"{API}/returns/search", {"page_size": "1"}, {}).json()["code"]
            for _ in range(30)
        ]
        standin.calm()
        return codes

    first = outcomes()
    assert set(first) == {0, 36009002, 36009003}
    assert outcomes() == first


def test_unknown_chaos_knobs_and_shares_over_one_are_refused(standin: StandIn) -> None:
    for spec in ({"webhooks": {"lose": 1}}, {"calls": {"throttle": 2}}):
        assert standin.control.put("/_standin/chaos", json=spec).status_code == 400


def test_a_body_of_the_wrong_shape_is_an_invalid_parameter(standin: StandIn) -> None:
    answer = standin.client().request(
        "POST", f"{API}/cancellations/search", {"page_size": "5"}, {"update_time_ge": "soon"}
    )
    assert (answer.status_code, answer.json()["code"]) == (200, 36009004)


def test_any_notification_can_be_sent_signed(standin: StandIn, listener: WebhookListener) -> None:
    # What the marketplace may send one day: another spelling, a status nobody knows yet.
    data = {
        "order_id": "ord-raw",
        "cancel_id": "c-raw",
        "cancel_status": "CANCELLATION_REQUEST_CANCELLED",
    }
    standin.ok(
        "POST", "/_standin/webhooks", {"type": 11, "data": data | {"cancellations_role": "BUYER"}}
    )
    standin.settle()
    [got] = [r for r in listener.received if r.payload["data"].get("order_id") == "ord-raw"]
    assert (
        got.signature_ok
        and got.payload["data"]["cancel_status"] == "CANCELLATION_REQUEST_CANCELLED"
    )


def test_orders_can_be_made_in_bulk_each_with_its_webhook(
    standin: StandIn, listener: WebhookListener
) -> None:
    ids = standin.ok("POST", "/_standin/orders", {"count": 5, "status": "DELIVERED"})["ids"]
    assert len(set(ids)) == 5
    standin.settle()
    assert all(
        [w["data"]["order_status"] for w in listener.for_order(i)] == ["DELIVERED"] for i in ids
    )


def test_a_shop_registers_its_webhook_address_per_event_type(standin: StandIn) -> None:
    shop = {"shop_id": "shop-hooks", "shop_cipher": "ROW_hooks", "access_token": "TTP_hooks"}
    standin.ok("POST", "/_standin/shops", shop)
    client = standin.client(cipher="ROW_hooks", token="TTP_hooks")
    with webhook_listener() as own:
        client.ok(
            "PUT",
            "/event/202309/webhooks",
            {},
            {"address": own.url, "event_type": "ORDER_STATUS_CHANGE"},
        )
        assert client.ok("GET", "/event/202309/webhooks")["webhooks"] == [
            {"event_type": "ORDER_STATUS_CHANGE", "address": own.url}
        ]
        order = standin.seed_order(shop_id="shop-hooks", status="DELIVERED")
        standin.settle()
        assert [w["data"]["order_status"] for w in own.for_order(order["id"])] == ["DELIVERED"]
        client.ok("DELETE", "/event/202309/webhooks", {}, {"event_type": "ORDER_STATUS_CHANGE"})
        assert client.ok("GET", "/event/202309/webhooks")["webhooks"] == []
        wrong = client.request(
            "PUT", "/event/202309/webhooks", {}, {"address": own.url, "event_type": "X"}
        )
        assert wrong.json()["code"] == 36009004


def test_an_auth_code_and_a_refresh_give_working_tokens_and_retire_the_old(
    standin: StandIn,
) -> None:
    shop = {"shop_id": "shop-oauth", "shop_cipher": "ROW_oauth", "access_token": "TTP_first"}
    standin.ok("POST", "/_standin/shops", shop)
    code = standin.ok("POST", "/_standin/shops/shop-oauth/auth_code")["auth_code"]
    app = {"app_key": APP_KEY, "app_secret": APP_SECRET}
    grant = {"auth_code": code, "grant_type": "authorized_code"}
    got = standin.control.get("/api/v2/token/get", params=app | grant).json()
    assert got["code"] == 0 and got["data"]["access_token_expire_in"] > time.time()
    again = standin.control.get("/api/v2/token/get", params=app | grant).json()
    assert again["code"] == 29000006  # an auth code is used once
    search = (f"{API}/cancellations/search", {"page_size": "1"}, {})
    old = standin.client(cipher="ROW_oauth", token="TTP_first").request("POST", *search)
    assert old.status_code == 401
    first = got["data"]
    standin.client(cipher="ROW_oauth", token=first["access_token"]).ok("POST", *search)
    renew = {"refresh_token": first["refresh_token"], "grant_type": "refresh_token"}
    refreshed = standin.control.get("/api/v2/token/refresh", params=app | renew).json()["data"]
    standin.client(cipher="ROW_oauth", token=refreshed["access_token"]).ok("POST", *search)
    stale = standin.client(cipher="ROW_oauth", token=first["access_token"]).request("POST", *search)
    assert stale.status_code == 401
    wrong = app | {"app_secret": "nope"} | renew
    assert standin.control.get("/api/v2/token/refresh", params=wrong).json()["code"] == 36009004


def test_paced_traffic_makes_orders_then_their_cancellations_with_their_webhooks(
    standin: StandIn, listener: WebhookListener
) -> None:
    before = len(standin.notifications())
    # 20 a second: under way for a quarter second, when the second ask comes.
    started = standin.ok("POST", "/_standin/traffic", {"rate": 20, "count": 6})
    assert started["count"] == 6
    again = standin.control.post("/_standin/traffic", json={"rate": 200, "count": 2})
    assert again.status_code == 409 and again.json()["code"] == 29000007
    done = wait_for(
        lambda: (t := standin.ok("GET", "/_standin/traffic"))["done"] and t, "traffic made"
    )
    assert (done["made"], done["error"]) == (6, None)
    standin.settle()
    made = standin.notifications()[before:]
    assert [n["type"] for n in made] == [1, 11, 1, 11, 1, 11]
    orders = [n["payload"]["data"]["order_id"] for n in made]
    assert orders[0::2] == orders[1::2]  # each cancellation is of the order made just before
    assert all(n["delivered"] == 1 for n in made)


@pytest.mark.parametrize("body", [{"rate": 0, "count": 1}, {"count": 1}, {"rate": 1, "count": -1}])
def test_traffic_outside_its_bounds_is_refused(standin: StandIn, body: dict[str, Any]) -> None:
    assert standin.control.post("/_standin/traffic", json=body).status_code == 400

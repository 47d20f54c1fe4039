"""H4: a shop linked to TikTok Shop, against the stand-in run as its own process: orders and
cancellations mirrored from its webhooks and its search endpoints, forward only; decisions
taken here sent to TikTok once, pending until TikTok shows them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from integrations.tiktok_shop.credentials import ShopLink
from models.actors import Actor, ActorKind
from storage import cancellations as cancellation_store
from storage import order_records, tiktok_inbox, tiktok_links
from storage.mongo import Database
from storage.tiktok_requests import CONFIRMED, OVERTAKEN
from tests.support.api_client import authorization
from tests.support.tiktok_linked import Linked, eventually, linked_service
from tests.support.tiktok_standin import APP_KEY, APP_SECRET

ACCEPT = """mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) {
  __typename ... on Cancellation { status } ... on UserError { code message } } }"""
REJECT = """mutation($id: ID!, $reason: CancellationRejectReason!) {
  rejectCancellation(input: {cancellationId: $id, reason: $reason, comment: "packed"}) {
  __typename ... on Cancellation { status } ... on UserError { code message field } } }"""
TICKET = """query($id: ID!) { requestTicket(requestId: $id) { subject status } }"""


@pytest.fixture(scope="module")
async def linked(db: Database) -> AsyncIterator[Linked]:
    async with linked_service(db) as service:
        yield service


@pytest.fixture(autouse=True)
async def _calm(linked: Linked) -> AsyncIterator[None]:
    await linked.control("PUT", "/_standin/chaos", {"webhooks": _NO_FAULTS, "calls": _NO_ERRORS})
    yield
    await linked.control("PUT", "/_standin/chaos", {"webhooks": _NO_FAULTS, "calls": _NO_ERRORS})
    await linked.settled()


_NO_FAULTS = {"drop": 0, "duplicate": 0, "delay": 0, "reorder": 0}
_NO_ERRORS = {"throttle": 0, "server_error": 0, "timeout": 0}


def agent(linked: Linked) -> str:
    return f"seller:agent-1@{linked.shop_id}+adjustments"


async def pending_cancellation(linked: Linked) -> tuple[str, str]:
    order = await linked.order(status="AWAITING_SHIPMENT")
    cancel = await linked.control("POST", "/_standin/cancellations", {"order_id": order["id"]})
    return order["id"], cancel["cancel_id"]


async def local_of(linked: Linked, cancel_id: str, status: str | None = None) -> Any:
    """The local cancellation mirroring TikTok's, once it is there (in `status`, if named)."""

    async def found() -> Any:
        mirror = await linked.mirror("cancellation", cancel_id)
        if mirror is None or mirror.local_id is None:
            return None
        local = await cancellation_store.get(linked.services.db, mirror.local_id)
        if status is not None and (local is None or local.status.value != status):
            return None
        return local

    return await eventually(found, f"cancellation {cancel_id} mirrored ({status})")


# ---- in: orders, statuses --------------------------------------------------------------------


async def test_h4_a_tiktok_order_arrives_as_an_order_of_the_shop(linked: Linked) -> None:
    order = await linked.order(status="AWAITING_SHIPMENT")

    async def placed() -> Any:
        found = await order_records.by_external(linked.services.db, linked.shop_id, [order["id"]])
        return found.get(order["id"])

    record = await eventually(placed, "the TikTok order placed here")
    local = await linked.services.orders.get(_platform(), record["_id"])
    assert local.shop_id == linked.shop_id
    assert local.buyer_id == order["buyer_user_id"]
    assert local.fulfilment_state.value == "AWAITING_SHIPMENT"
    assert sum(li.unit_price.minor for li in local.lines) == 1250


async def test_h4_a_buyers_cancellation_opens_a_pending_request_with_its_ticket(
    linked: Linked,
) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    mirror = await linked.mirror("cancellation", cancel_id)
    assert mirror is not None
    assert mirror.tiktok_status == "CANCELLATION_REQUEST_PENDING"
    assert mirror.deadline is not None  # TikTok's
    ticket = await linked.api(TICKET, {"id": local.id}, agent(linked))
    assert ticket["requestTicket"]["subject"] == "New Cancellation Request"


async def test_h4_withdrawn_at_tiktok_is_withdrawn_here(linked: Linked) -> None:
    _, cancel_id = await pending_cancellation(linked)
    await local_of(linked, cancel_id, "PENDING")
    await linked.control("POST", f"/_standin/cancellations/{cancel_id}/withdraw")
    await local_of(linked, cancel_id, "WITHDRAWN")


async def test_h4_approved_on_silence_at_tiktok_is_cancelled_here_by_tiktok(
    linked: Linked,
) -> None:
    _, cancel_id = await pending_cancellation(linked)
    await local_of(linked, cancel_id, "PENDING")
    await linked.control("POST", f"/_standin/cancellations/{cancel_id}/auto_approve")
    local = await local_of(linked, cancel_id, "CANCELLED")
    assert local.timeline[-1].actor_id == "tiktok-system"
    mirror = await linked.mirror("cancellation", cancel_id)
    assert mirror is not None and mirror.tiktok_status.startswith("CANCELLATION_REQUEST_")


async def test_h4_an_unknown_status_is_recorded_not_dropped(linked: Linked) -> None:
    order_id, cancel_id = await pending_cancellation(linked)
    await local_of(linked, cancel_id, "PENDING")
    data = {
        "order_id": order_id,
        "cancel_id": cancel_id,
        "cancel_status": "CANCELLATION_REQUEST_SOMETHING_NEW",
        "cancellations_role": "SYSTEM",
        "create_time": 0,
    }
    await linked.control(
        "POST", "/_standin/webhooks", {"type": 11, "data": data, "shop_id": linked.tiktok_shop}
    )

    async def recorded() -> bool:
        mirror = await linked.mirror("cancellation", cancel_id)
        return mirror is not None and mirror.unknown_status == "CANCELLATION_REQUEST_SOMETHING_NEW"

    await eventually(recorded, "the unknown status recorded")
    await local_of(linked, cancel_id, "PENDING")  # and nothing guessed from it


# ---- in: signatures, replays, late and missing webhooks ---------------------------------------


async def test_h4_a_bad_signature_is_refused_401_and_logged_without_the_body(
    linked: Linked, caplog: pytest.LogCaptureFixture
) -> None:
    body = (
        b'{"type":11,"tts_notification_id":"forged-1","shop_id":"'
        + linked.tiktok_shop.encode()
        + b'","timestamp":1,"data":{"marker":"BODY-MARKER-42"}}'
    )
    with caplog.at_level(logging.INFO):
        answer = await linked.http.post(
            "/webhooks/tiktok", content=body, headers={"Authorization": "0" * 64}
        )
    assert answer.status_code == 401
    forged = {"notification_id": "forged-1"}
    assert await tiktok_inbox.collection(linked.services.db).find_one(forged) is None
    assert "refused" in caplog.text
    assert "BODY-MARKER-42" not in caplog.text


async def test_h4_a_replayed_webhook_is_handled_once(linked: Linked) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    await linked.settled()
    note = await _notification_of(linked, cancel_id)
    calls = (await linked.control("GET", "/_standin/calls"))["total"]
    await linked.control("POST", f"/_standin/webhooks/{note}/resend")
    await linked.settled()
    # Dropped unhandled: TikTok is not asked again about what it names.
    assert (await linked.control("GET", "/_standin/calls"))["total"] == calls
    again = await cancellation_store.get(linked.services.db, local.id)
    assert again is not None and again.version == local.version


async def test_h4_a_handled_webhook_leaves_the_inbox_and_only_its_key_is_kept(
    linked: Linked,
) -> None:
    _, cancel_id = await pending_cancellation(linked)
    await local_of(linked, cancel_id, "PENDING")
    await linked.settled()
    note = await _notification_of(linked, cancel_id)
    ident = f"{linked.shop_id}/{note}"
    db = linked.services.db
    assert await tiktok_inbox.collection(db).find_one({"_id": ident}) is None
    assert await tiktok_inbox.seen(db).find_one({"_id": ident}) is not None


async def test_h4_a_late_webhook_never_moves_a_request_back(linked: Linked) -> None:
    order_id, cancel_id = await pending_cancellation(linked)
    await local_of(linked, cancel_id, "PENDING")
    await linked.control("POST", f"/_standin/cancellations/{cancel_id}/withdraw")
    local = await local_of(linked, cancel_id, "WITHDRAWN")
    stale = {
        "order_id": order_id,
        "cancel_id": cancel_id,
        "cancel_status": "CANCELLATION_REQUEST_PENDING",
        "cancellations_role": "BUYER",
        "create_time": 0,
    }
    await linked.control(
        "POST", "/_standin/webhooks", {"type": 11, "data": stale, "shop_id": linked.tiktok_shop}
    )
    await linked.settled()
    after = await cancellation_store.get(linked.services.db, local.id)
    assert after is not None and after.status.value == "WITHDRAWN"
    assert after.version == local.version


async def test_h4_a_missing_webhook_is_repaired_by_the_reconciler(linked: Linked) -> None:
    await linked.control("PUT", "/_standin/chaos", {"webhooks": {"drop": 1.0}})
    _, cancel_id = await pending_cancellation(linked)
    await linked.settled()
    assert await linked.mirror("cancellation", cancel_id) is None  # no webhook came
    await linked.connection.reconcile(linked.shop_id)
    await local_of(linked, cancel_id, "PENDING")


# ---- out: decisions --------------------------------------------------------------------------


async def test_h4_an_accept_here_goes_to_tiktok_once_and_comes_back_confirmed(
    linked: Linked,
) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    answer = await linked.api(ACCEPT, {"id": local.id}, agent(linked))
    # Pending at TikTok: not moved here until TikTok shows it.
    assert answer["acceptCancellation"] == {"__typename": "Cancellation", "status": "PENDING"}
    await local_of(linked, cancel_id, "CANCELLED")
    await _decision(linked, cancel_id, CONFIRMED)
    applied = await linked.control("GET", "/_standin/applied")
    assert applied["counts"][f"cancellation:{cancel_id}:APPROVE"] == 1


async def test_h4_a_connection_stopped_and_started_again_still_sends_decisions(
    linked: Linked,
) -> None:
    # As an app's lifespan does when it is started again in one process (tests, a reload).
    await linked.connection.stop()
    linked.connection.start()
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    await linked.api(ACCEPT, {"id": local.id}, agent(linked))
    await local_of(linked, cancel_id, "CANCELLED")
    await _decision(linked, cancel_id, CONFIRMED)


async def test_h4_a_reject_here_goes_to_tiktok_with_its_reason(linked: Linked) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    answer = await linked.api(REJECT, {"id": local.id, "reason": "ALREADY_SHIPPED"}, agent(linked))
    assert answer["rejectCancellation"]["status"] == "PENDING"
    done = await local_of(linked, cancel_id, "REJECTED")
    assert done.timeline[-1].actor_id == "tiktok-seller"
    await _decision(linked, cancel_id, CONFIRMED)
    state = await linked.control("GET", "/_standin/state")
    [tiktok] = [c for c in state["cancellations"] if c["cancel_id"] == cancel_id]
    assert tiktok["reject_reason"] == "seller_reject_apply_package_has_been_shipped"


async def test_h4_a_reason_tiktok_does_not_take_is_refused_before_sending(linked: Linked) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    answer = await linked.api(REJECT, {"id": local.id, "reason": "OTHER"}, agent(linked))
    assert answer["rejectCancellation"]["code"] == "VALIDATION_FAILED"
    mirror = await linked.mirror("cancellation", cancel_id)
    assert mirror is not None and mirror.decision is None


async def test_h4_a_throttled_decision_is_retried_with_the_same_key(linked: Linked) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    await linked.control("PUT", "/_standin/chaos", {"calls": {"throttle": 1.0}})
    await linked.api(ACCEPT, {"id": local.id}, agent(linked))

    async def retried() -> bool:
        mirror = await linked.mirror("cancellation", cancel_id)
        return bool(mirror and mirror.decision and mirror.decision["attempts"] >= 2)

    await eventually(retried, "the throttled decision retried")
    await linked.control("PUT", "/_standin/chaos", {"calls": {"throttle": 0}})
    decision = await _decision(linked, cancel_id, CONFIRMED)
    applied = await linked.control("GET", "/_standin/applied")
    mine = [a for a in applied["applications"] if a["id"] == cancel_id]
    assert [(a["decision"], a["idempotency_key"]) for a in mine] == [("APPROVE", decision["key"])]


async def test_h4_a_decision_tiktok_overtook_is_shown_as_such_and_never_applied(
    linked: Linked,
) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    await linked.control("PUT", "/_standin/chaos", {"calls": {"throttle": 1.0}})
    await linked.api(REJECT, {"id": local.id, "reason": "ALREADY_SHIPPED"}, agent(linked))
    await linked.control("POST", f"/_standin/cancellations/{cancel_id}/auto_approve")
    await linked.control("PUT", "/_standin/chaos", {"calls": {"throttle": 0}})
    decision = await _decision(linked, cancel_id, OVERTAKEN)
    assert decision["code"] == 29000001
    await local_of(linked, cancel_id, "CANCELLED")
    applied = await linked.control("GET", "/_standin/applied")
    assert f"cancellation:{cancel_id}:REJECT" not in applied["counts"]


# ---- linking ---------------------------------------------------------------------------------


async def test_h4_secrets_never_leave_in_answers_or_logs(
    linked: Linked, caplog: pytest.LogCaptureFixture
) -> None:
    body = {
        "tiktokShopId": "secret-shop-1",
        "appKey": "key-1",
        "appSecret": "APP-SECRET-VALUE",
        "accessToken": "ACCESS-TOKEN-VALUE",
        "refreshToken": "REFRESH-TOKEN-VALUE",
        "shopCipher": "ROW_x",
        "apiBase": "http://127.0.0.1:9",
    }
    path = "/integrations/tiktok/shops/shop-secret-1"
    with caplog.at_level(logging.INFO):
        put = await linked.http.put(
            path, json=body, headers=authorization("seller:a@shop-secret-1+adjustments")
        )
        got = await linked.http.get(path, headers=authorization("platform:ops-1"))
        refused = await linked.http.put(path, json=body, headers=authorization("buyer:b-1"))
        bad = await linked.http.put(
            path,
            json=body | {"apiBase": "ftp://APP-SECRET-VALUE"},
            headers=authorization("platform:ops-1"),
        )
    assert put.status_code == 200 and got.status_code == 200
    assert refused.status_code == 403 and bad.status_code == 400
    assert got.json()["appKey"] == "key-1"
    seen = put.text + got.text + refused.text + bad.text + caplog.text
    stored = await tiktok_links.get(linked.services.db, "shop-secret-1", linked.connection.sealer)
    seen += repr(stored)
    for secret in ("APP-SECRET-VALUE", "ACCESS-TOKEN-VALUE", "REFRESH-TOKEN-VALUE"):
        assert secret not in seen


# ---- helpers ---------------------------------------------------------------------------------


def _platform() -> Actor:
    return Actor(ActorKind.PLATFORM, "ops-1")


async def _decision(linked: Linked, cancel_id: str, state: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        mirror = await linked.mirror("cancellation", cancel_id)
        d = mirror.decision if mirror else None
        return d if d and d["state"] == state else None

    return await eventually(reached, f"the decision on {cancel_id} {state}")


async def _notification_of(linked: Linked, cancel_id: str) -> str:
    notes = await linked.control("GET", "/_standin/webhooks")
    mine = [n for n in notes["notifications"] if n["payload"]["data"].get("cancel_id") == cancel_id]
    return str(mine[0]["tts_notification_id"])


def test_h4_a_shop_linked_from_the_settings_keeps_its_secrets_out_of_repr_and_errors() -> None:
    from api.settings import Settings, SettingsError

    env = {
        "tiktok_shop": "shop-1",
        "tiktok_shop_id": "7495",
        "tiktok_app_key": "key",
        "tiktok_app_secret": "SETTINGS-SECRET",
        "tiktok_shop_cipher": "ROW_1",
        "tiktok_access_token": "SETTINGS-TOKEN",
    }
    settings = Settings(**env)  # type: ignore[arg-type]
    link = settings.tiktok_link()
    assert link is not None and link.app_secret == "SETTINGS-SECRET"
    assert link.access_token == "SETTINGS-TOKEN"
    shown = repr(settings) + repr(link) + str(link.public())
    assert "SETTINGS-SECRET" not in shown and "SETTINGS-TOKEN" not in shown
    with pytest.raises(SettingsError) as refused:
        Settings(**(env | {"tiktok_access_token": ""})).tiktok_link()  # type: ignore[arg-type]
    assert "AFTERSALES_TIKTOK_ACCESS_TOKEN" in str(refused.value)
    assert Settings().tiktok_link() is None


APPROVE_TICKET = """mutation($id: ID!) { approveFromTicket(input: {ticketId: $id}) {
  __typename } }"""
TICKET_ID = """query($id: ID!) { requestTicket(requestId: $id) { id } }"""


async def test_h4_an_approve_from_the_ticket_goes_to_tiktok_as_the_same_decision(
    linked: Linked,
) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    ticket = (await linked.api(TICKET_ID, {"id": local.id}, agent(linked)))["requestTicket"]
    await linked.api(APPROVE_TICKET, {"id": ticket["id"]}, agent(linked))
    await local_of(linked, cancel_id, "CANCELLED")
    await _decision(linked, cancel_id, CONFIRMED)
    applied = await linked.control("GET", "/_standin/applied")
    assert applied["counts"][f"cancellation:{cancel_id}:APPROVE"] == 1


async def test_h4_an_expired_access_token_is_refreshed_and_stored(linked: Linked) -> None:
    tiktok_shop, shop_id = f"refresh-{linked.tiktok_shop}", f"{linked.shop_id}-refresh"
    tokens = await linked.authorized_shop(tiktok_shop, "ROW_refresh")
    link = ShopLink(
        shop_id=shop_id,
        tiktok_shop_id=tiktok_shop,
        app_key=APP_KEY,
        shop_cipher="ROW_refresh",
        api_base=linked.standin.base,
        app_secret=APP_SECRET,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )
    await linked.connection.link(_platform(), link)
    await linked.control("POST", f"/_standin/shops/{tiktok_shop}/expire_token", {"expired": True})
    api = await linked.connection.api_of(shop_id)
    assert api is not None
    items, _ = await api.search("cancellations", {})  # 105002, refreshed, asked again
    assert items == []
    stored = await tiktok_links.get(linked.services.db, shop_id, linked.connection.sealer)
    assert stored is not None and stored.access_token not in ("", tokens["access_token"])
    assert stored.refresh_token != tokens["refresh_token"]


async def test_h4_a_second_decision_while_one_is_at_tiktok_is_refused(linked: Linked) -> None:
    _, cancel_id = await pending_cancellation(linked)
    local = await local_of(linked, cancel_id, "PENDING")
    await linked.control("PUT", "/_standin/chaos", {"calls": {"throttle": 1.0}})
    await linked.api(ACCEPT, {"id": local.id}, agent(linked))
    second = """mutation($id: ID!) { rejectCancellation(input: {cancellationId: $id,
      reason: ALREADY_SHIPPED}) { __typename ... on InvalidStateError { currentState } } }"""
    answer = await linked.api(second, {"id": local.id}, agent(linked))
    assert answer["rejectCancellation"] == {
        "__typename": "InvalidStateError",
        "currentState": "DECISION_PENDING_AT_TIKTOK",
    }
    await linked.control("PUT", "/_standin/chaos", {"calls": {"throttle": 0}})
    await _decision(linked, cancel_id, CONFIRMED)
    applied = await linked.control("GET", "/_standin/applied")
    assert f"cancellation:{cancel_id}:REJECT" not in applied["counts"]

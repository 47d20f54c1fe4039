"""The pure part of outbound webhooks: the retry schedule, the signature (checked by the
receiver stand-in's own verifier), the body, and what a target and a secret may be."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime

import pytest

from devtools.webhook_receiver.signature import Scheme
from models.actors import ActorKind
from models.errors import ValidationFailed
from models.events import OrderEvent, RefundEvent, StatusEvent, TicketEvent
from models.requests import RequestKind
from webhooks import signing, targets
from webhooks.event_types import EventType, type_of
from webhooks.payloads import delivery_body, delivery_id_of
from webhooks.retry import RetryPolicy, succeeded

AT = datetime(2026, 12, 6, 22, 50, 1, 123000, tzinfo=UTC)


def _status_event(kind: RequestKind = RequestKind.CANCELLATION) -> StatusEvent:
    return StatusEvent(
        kind=kind,
        request_id="c-1",
        order_id="o-1",
        shop_id="shop-1",
        buyer_id="b-1",
        action="ACCEPT",
        from_status="PENDING",
        to_status="ACCEPTED",
        from_tab="TO_PROCEED",
        to_tab="COMPLETED",
        actor_kind=ActorKind.SELLER_AGENT,
        actor_id="agent-1",
        reason=None,
        at=AT,
    )


def test_backoff_doubles_from_the_base_up_to_the_cap_then_gives_up() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=30, max_attempts=6, jitter=0)
    never_random = random.Random(0)
    waits = [policy.delay(n, never_random) for n in range(1, 7)]
    assert waits == [2, 4, 8, 16, 30, None]
    assert policy.schedule() == [2, 4, 8, 16, 30]


def test_jitter_cuts_each_wait_by_at_most_its_share_and_follows_the_given_random_source() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=100, max_attempts=20, jitter=0.5)
    waits = [policy.delay(n, random.Random(n)) for n in range(1, 8)]
    for n, wait in enumerate(waits, start=1):
        full = min(100, 2 ** (n - 1))
        assert wait is not None and full / 2 <= wait <= full
    assert waits == [policy.delay(n, random.Random(n)) for n in range(1, 8)]  # reproducible
    assert len(set(waits)) == len(waits)


def test_a_webhook_pauses_after_its_run_of_failed_deliveries() -> None:
    policy = RetryPolicy(pause_after=3)
    assert [policy.pauses(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


def test_only_2xx_delivers() -> None:
    assert [succeeded(c) for c in (200, 204, 299, 301, 404, 500, None)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_the_signature_is_hmac_sha256_over_timestamp_and_body_as_the_receiver_checks_it() -> None:
    secret, stamp, body = "whsec_unit_0123456789abcdefgh", 1_765_000_000, b'{"a":1}'
    expected = hmac.new(secret.encode(), b"1765000000." + body, hashlib.sha256).hexdigest()
    assert signing.signature_header(secret, stamp, body) == f"t={stamp},v1={expected}"
    sent = signing.headers(
        secret=secret,
        timestamp=stamp,
        body=body,
        delivery_id="wh_1.7",
        shop_id="shop-1",
        sequence=7,
        event_type="ticket.changed",
    )
    assert Scheme("stripe").check(secret, sent, body, now=stamp + 10) is None
    assert Scheme("stripe").check(secret, sent, body + b" ", now=stamp) == "bad signature"
    assert Scheme("stripe").check("another-secret", sent, body, now=stamp) == "bad signature"
    assert (sent["Webhook-Id"], sent["Webhook-Sequence"]) == ("wh_1.7", "7")


def test_the_body_names_the_event_its_type_and_its_place_and_is_the_same_bytes_each_time() -> None:
    event = _status_event(RequestKind.REFUND_ONLY)
    body = delivery_body(delivery_id_of("wh_1", 42), "evt_9", 42, event)
    assert body == delivery_body("wh_1.42", "evt_9", 42, event)
    payload = json.loads(body)
    assert payload["id"] == "wh_1.42" and payload["sequence"] == 42
    assert payload["type"] == "after_sale.status_changed"
    assert payload["occurredAt"] == "2026-12-06T22:50:01.123000Z"
    assert payload["data"]["toStatus"] == "ACCEPTED"


def test_every_kind_of_event_has_a_type_and_ticket_notes_stay_inside() -> None:
    assert type_of(_status_event()) is EventType.CANCELLATION_STATUS_CHANGED
    ticket = TicketEvent(
        ticket_id="t-1",
        kind=RequestKind.CANCELLATION,
        request_id="c-1",
        order_id="o-1",
        shop_id="shop-1",
        action="NOTE",
        detail="internal: buyer was rude",
        status="OPEN",
        assignee=None,
        tags=(),
        actor_kind=ActorKind.SELLER_AGENT,
        actor_id="agent-1",
        rule_id=None,
        rule_name=None,
        at=AT,
    )
    assert type_of(ticket) is EventType.TICKET_CHANGED
    assert b"rude" not in delivery_body("wh_1.1", "evt_1", 1, ticket)


def test_an_order_change_is_an_order_changed_delivery() -> None:
    order = OrderEvent(
        order_id="o-1",
        shop_id="shop-1",
        buyer_id="b-1",
        external_id="ext-1",
        action="DELIVERED",
        from_stage="IN_TRANSIT",
        to_stage="DELIVERED",
        fulfilment_state="DELIVERED",
        payment_state="PAID",
        actor_kind=ActorKind.INTEGRATION,
        actor_id="orders-1",
        at=AT,
    )
    payload = json.loads(delivery_body("wh_1.3", "evt_3", 3, order))
    assert type_of(order) is EventType.ORDER_CHANGED
    assert (payload["type"], payload["data"]["externalId"]) == ("order.changed", "ext-1")


@pytest.mark.parametrize(
    ("action", "wire"),
    [
        ("INSTRUCTED", "refund.instructed"),
        ("SETTLED", "refund.settled"),
        ("FAILED", "refund.failed"),
    ],
)
def test_a_refund_instruction_carries_the_exact_amount_and_lines(action: str, wire: str) -> None:
    refund = RefundEvent(
        refund_id="rfd_afs_1",
        shop_id="shop-1",
        order_id="o-1",
        request_id="afs_1",
        kind=RequestKind.REFUND_ONLY,
        action=action,
        amount_minor=1999,
        currency="USD",
        lines=(("l-1", 1, 1500), ("l-2", 1, 499)),
        reference=None,
        failure_reason=None,
        actor_kind=ActorKind.SELLER_AGENT,
        actor_id="agent-1",
        at=AT,
    )
    payload = json.loads(delivery_body("wh_1.4", "evt_4", 4, refund))
    assert payload["type"] == wire
    assert payload["data"]["amount"] == {"minorUnits": 1999, "currency": "USD"}
    assert payload["data"]["lines"] == [
        {"lineId": "l-1", "quantity": 1, "amountMinorUnits": 1500},
        {"lineId": "l-2", "quantity": 1, "amountMinorUnits": 499},
    ]


@pytest.mark.parametrize(
    "url",
    ["https://10.0.0.1/x", "https://[fd00::1]/x", "https://100.64.0.1/x", "https://0.0.0.0/x"],
)
def test_production_refuses_internal_addresses(url: str) -> None:
    with pytest.raises(ValidationFailed):
        targets.check_url(url, production=True)


def test_a_secret_is_24_to_128_plain_characters() -> None:
    assert targets.check_secret("a" * 24) and targets.check_secret("A-z_0.9~+/=" * 3)
    for bad in ("a" * 23, "a" * 129, "a" * 23 + " ", "é" * 30):
        with pytest.raises(ValidationFailed):
            targets.check_secret(bad)

"""The webhook receiver stand-in (devtools/webhook_receiver), run as its own process: what the
tests of the service's outbound webhooks will deliver to."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.tiktok_standin import wait_for
from tests.support.webhook_receiver import SECRET, Receiver, running_receiver, stripe_header


@pytest.fixture(scope="module")
def module_receiver() -> Iterator[Receiver]:
    with running_receiver("--secret", SECRET) as receiver:
        yield receiver


@pytest.fixture
def receiver(module_receiver: Receiver) -> Receiver:
    module_receiver.control("POST", "reset")
    return module_receiver


def test_a_signed_delivery_is_accepted_and_a_repeat_is_kept_once(receiver: Receiver) -> None:
    assert receiver.deliver("d-1").status_code == 200
    repeat = receiver.deliver("d-1")
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    summary = receiver.summary()
    assert [(d["delivery_id"], d["attempts"], d["duplicates"]) for d in summary["deliveries"]] == [
        ("d-1", 2, 1)
    ]
    assert [a["outcome"] for a in summary["attempts"]] == ["accepted", "duplicate"]


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(stripe_header(b"another body"), id="signs another body"),
        pytest.param(stripe_header(b'{"event": "d-2"}', secret="other"), id="another secret"),
        pytest.param(stripe_header(b'{"event": "d-2"}', stamp=int(time.time()) - 3600), id="stale"),
        pytest.param("v1=" + "0" * 64, id="no timestamp"),
        pytest.param("", id="no signature"),
    ],
)
def test_a_delivery_not_signed_as_agreed_is_refused_401(receiver: Receiver, signature: str) -> None:
    answer = receiver.deliver("d-2", body=b'{"event": "d-2"}', signature=signature)
    assert answer.status_code == 401
    assert receiver.summary()["deliveries"] == []


def test_a_rotated_secret_may_sign_beside_the_old_one(receiver: Receiver) -> None:
    body = b'{"event": "rotating"}'
    t = int(time.time())
    old = stripe_header(body, t, secret="old-secret").split(",v1=")[1]
    new = stripe_header(body, t).split(",v1=")[1]
    assert (
        receiver.deliver("d-3", body=body, signature=f"t={t},v1={old},v1={new}").status_code == 200
    )


def test_a_delivery_without_its_id_shop_or_sequence_is_refused_400(receiver: Receiver) -> None:
    assert receiver.deliver("d-4", headers={"Webhook-Sequence": "x"}).status_code == 400


def test_the_first_k_attempts_of_chosen_deliveries_fail(receiver: Receiver) -> None:
    rule = {"action": "fail", "attempts": 3, "status": 503, "delivery_ids": ["flaky"]}
    receiver.control("POST", "faults", {"rules": [rule]})
    assert [receiver.deliver("flaky").status_code for _ in range(4)] == [503, 503, 503, 200]
    assert receiver.deliver("steady", sequence=2).status_code == 200
    [flaky, steady] = receiver.summary()["deliveries"]
    assert (flaky["attempts"], steady["attempts"]) == (4, 1)


def test_a_share_of_deliveries_fails_the_same_way_on_every_run(receiver: Receiver) -> None:
    ids = [f"s-{n}" for n in range(40)]

    def failed_first() -> set[str]:
        receiver.control("POST", "reset")
        rule = {"action": "fail", "attempts": 1, "share": 0.5, "seed": 7}
        receiver.control("POST", "faults", {"rules": [rule]})
        failed = {i for i in ids if receiver.deliver(i).status_code == 500}
        assert all(receiver.deliver(i).status_code == 200 for i in failed)  # second attempts
        return failed

    first = failed_first()
    assert 0 < len(first) < len(ids)
    assert failed_first() == first


def test_a_timeout_fault_leaves_the_sender_without_an_answer(receiver: Receiver) -> None:
    rule = {"action": "timeout", "attempts": 1, "seconds": 5, "delivery_ids": ["slow"]}
    receiver.control("POST", "faults", {"rules": [rule]})
    with pytest.raises(httpx.ReadTimeout):
        receiver.deliver("slow", timeout=0.3)
    assert receiver.deliver("slow").status_code == 200
    outcomes = [a["outcome"] for a in receiver.summary()["attempts"]]
    assert outcomes == ["timed out (told to)", "accepted"]


def test_down_refuses_connections_then_listens_again(receiver: Receiver) -> None:
    assert receiver.deliver("before", sequence=1).status_code == 200
    receiver.control("POST", "down", {"seconds": 0.5})
    with pytest.raises(httpx.ConnectError):  # a new connection: refused, not answered
        httpx.post(f"{receiver.base}/hooks", content=b"{}", timeout=2)

    def back() -> bool:
        try:
            return receiver.deliver("after", sequence=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(back, "the receiver listening again")
    kept = [d["delivery_id"] for d in receiver.summary()["deliveries"]]
    assert kept == ["before", "after"]


def test_order_and_gaps_are_reported_per_shop(receiver: Receiver) -> None:
    for shop, sequence in [("a", 1), ("a", 2), ("b", 2), ("a", 4), ("b", 1)]:
        assert receiver.deliver(f"{shop}-{sequence}", shop, sequence).status_code == 200
    shops = receiver.summary()["shops"]
    assert shops["a"] == {"sequences": [1, 2, 4], "in_order": True, "missing": [3]}
    assert shops["b"] == {"sequences": [2, 1], "in_order": False, "missing": []}


def test_the_split_scheme_and_other_header_names() -> None:
    with running_receiver(
        "--secret",
        SECRET,
        "--scheme",
        "split",
        "--signature-header",
        "X-Sig",
        "--id-header",
        "X-Id",
    ) as split:
        body, t = b'{"event": "split"}', int(time.time())
        hexdigest = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        good = {"X-Id": "split-1", "Webhook-Timestamp": str(t), "X-Sig": f"sha256={hexdigest}"}
        assert split.deliver("ignored", body=body, headers=good).status_code == 200
        bad = good | {"X-Sig": f"sha256={'0' * 64}"}
        assert split.deliver("ignored", body=body, headers=bad).status_code == 401
        assert [d["delivery_id"] for d in split.summary()["deliveries"]] == ["split-1"]

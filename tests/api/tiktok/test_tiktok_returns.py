"""H4 for refunds, returns and replacements: TikTok's return statuses mirrored as after-sale
requests, forward only, and every seller decision kind sent to TikTok once and confirmed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage import after_sales as after_sale_store
from storage.mongo import Database
from storage.tiktok_requests import CONFIRMED
from tests.support.tiktok_linked import Linked, eventually, linked_service

APPROVE = """mutation($input: ApproveAfterSaleInput!) { approveAfterSale(input: $input) {
  __typename ... on AfterSale { status } ... on UserError { code message field } } }"""
REJECT = """mutation($input: ReasonedStepInput!) { rejectAfterSale(input: $input) {
  __typename ... on AfterSale { status } ... on UserError { code message field } } }"""
CONFIRM = """mutation($input: AfterSaleStepInput!) { confirmReturnReceived(input: $input) {
  __typename ... on AfterSale { status } ... on UserError { code message field } } }"""
REJECT_ON_RECEIPT = """mutation($input: ReasonedStepInput!) { rejectReturnOnReceipt(input: $input)
  { __typename ... on AfterSale { status } ... on UserError { code message field } } }"""


@pytest.fixture(scope="module")
async def linked(db: Database) -> AsyncIterator[Linked]:
    # TikTok's window is an hour here, so its deadline is within the warning's reach.
    async with linked_service(db, "--response-window-seconds", "3600") as service:
        yield service


def agent(linked: Linked) -> str:
    return f"seller:agent-1@{linked.shop_id}+adjustments"


async def asked(linked: Linked, return_type: str, price: str = "20.00") -> str:
    order = await linked.order(
        status="DELIVERED", line_items=[{"product_name": "Serum", "sale_price": price}]
    )
    request = await linked.control(
        "POST", "/_standin/returns", {"order_id": order["id"], "return_type": return_type}
    )
    return str(request["return_id"])


async def local_of(linked: Linked, return_id: str, status: str | None = None) -> Any:
    async def found() -> Any:
        mirror = await linked.mirror("return", return_id)
        if mirror is None or mirror.local_id is None:
            return None
        local = await after_sale_store.get(linked.services.db, mirror.local_id)
        if status is not None and (local is None or local.status.value != status):
            return None
        return local

    return await eventually(found, f"return {return_id} mirrored ({status})")


async def tiktok(linked: Linked, return_id: str, action: str, **body: Any) -> None:
    await linked.control("POST", f"/_standin/returns/{return_id}/{action}", body or None)


# ---- in: every return status -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("return_type", "moves", "statuses"),
    [
        ("REFUND", ["auto_approve"], ["REFUNDED"]),
        (
            "RETURN_AND_REFUND",
            ["auto_approve", "ship", "auto_approve"],
            ["AWAITING_BUYER_RETURN", "RETURN_IN_TRANSIT", "REFUNDED"],
        ),
        ("RETURN_AND_REFUND", ["withdraw"], ["WITHDRAWN"]),
        ("REPLACEMENT", ["auto_approve"], ["REPLACED"]),
        ("REPLACEMENT", ["withdraw"], ["WITHDRAWN"]),
    ],
)
async def test_h4_tiktoks_return_statuses_are_mirrored_forward(
    linked: Linked, return_type: str, moves: list[str], statuses: list[str]
) -> None:
    return_id = await asked(linked, return_type)
    opened = await local_of(linked, return_id, "PENDING_SELLER")
    assert opened.kind.value == {"REFUND": "REFUND_ONLY"}.get(return_type, return_type)
    for move, status in zip(moves, statuses, strict=True):
        await tiktok(linked, return_id, move)
        await local_of(linked, return_id, status)


async def test_h4_arbitration_at_tiktok_is_an_appeal_here(linked: Linked) -> None:
    return_id = await asked(linked, "REFUND")
    local = await local_of(linked, return_id, "PENDING_SELLER")
    await linked.api(
        REJECT,
        {"input": {"requestId": local.id, "reason": "NO_EVIDENCE", "comment": "no photo"}},
        agent(linked),
    )
    await local_of(linked, return_id, "REJECTED")
    await tiktok(linked, return_id, "arbitrate")
    await local_of(linked, return_id, "APPEALED")
    await tiktok(linked, return_id, "close_arbitration", outcome="SUPPORT_BUYER")
    done = await local_of(linked, return_id, "REFUNDED")
    assert done.timeline[-1].actor_id == "tiktok-operator"


async def test_h4_an_unknown_return_status_is_recorded_not_dropped(linked: Linked) -> None:
    return_id = await asked(linked, "REFUND")
    await local_of(linked, return_id, "PENDING_SELLER")
    data = {"return_id": return_id, "return_status": "RETURN_SOMETHING_NEW", "order_id": "x"}
    await linked.control(
        "POST", "/_standin/webhooks", {"type": 12, "data": data, "shop_id": linked.tiktok_shop}
    )

    async def recorded() -> bool:
        mirror = await linked.mirror("return", return_id)
        return mirror is not None and mirror.unknown_status == "RETURN_SOMETHING_NEW"

    await eventually(recorded, "the unknown status recorded")


READ = """query($id: ID!) { afterSale(id: $id) { deadline
  marketplace { externalId externalStatus deadline deadlineSoon
    decision { action decision state refusal { code message } } } } }"""
TICKET = """query($id: ID!) { requestTicket(requestId: $id) { tags } }"""


async def test_h4_tiktoks_deadline_is_shown_and_warned_ahead_and_never_acted_on_here(
    linked: Linked,
) -> None:
    return_id = await asked(linked, "REFUND")
    local = await local_of(linked, return_id, "PENDING_SELLER")
    read = (await linked.api(READ, {"id": local.id}, agent(linked)))["afterSale"]
    shown = read["marketplace"]
    assert shown["externalId"] == return_id
    assert shown["externalStatus"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    assert shown["deadline"] is not None and shown["deadlineSoon"] is True
    # The local window never acts first: TikTok's deadline is the one that counts.
    assert read["deadline"] > shown["deadline"]
    assert await linked.connection.warn_deadlines() >= 1
    tags = (await linked.api(TICKET, {"id": local.id}, agent(linked)))["requestTicket"]["tags"]
    assert "tiktok-deadline-soon" in tags
    assert await linked.connection.warn_deadlines() == 0  # once per deadline


# ---- out: every decision kind ----------------------------------------------------------------


DECISIONS = [
    ("REFUND", False, APPROVE, {"decision": "APPROVE_REFUND"}, "REFUNDED", "APPROVE_REFUND"),
    (
        "RETURN_AND_REFUND",
        False,
        APPROVE,
        {"decision": "APPROVE_RETURN"},
        "AWAITING_BUYER_RETURN",
        "APPROVE_RETURN",
    ),
    (
        "REPLACEMENT",
        False,
        APPROVE,
        {"decision": "APPROVE_REPLACEMENT", "reason": "DEFECT_CONFIRMED"},
        "REPLACED",
        "APPROVE_REPLACEMENT",
    ),
    (
        "REPLACEMENT",
        False,
        APPROVE,
        {"decision": "ISSUE_REPLACEMENT_REFUND"},
        "REFUNDED",
        "ISSUE_REPLACEMENT_REFUND",
    ),
    ("REFUND", False, REJECT, {"reason": "NO_EVIDENCE"}, "REJECTED", "REJECT_REFUND"),
    (
        "RETURN_AND_REFUND",
        False,
        REJECT,
        {"reason": "DELIVERED_AS_DESCRIBED"},
        "REJECTED",
        "REJECT_RETURN",
    ),
    (
        "REPLACEMENT",
        False,
        REJECT,
        {"reason": "NOT_ELIGIBLE", "comment": "worn"},
        "REJECTED",
        "REJECT_REPLACEMENT",
    ),
    ("RETURN_AND_REFUND", True, CONFIRM, {}, "REFUNDED", "APPROVE_RECEIVED_PACKAGE"),
    (
        "RETURN_AND_REFUND",
        True,
        REJECT_ON_RECEIPT,
        {"reason": "WRONG_ITEM_RETURNED"},
        "REJECTED",
        "REJECT_RECEIVED_PACKAGE",
    ),
]


@pytest.mark.parametrize(
    ("return_type", "shipped", "mutation", "fields", "status", "tiktok_decision"),
    DECISIONS,
    ids=[d[-1] for d in DECISIONS],
)
async def test_h4_every_decision_kind_goes_to_tiktok_once_and_is_confirmed(
    linked: Linked,
    return_type: str,
    shipped: bool,
    mutation: str,
    fields: dict[str, Any],
    status: str,
    tiktok_decision: str,
) -> None:
    return_id = await asked(linked, return_type)
    local = await local_of(linked, return_id, "PENDING_SELLER")
    if shipped:
        await tiktok(linked, return_id, "auto_approve")
        await tiktok(linked, return_id, "ship")
        local = await local_of(linked, return_id, "RETURN_IN_TRANSIT")
    waiting = local.status.value
    answer = await linked.api(mutation, {"input": {"requestId": local.id, **fields}}, agent(linked))
    [result] = answer.values()
    assert result == {"__typename": "AfterSale", "status": waiting}  # pending at TikTok
    await local_of(linked, return_id, status)
    await _confirmed(linked, return_id)
    shown = (await linked.api(READ, {"id": local.id}, agent(linked)))["afterSale"]["marketplace"]
    assert shown["decision"]["state"] == "CONFIRMED"
    assert shown["decision"]["decision"] in (tiktok_decision, None)
    counts = (await linked.control("GET", "/_standin/applied"))["counts"]
    assert counts[f"return:{return_id}:{tiktok_decision}"] == 1
    assert [k for k in counts if k.startswith(f"return:{return_id}:")] == [
        f"return:{return_id}:{tiktok_decision}"
    ]


async def test_h4_a_partial_refund_offer_waits_for_the_buyer_at_tiktok(linked: Linked) -> None:
    return_id = await asked(linked, "REFUND", price="20.00")
    local = await local_of(linked, return_id, "PENDING_SELLER")
    offer = {
        "requestId": local.id,
        "decision": "OFFER_PARTIAL_REFUND",
        "partialAmount": {"amount": "5.00", "currency": "USD"},
    }
    await linked.api(APPROVE, {"input": offer}, agent(linked))
    await _confirmed(linked, return_id)
    mirror = await linked.mirror("return", return_id)
    assert mirror is not None and mirror.tiktok_status == "AWAITING_BUYER_RESPONSE"
    await tiktok(linked, return_id, "accept_offer")
    done = await local_of(linked, return_id, "REFUNDED")
    assert done.refund is not None and done.refund.total.minor == 500
    counts = (await linked.control("GET", "/_standin/applied"))["counts"]
    assert counts[f"return:{return_id}:OFFER_PARTIAL_REFUND"] == 1


async def _confirmed(linked: Linked, return_id: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        mirror = await linked.mirror("return", return_id)
        d = mirror.decision if mirror else None
        return d if d and d["state"] == CONFIRMED else None

    return await eventually(reached, f"the decision on {return_id} confirmed")

"""H1, H2 for refunds, returns and replacements, through the public GraphQL API against the real
database server: each request opens its ticket and the ticket follows it to a final state; the
shop's rules act on them as on cancellations; agents decide from the ticket."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from models.actors import EXPIRY_WORKER
from models.clock import SettableClock
from models.commands import ActOnAfterSaleDeadlines
from models.orders import FulfilmentState
from services.bootstrap import Services
from storage import orders as order_store
from storage.mongo import Database
from tests.api.helpdesk.test_helpdesk_api import ERROR, TICKET, _request, _rule, _ticket_of
from tests.api.helpdesk.test_helpdesk_rules_api import DRY_RUN, approve_under, tag_frequent
from tests.support.after_sale_api import ask, delivered_order, mutate, ok
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

TICKET_Q = f"""query($id: ID!) {{ ticket(id: $id) {{ {TICKET}
  cancellation {{ id }} afterSale {{ id kind status }} }} }}"""
TICKET_LIST = """query { tickets(first: 50, filter: {kind: RETURN_AND_REFUND}) { edges { node {
  requestFacts { id } afterSale { id status } } } } }"""
APPROVE = f"""
mutation($input: ApproveFromTicketInput!) {{ approveFromTicket(input: $input) {{
  __typename ... on Ticket {{ status requestFacts {{ status }}
    afterSale {{ status decision {{ type buyerKeepsItem }} refund {{ total {{ minorUnits }} }} }} }}
  ... on NotPendingError {{ currentStatus }}
  ... on RefundExceedsRefundableError {{ refundableMinorUnits }} {ERROR} }} }}"""
REJECT = f"""
mutation($input: RejectFromTicketInput!) {{ rejectFromTicket(input: $input) {{
  __typename ... on Ticket {{ status requestFacts {{ status phase }} afterSale {{ status }} }}
  {ERROR} }} }}"""

SUBJECTS = {
    "REFUND_ONLY": "New Refund Request",
    "RETURN_AND_REFUND": "New Refund Request",  # H1, seed 003: both refund kinds
    "REPLACEMENT": "New Replacement Request",
}


async def _ask(
    api: GraphQLClient,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    kind: str,
    reason: str = "DAMAGED",
    lines: dict[int, int] | None = None,
    **order: Any,
) -> str:
    o = await delivered_order(db, clock, shop_id, **order)
    r = await ok(api, "requestAfterSale", ask(o, kind, reason, lines or {0: 1}), buyer(o.buyer_id))
    return str(r["id"])


async def _ticket(api: GraphQLClient, shop_id: str, request_id: str) -> dict[str, Any]:
    t = await _ticket_of(api, shop_id, request_id)
    return (await api(TICKET_Q, {"id": t["id"]}, seller(shop_id)))["ticket"]


# ---- H1 ------------------------------------------------------------------------------------


async def test_h1_refund_return_and_replacement_requests_open_tickets_by_kind(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    for kind, subject in SUBJECTS.items():
        request_id = await _ask(api, db, clock, shop_id, kind)
        t = await _ticket(api, shop_id, request_id)
        assert (t["type"], t["subject"], t["status"]) == ("REQUEST", subject, "OPEN")
        assert (
            t["requestFacts"]["kind"],
            t["requestFacts"]["status"],
            t["requestFacts"]["phase"],
        ) == (
            kind,
            "PENDING_SELLER",
            "WAITING_FOR_SELLER",
        )
        assert t["requestFacts"]["nextDeadline"] is not None
        assert t["requestFacts"]["amount"]["minorUnits"] == 2500  # line 0: 1 x 25.00
        assert t["cancellation"] is None
        assert t["afterSale"] == {"id": request_id, "kind": kind, "status": "PENDING_SELLER"}
        assert [r["action"] for r in t["timeline"]] == ["OPENED"]


async def test_h1_the_ticket_list_resolves_after_sales_in_one_batch(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    ids = {await _ask(api, db, clock, shop_id, "RETURN_AND_REFUND") for _ in range(3)}
    edges = (await api(TICKET_LIST, {}, seller(shop_id)))["tickets"]["edges"]
    assert {e["node"]["afterSale"]["id"] for e in edges} == ids
    assert all(e["node"]["requestFacts"]["id"] == e["node"]["afterSale"]["id"] for e in edges)


async def test_h1_after_sale_tickets_follow_their_requests_to_a_final_state(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    s = seller(shop_id)

    async def step(name: str, request_id: str, actor: str, **extra: Any) -> tuple[str, str]:
        await ok(api, name, {"requestId": request_id, **extra}, actor)
        t = await _ticket(api, shop_id, request_id)
        return t["status"], t["requestFacts"]["status"]

    refund = await _ask(api, db, clock, shop_id, "REFUND_ONLY")
    assert await step("approveAfterSale", refund, s, decision="APPROVE_REFUND") == (
        "RESOLVED",
        "REFUNDED",
    )

    ret = await _ask(api, db, clock, shop_id, "RETURN_AND_REFUND")
    b = buyer((await db.after_sales.find_one({"_id": ret}))["buyer_id"])
    assert await step("approveAfterSale", ret, s, decision="APPROVE_RETURN") == (
        "PENDING",
        "AWAITING_BUYER_RETURN",
    )
    assert await step("shipReturn", ret, b, carrier="UPS", trackingNumber="1Z") == (
        "PENDING",
        "RETURN_IN_TRANSIT",
    )
    assert await step("confirmReturnReceived", ret, s) == ("RESOLVED", "REFUNDED")

    rep = await _ask(api, db, clock, shop_id, "REPLACEMENT")
    b = buyer((await db.after_sales.find_one({"_id": rep}))["buyer_id"])
    approve = {"decision": "APPROVE_REPLACEMENT", "reason": "DEFECT_CONFIRMED"}
    assert (await step("approveAfterSale", rep, s, **approve))[0] == "PENDING"
    await step("shipReturn", rep, b, carrier="DHL", trackingNumber="9")
    await step("confirmReturnReceived", rep, s)
    await step("shipReplacement", rep, s, carrier="DHL", trackingNumber="10")
    assert await step("recordReplacementDelivered", rep, PLATFORM) == ("RESOLVED", "REPLACED")
    t = await _ticket(api, shop_id, rep)
    moves = [r["detail"] for r in t["timeline"] if r["action"] == "REQUEST_MOVED"]
    assert moves[0] == "PENDING_SELLER -> AWAITING_BUYER_RETURN" and moves[-1].endswith("REPLACED")

    # The buyer withdraws: the ticket is resolved with the request.
    gone = await _ask(api, db, clock, shop_id, "REFUND_ONLY")
    b = buyer((await db.after_sales.find_one({"_id": gone}))["buyer_id"])
    assert (await step("withdrawAfterSale", gone, b))[0] == "RESOLVED"


async def test_h1_a_platform_refund_opens_a_notification_ticket(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    o = await delivered_order(db, clock, shop_id)
    r = await ok(api, "platformRefund", {"orderId": o.id, "reason": "POLICY_VIOLATION"}, PLATFORM)
    t = await _ticket(api, shop_id, r["id"])
    assert (t["type"], t["subject"], t["requestFacts"]["initiator"]) == (
        "NOTIFICATION",
        "Refund Issued by TikTok Shop",
        "SYSTEM",
    )


# ---- deciding from the ticket --------------------------------------------------------------


async def test_h1_approve_and_reject_from_tickets_of_each_after_sale_kind(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    s = seller(shop_id)

    async def approve(request_id: str, actor: str = s, **extra: Any) -> dict[str, Any]:
        t = await _ticket_of(api, shop_id, request_id)
        return (await api(APPROVE, {"input": {"ticketId": t["id"], **extra}}, actor))[
            "approveFromTicket"
        ]

    async def reject(request_id: str, reason: str, **extra: Any) -> dict[str, Any]:
        t = await _ticket_of(api, shop_id, request_id)
        data = {"ticketId": t["id"], "reason": reason, **extra}
        return (await api(REJECT, {"input": data}, s))["rejectFromTicket"]

    refund = await _ask(api, db, clock, shop_id, "REFUND_ONLY")
    denied = await approve(refund, seller(shop_id, adjust=False))
    assert denied["__typename"] == "ForbiddenError"
    done = await approve(refund)
    assert (
        done["status"],
        done["requestFacts"]["status"],
        done["afterSale"]["decision"]["type"],
    ) == (
        "RESOLVED",
        "REFUNDED",
        "APPROVE_REFUND",
    )
    assert done["afterSale"]["refund"]["total"]["minorUnits"] == 2500
    assert (await approve(refund))["__typename"] == "NotPendingError"

    less = await _ask(api, db, clock, shop_id, "REFUND_ONLY")
    part = await approve(less, partialAmount={"amount": "10.00", "currency": "USD"})
    assert part["afterSale"]["refund"]["total"]["minorUnits"] == 1000
    too_much = await _ask(api, db, clock, shop_id, "REFUND_ONLY")
    over = await approve(too_much, partialAmount={"amount": "500.00", "currency": "USD"})
    assert (over["__typename"], over["refundableMinorUnits"]) == (
        "RefundExceedsRefundableError",
        2500,
    )
    assert (await _ticket_of(api, shop_id, too_much))["status"] == "OPEN"  # nothing moved

    ret = await _ask(api, db, clock, shop_id, "RETURN_AND_REFUND")
    back = await approve(ret)
    assert (back["status"], back["requestFacts"]["status"]) == ("PENDING", "AWAITING_BUYER_RETURN")
    keep = await _ask(api, db, clock, shop_id, "RETURN_AND_REFUND")
    kept = await approve(keep, buyerKeepsItem=True)
    assert (kept["requestFacts"]["status"], kept["afterSale"]["decision"]["buyerKeepsItem"]) == (
        "REFUNDED",
        True,
    )

    rep = await _ask(api, db, clock, shop_id, "REPLACEMENT")
    no_reason = await approve(rep)
    assert (no_reason["__typename"], no_reason["field"]) == ("ValidationError", "reason")
    replaced = await approve(rep, reason="DEFECT_CONFIRMED")
    assert (replaced["requestFacts"]["status"], replaced["afterSale"]["decision"]["type"]) == (
        "AWAITING_BUYER_RETURN",
        "APPROVE_REPLACEMENT",
    )

    # Rejections: the request's own catalogue and rules (P3: a replacement needs a comment).
    no = await reject(await _ask(api, db, clock, shop_id, "REFUND_ONLY"), "NO_EVIDENCE")
    assert (no["status"], no["requestFacts"]["status"], no["requestFacts"]["phase"]) == (
        "PENDING",  # the buyer may appeal (R5)
        "REJECTED",
        "IN_PROCESS",
    )
    no_return = await reject(await _ask(api, db, clock, shop_id, "RETURN_AND_REFUND"), "OTHER")
    assert no_return["afterSale"]["status"] == "REJECTED"
    rep2 = await _ask(api, db, clock, shop_id, "REPLACEMENT")
    uncommented = await reject(rep2, "OUT_OF_STOCK")
    assert uncommented["__typename"] == "ValidationError"
    out = await reject(rep2, "OUT_OF_STOCK", comment="none left until spring")
    assert out["afterSale"]["status"] == "REJECTED"


async def test_h1_a_cancellation_ticket_refuses_after_sale_options(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    t = await _ticket_of(api, shop_id, await _request(api, db, clock, shop_id))
    data = {"ticketId": t["id"], "partialAmount": {"amount": "1.00", "currency": "USD"}}
    refused = (await api(APPROVE, {"input": data}, seller(shop_id)))["approveFromTicket"]
    assert (refused["__typename"], refused["field"]) == ("ValidationError", "options")
    assert (await _ticket_of(api, shop_id, t["requestFacts"]["id"]))["status"] == "OPEN"


# ---- H2 ------------------------------------------------------------------------------------


async def test_h2_approve_refund_only_requests_under_an_amount_for_a_category(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    rule = await _rule(api, shop_id, approve_under("50.00", "socks", "REFUND_ONLY"))
    assert rule["__typename"] == "TicketRule", rule

    small = await _ask(api, db, clock, shop_id, "REFUND_ONLY", category="socks")
    big = await _ask(
        api,
        db,
        clock,
        shop_id,
        "REFUND_ONLY",
        lines={0: 1, 1: 2},
        category="socks",
        prices=(4000, 1000),
    )
    shoes = await _ask(api, db, clock, shop_id, "REFUND_ONLY", category="shoes")
    a_return = await _ask(api, db, clock, shop_id, "RETURN_AND_REFUND", category="socks")

    t = await _ticket(api, shop_id, small)
    assert (t["status"], t["requestFacts"]["status"], t["rulesApplied"]) == (
        "RESOLVED",
        "REFUNDED",
        [rule["id"]],
    )
    moved = t["timeline"][-1]
    assert (moved["action"], moved["ruleId"], moved["detail"]) == (
        "REQUEST_MOVED",
        rule["id"],
        "PENDING_SELLER -> REFUNDED",
    )
    doc = await db.after_sales.find_one({"_id": small})
    assert [(r["action"], r["actor_id"]) for r in doc["timeline"]][-1] == (
        "APPROVE",
        f"rule.{rule['id']}",  # the request's own record names the rule too
    )
    # 40.00 + 2 x 10.00 = 60.00 is not under 50.00; shoes are another category; a return is
    # another kind.
    for request_id in (big, shoes, a_return):
        t = await _ticket(api, shop_id, request_id)
        assert (t["status"], t["requestFacts"]["status"], t["rulesApplied"]) == (
            "OPEN",
            "PENDING_SELLER",
            [],
        )
    assert (await _ticket(api, shop_id, big))["requestFacts"]["amount"]["minorUnits"] == 6000


async def test_h2_amount_at_the_bound_is_not_under_it(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _rule(api, shop_id, approve_under("45.00", "socks", "REFUND_ONLY"))
    at_bound = await _ask(
        api, db, clock, shop_id, "REFUND_ONLY", lines={0: 1, 1: 2}, category="socks"
    )
    t = await _ticket(api, shop_id, at_bound)
    assert (t["status"], t["requestFacts"]["status"]) == ("OPEN", "PENDING_SELLER")


async def test_h2_buyer_history_counts_after_sale_requests(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """Earlier requests of every kind count: a cancellation, then a refund, then a return."""
    await _rule(api, shop_id, tag_frequent(1))
    buyer_id = new_buyer_id()
    b = buyer(buyer_id)
    await _request(api, db, clock, shop_id, buyer_id=buyer_id)
    found = []
    for kind in ("REFUND_ONLY", "RETURN_AND_REFUND"):
        clock.advance(timedelta(minutes=5))
        o = await place_order(
            db, shop_id, buyer_id, clock.now() - timedelta(days=1), state=FulfilmentState.DELIVERED
        )
        found.append(await ok(api, "requestAfterSale", ask(o, kind, "DAMAGED", {0: 1}), b))
    tags = [(await _ticket(api, shop_id, r["id"]))["tags"] for r in found]
    assert tags == [[], ["frequent-asker"]]  # the return has 2 earlier requests (> 1)


@pytest.fixture
async def after_sale_rules_not_run_at_creation(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    monkeypatch.setattr(services.requests, "after_create", None)
    yield


async def test_h2_rule_approving_an_after_sale_request_races_a_human_with_one_outcome(
    api: GraphQLClient,
    services: Services,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    after_sale_rules_not_run_at_creation: None,
) -> None:
    rule_id = (await _rule(api, shop_id, approve_under("1000.00", "general", "REFUND_ONLY")))["id"]
    rounds = 10
    winners: Counter[str] = Counter()
    for n in range(rounds):
        request_id = await _ask(api, db, clock, shop_id, "REFUND_ONLY")
        ticket = await db.tickets.find_one({"request_id": request_id})
        assert ticket["rules_due"] is True

        async def human(delay: float, request_id: str = request_id) -> dict[str, Any]:
            await asyncio.sleep(delay)  # staggered, so each side wins some rounds
            data = {"requestId": request_id, "reason": "NO_EVIDENCE"}
            return await mutate(api, "rejectAfterSale", data, seller(shop_id))

        _, _, by_human = await asyncio.gather(
            services.helpdesk.run_rules_for_requests([request_id]),
            services.helpdesk.run_rules_for_tickets([ticket["_id"]]),
            human(0.004 * (n % 5)),
        )

        doc = await db.after_sales.find_one({"_id": request_id})
        decisions = [r["action"] for r in doc["timeline"][1:]]
        assert len(decisions) == 1, decisions  # exactly one outcome
        t = await db.tickets.find_one({"request_id": request_id})
        assert t["rules_applied"] == [rule_id] and not t.get("rules_due")
        by_rule = [r for r in t["timeline"] if r.get("rule_id") == rule_id]
        assert len(by_rule) == 1, by_rule
        if decisions == ["APPROVE"]:
            assert by_human["__typename"] == "NotPendingError", by_human
            assert (doc["status"], by_rule[0]["action"]) == ("REFUNDED", "REQUEST_MOVED")
            winners["rule"] += 1
        else:
            assert by_human["__typename"] == "AfterSale", by_human
            assert (doc["status"], by_rule[0]["action"]) == ("REJECTED", "RULE_SKIPPED")
            winners["human"] += 1
        _, ledger = (await order_store.with_ledgers(db, [doc["order_id"]]))[doc["order_id"]]
        refunded = ledger.refunded_total.minor
        assert refunded == (2500 if decisions == ["APPROVE"] else 0)  # paid once, or not at all
    assert sum(winners.values()) == rounds


async def test_h2_dry_run_of_a_paying_rule_on_after_sale_requests(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """The dry run reads what is left to refund on each order (refund ledger) and lists the
    current requests the rule would pay, without paying anything."""
    small = await _ask(api, db, clock, shop_id, "REFUND_ONLY", category="socks")
    await _ask(api, db, clock, shop_id, "REFUND_ONLY", category="shoes")
    offer = {
        "name": "Offer 5.00 on socks",
        "condition": {"kinds": ["REFUND_ONLY"], "categories": ["socks"]},
        "action": {"kind": "OFFER_PARTIAL_REFUND", "amount": {"amount": "5.00", "currency": "USD"}},
    }
    run = (await api(DRY_RUN, {"rule": offer}, seller(shop_id)))["dryRunTicketRule"]
    assert (run["__typename"], run["matched"], run["acting"]) == ("DryRun", 1, 1)
    [hit] = run["hits"]
    assert (hit["ticket"]["requestFacts"]["id"], hit["effect"]) == (
        small,
        "offer a partial refund of 5.00 USD",
    )
    doc = await db.after_sales.find_one({"_id": small})
    assert doc["status"] == "PENDING_SELLER"  # a dry run writes nothing


async def test_h2_rules_offer_a_partial_refund_reject_or_record_why_they_did_nothing(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    def rule(name: str, category: str, action: dict[str, Any]) -> dict[str, Any]:
        condition = {"kinds": ["REFUND_ONLY"], "categories": [category]}
        return {"name": name, "condition": condition, "action": action}

    usd = "USD"
    offer = await _rule(
        api,
        shop_id,
        rule(
            "Offer 5",
            "mugs",
            {"kind": "OFFER_PARTIAL_REFUND", "amount": {"amount": "5.00", "currency": usd}},
        ),
    )
    reject = await _rule(
        api,
        shop_id,
        rule(
            "No refunds on gift cards",
            "gift-cards",
            {"kind": "REJECT", "reason": "OUTSIDE_RETURN_POLICY"},
        ),
    )
    too_much = await _rule(
        api,
        shop_id,
        rule(
            "Offer 30",
            "vases",
            {"kind": "OFFER_PARTIAL_REFUND", "amount": {"amount": "30.00", "currency": usd}},
        ),
    )

    # R12: the rule offers; the buyer answers, and nothing is paid before.
    mug = await _ask(api, db, clock, shop_id, "REFUND_ONLY", category="mugs")
    t = await _ticket(api, shop_id, mug)
    assert (t["status"], t["requestFacts"]["status"], t["rulesApplied"]) == (
        "PENDING",
        "AWAITING_BUYER_RESPONSE",
        [offer["id"]],
    )
    doc = await db.after_sales.find_one({"_id": mug})
    assert (doc["status"], doc["offer"]["amount"]["minor"]) == ("AWAITING_BUYER_RESPONSE", 500)
    _, ledger = (await order_store.with_ledgers(db, [doc["order_id"]]))[doc["order_id"]]
    assert ledger.refunded_total.minor == 0

    card = await _ask(api, db, clock, shop_id, "REFUND_ONLY", category="gift-cards")
    t = await _ticket(api, shop_id, card)
    assert (t["status"], t["requestFacts"]["status"], t["rulesApplied"]) == (
        "PENDING",  # the buyer may appeal (R5)
        "REJECTED",
        [reject["id"]],
    )

    # 30.00 back on a 25.00 item: the domain refuses (R7); nothing moves and the ticket says why.
    vase = await _ask(api, db, clock, shop_id, "REFUND_ONLY", category="vases")
    t = await _ticket(api, shop_id, vase)
    assert (t["status"], t["requestFacts"]["status"], t["rulesApplied"]) == (
        "OPEN",
        "PENDING_SELLER",
        [too_much["id"]],
    )
    skipped = t["timeline"][-1]
    assert (skipped["action"], skipped["ruleId"]) == ("RULE_SKIPPED", too_much["id"])
    assert skipped["detail"] == (
        "REFUND_EXCEEDS_REFUNDABLE: 30.00 USD is more than the 25.00 USD these lines can still refund"
    )


async def test_h1_a_request_closed_by_a_second_one_resolves_its_ticket_and_the_second_opens_one(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """R5: asking again after a rejection closes the first request; both tickets follow."""
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    first = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b)
    await ok(api, "rejectAfterSale", {"requestId": first["id"], "reason": "NO_EVIDENCE"}, s)
    assert (await _ticket(api, shop_id, first["id"]))["status"] == "PENDING"
    second = await ok(
        api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, note="photo"), b
    )
    closed = await _ticket(api, shop_id, first["id"])
    assert (closed["status"], closed["requestFacts"]["status"]) == ("RESOLVED", "CLOSED_FINAL")
    assert closed["timeline"][-1]["detail"] == "REJECTED -> CLOSED_FINAL"
    opened = await _ticket(api, shop_id, second["id"])
    assert (opened["subject"], opened["status"]) == ("New Refund Request", "OPEN")


async def test_h1_the_platform_acting_at_a_deadline_moves_the_ticket(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """R3: the seller did not answer in time; the platform approves, and the ticket resolves."""
    request_id = await _ask(api, db, clock, shop_id, "REFUND_ONLY")
    deadline = (await _ticket(api, shop_id, request_id))["requestFacts"]["nextDeadline"]
    assert deadline is not None
    clock.advance(timedelta(days=30))
    [moved] = await services.after_sales.handle(
        EXPIRY_WORKER, ActOnAfterSaleDeadlines((request_id,))
    )
    t = await _ticket(api, shop_id, request_id)
    assert (t["status"], t["requestFacts"]["status"]) == ("RESOLVED", moved.status.value)
    assert t["timeline"][-1]["actorId"] == EXPIRY_WORKER.id

"""H2 through the public GraphQL API, against the real database server: rules written as data,
run in order once per request, racing a human with one outcome, refused when invalid, dry run."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from models.clock import SettableClock
from services.bootstrap import Services
from storage.mongo import Database
from tests.api.helpdesk.test_helpdesk_api import (
    ADD_AGENT,
    CREATE_RULE,
    ERROR,
    REJECT,
    _request,
    _rule,
    _system_cancel,
    _ticket_of,
)
from tests.support.api_client import GraphQLClient
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller

RULES = """
query { ticketRules { id name position enabled
  condition { kinds initiators reasons categories amountBelow { amount currency } buyerRequestsOver }
  action { kind tag assignee reason amount { minorUnits } } } }"""
UPDATE_RULE = f"""
mutation($id: ID!, $rule: TicketRuleInput!) {{
  updateTicketRule(input: {{ruleId: $id, rule: $rule}}) {{
    __typename ... on TicketRule {{ id name version enabled }} ... on InvalidRuleError {{ problem }} {ERROR}
  }}
}}"""
DELETE_RULE = f"""
mutation($id: ID!) {{ deleteTicketRule(input: {{ruleId: $id}}) {{
  __typename ... on DeletedTicketRule {{ id }} {ERROR} }} }}"""
DRY_RUN = f"""
mutation($rule: TicketRuleInput!) {{
  dryRunTicketRule(input: {{rule: $rule}}) {{
    __typename
    ... on DryRun {{ matched acting hits {{ acts effect ticket {{ requestFacts {{ id }} status }} }} }}
    ... on InvalidRuleError {{ problem }}
    {ERROR}
  }}
}}"""

RESOLVE_SYSTEM_CANCELLATIONS = {
    "name": "Resolve system cancellations",
    "condition": {"kinds": ["CANCELLATION"], "initiators": ["PLATFORM"]},
    "action": {"kind": "RESOLVE_TICKET"},
}


def approve_under(amount: str, category: str, kind: str = "CANCELLATION") -> dict[str, Any]:
    return {
        "name": f"Approve {kind} under {amount} in {category}",
        "condition": {
            "kinds": [kind],
            "categories": [category],
            "amountBelow": {"amount": amount, "currency": "USD"},
        },
        "action": {"kind": "APPROVE"},
    }


def tag_frequent(n: int) -> dict[str, Any]:
    return {
        "name": f"Frequent askers (> {n} in 30 days)",
        "condition": {"buyerRequestsOver": n},
        "action": {"kind": "TAG", "tag": "frequent-asker"},
    }


async def test_h2_resolve_system_initiated_cancellation_tickets_automatically(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    rule = await _rule(api, shop_id, RESOLVE_SYSTEM_CANCELLATIONS)
    assert rule["__typename"] == "TicketRule"

    t = await _ticket_of(api, shop_id, await _system_cancel(api, db, clock, shop_id))

    assert (t["type"], t["status"], t["rulesApplied"]) == ("NOTIFICATION", "RESOLVED", [rule["id"]])
    record = t["timeline"][-1]
    assert (record["action"], record["ruleId"], record["ruleName"], record["actorId"]) == (
        "STATUS_SET",
        rule["id"],
        "Resolve system cancellations",
        f"rule.{rule['id']}",
    )
    # A buyer's request is not system-initiated: its ticket stays open.
    other = await _ticket_of(api, shop_id, await _request(api, db, clock, shop_id))
    assert (other["status"], other["rulesApplied"]) == ("OPEN", [])


async def test_h2_approve_requests_under_an_amount_for_a_category(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    """The same rule for cancellations, end to end (the issue's refund-only example runs end to
    end in tests/api/helpdesk/test_helpdesk_after_sales_api.py); the refund-only one is saved beside it."""
    rule = await _rule(api, shop_id, approve_under("50.00", "socks"))
    refund_rule = await _rule(api, shop_id, approve_under("50.00", "socks", "REFUND_ONLY"))
    assert (rule["__typename"], refund_rule["__typename"]) == ("TicketRule", "TicketRule")

    small = await _request(api, db, clock, shop_id, category="socks", prices=(1500, 1000))
    big = await _request(api, db, clock, shop_id, category="socks", prices=(4000, 1000))
    other = await _request(api, db, clock, shop_id, category="shoes", prices=(1500, 1000))

    t = await _ticket_of(api, shop_id, small)
    assert (t["status"], t["requestFacts"]["status"], t["rulesApplied"]) == (
        "RESOLVED",
        "CANCELLED",
        [rule["id"]],
    )
    moved = t["timeline"][-1]
    assert (moved["action"], moved["ruleId"], moved["detail"]) == (
        "REQUEST_MOVED",
        rule["id"],
        "PENDING -> CANCELLED",
    )
    doc = await db.cancellations.find_one({"_id": small})
    assert [(r["action"], r["actor_id"]) for r in doc["timeline"]] == [
        ("REQUEST", doc["buyer_id"]),
        ("ACCEPT", f"rule.{rule['id']}"),  # the request's own record names the rule too
    ]
    # 40.00 + 2 x 10.00 = 60.00 is not under 50.00; shoes are another category.
    for request_id in (big, other):
        t = await _ticket_of(api, shop_id, request_id)
        assert (t["status"], t["requestFacts"]["status"]) == ("OPEN", "PENDING")


async def test_h2_approved_by_a_rule_the_buyer_sees_the_outcome_at_once(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _rule(api, shop_id, approve_under("100.00", "general"))
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=2))
    from tests.api.helpdesk.test_helpdesk_api import REQUEST

    result = (await api(REQUEST, {"o": order.id}, buyer(buyer_id)))["requestCancellation"]
    assert result["status"] == "CANCELLED" and result["respondBy"] is not None  # kept


async def test_h2_tag_requests_from_buyers_with_more_than_n_requests_in_30_days(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await _rule(api, shop_id, tag_frequent(2))
    buyer_id = new_buyer_id()
    old = await _request(api, db, clock, shop_id, buyer_id=buyer_id)
    clock.advance(timedelta(days=31))  # 31 days later: the first no longer counts
    ids = [old]
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        ids.append(await _request(api, db, clock, shop_id, buyer_id=buyer_id))
    clock.advance(timedelta(hours=1))
    someone_else = await _request(api, db, clock, shop_id)

    tags = [(await _ticket_of(api, shop_id, r))["tags"] for r in [*ids, someone_else]]
    # Earlier requests in 30 days: 0, 0, 1, 2, and 0 for another buyer; "more than 2" is none.
    assert tags == [[], [], [], [], []]
    clock.advance(timedelta(hours=1))
    fifth = await _request(api, db, clock, shop_id, buyer_id=buyer_id)  # 3 earlier in 30 days
    t = await _ticket_of(api, shop_id, fifth)
    assert t["tags"] == ["frequent-asker"]
    assert t["timeline"][-1]["ruleName"] == "Frequent askers (> 2 in 30 days)"


async def test_h2_rules_run_in_order_once_and_a_refused_action_records_why(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    reject_all = {
        "name": "Reject everything",
        "position": 20,
        "condition": {"kinds": ["CANCELLATION"]},
        "action": {"kind": "REJECT", "reason": "CUSTOM_MADE"},
    }
    approve_all = {
        "name": "Approve everything",
        "position": 10,
        "condition": {"kinds": ["CANCELLATION"]},
        "action": {"kind": "APPROVE"},
    }
    rejecter = await _rule(api, shop_id, reject_all)
    approver = await _rule(api, shop_id, approve_all)
    listed = (await api(RULES, {}, seller(shop_id, adjust=False)))["ticketRules"]
    assert [r["name"] for r in listed] == ["Approve everything", "Reject everything"]

    request_id = await _request(api, db, clock, shop_id)

    t = await _ticket_of(api, shop_id, request_id)
    assert t["requestFacts"]["status"] == "CANCELLED"  # position 10 ran first
    assert t["rulesApplied"] == [approver["id"], rejecter["id"]]
    skipped = t["timeline"][-1]
    assert (skipped["action"], skipped["ruleId"]) == ("RULE_SKIPPED", rejecter["id"])
    assert skipped["detail"].startswith("NOT_PENDING: ")
    doc = await db.cancellations.find_one({"_id": request_id})
    assert [r["action"] for r in doc["timeline"]] == ["REQUEST", "ACCEPT"]

    # Each rule once per request: running the rules again (as a sweep would) changes nothing.
    await db.tickets.update_one({"request_id": request_id}, {"$set": {"rules_due": True}})
    assert await services.helpdesk.run_rules_for_requests([request_id]) == set()
    again = await _ticket_of(api, shop_id, request_id)
    assert again["timeline"] == t["timeline"] and again["rulesApplied"] == t["rulesApplied"]


async def test_h2_rules_crud_and_permission(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    forbidden = await api(CREATE_RULE, {"rule": tag_frequent(1)}, seller(shop_id, adjust=False))
    assert forbidden["createTicketRule"]["__typename"] == "ForbiddenError"
    created = await _rule(api, shop_id, tag_frequent(1))

    renamed = {**tag_frequent(1), "name": "Renamed", "enabled": False}
    updated = await api(UPDATE_RULE, {"id": created["id"], "rule": renamed}, seller(shop_id))
    assert updated["updateTicketRule"] == {
        "__typename": "TicketRule",
        "id": created["id"],
        "name": "Renamed",
        "version": 1,
        "enabled": False,
    }
    other_shop = await api(DELETE_RULE, {"id": created["id"]}, seller("shop-elsewhere"))
    assert other_shop["deleteTicketRule"]["__typename"] == "NotFoundError"  # as an unknown id
    # The platform may write a shop's rules too.
    by_platform = await api(
        CREATE_RULE, {"shop": shop_id, "rule": RESOLVE_SYSTEM_CANCELLATIONS}, PLATFORM
    )
    assert by_platform["createTicketRule"]["__typename"] == "TicketRule"
    deleted = await api(DELETE_RULE, {"id": created["id"]}, seller(shop_id))
    assert deleted["deleteTicketRule"] == {"__typename": "DeletedTicketRule", "id": created["id"]}
    names = [r["name"] for r in (await api(RULES, {}, seller(shop_id)))["ticketRules"]]
    assert names == ["Resolve system cancellations"]


@pytest.mark.parametrize(
    ("rule", "problem", "field"),
    [
        (
            {
                "name": "inverted",
                "condition": {
                    "amountAtLeast": {"amount": "50", "currency": "USD"},
                    "amountBelow": {"amount": "10", "currency": "USD"},
                },
                "action": {"kind": "RESOLVE_TICKET"},
            },
            "AMOUNT_RANGE_INVERTED",
            "condition.amountBelow",
        ),
        (
            {
                "name": "unknown reason",
                "condition": {"kinds": ["CANCELLATION"], "reasons": ["NOT_RECEIVED"]},
                "action": {"kind": "RESOLVE_TICKET"},
            },
            "UNKNOWN_REASON_FOR_KIND",
            "condition.reasons",
        ),
        (
            {
                "name": "partial refund of a cancellation",
                "condition": {"kinds": ["CANCELLATION"]},
                "action": {
                    "kind": "OFFER_PARTIAL_REFUND",
                    "amount": {"amount": "5.00", "currency": "USD"},
                },
            },
            "ACTION_NOT_VALID_FOR_KIND",
            "action.kind",
        ),
        (
            {"name": "approve anything", "condition": {}, "action": {"kind": "APPROVE"}},
            "DECISION_NEEDS_KIND",
            "condition.kinds",
        ),
        (
            {"name": "assign", "condition": {}, "action": {"kind": "ASSIGN", "assignee": "nobody"}},
            "UNKNOWN_AGENT",
            "action.assignee",
        ),
    ],
)
async def test_h2_invalid_rule_is_a_typed_error_when_saved(
    api: GraphQLClient, shop_id: str, rule: dict[str, Any], problem: str, field: str
) -> None:
    result = await _rule(api, shop_id, rule)

    assert result["__typename"] == "InvalidRuleError"
    assert (result["code"], result["problem"], result["field"]) == ("INVALID_RULE", problem, field)
    assert (await api(RULES, {}, seller(shop_id)))["ticketRules"] == []  # nothing saved
    dry = (await api(DRY_RUN, {"rule": rule}, seller(shop_id)))["dryRunTicketRule"]
    assert (dry["__typename"], dry["problem"]) == ("InvalidRuleError", problem)


async def test_h2_money_input_with_too_many_decimals_is_refused(
    api: GraphQLClient, shop_id: str
) -> None:
    result = await _rule(api, shop_id, approve_under("10.001", "socks"))
    assert (result["__typename"], result["field"]) == ("ValidationError", "condition.amountBelow")


async def test_h2_assign_rule_gives_tickets_to_a_shop_agent(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    await api(ADD_AGENT, {"agent": "agent-3"}, seller(shop_id))
    rule = {
        "name": "To agent 3",
        "condition": {},
        "action": {"kind": "ASSIGN", "assignee": "agent-3"},
    }
    assert (await _rule(api, shop_id, rule))["__typename"] == "TicketRule"

    t = await _ticket_of(api, shop_id, await _request(api, db, clock, shop_id))

    assert t["assignee"] == "agent-3"
    assert t["timeline"][-1]["ruleName"] == "To agent 3"

    # Removed from the shop since: the rule does nothing and says why.
    remove = 'mutation { removeShopAgent(input: {agentId: "agent-3"}) { __typename } }'
    assert (await api(remove, {}, seller(shop_id)))["removeShopAgent"]["__typename"] == "ShopAgents"
    t = await _ticket_of(api, shop_id, await _request(api, db, clock, shop_id))
    assert t["assignee"] is None
    assert (t["timeline"][-1]["action"], t["timeline"][-1]["detail"]) == (
        "RULE_SKIPPED",
        f"UNKNOWN_AGENT: agent-3 is no longer an agent of shop {shop_id}",
    )


@pytest.fixture
async def rules_not_run_at_creation(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """As if the process that created the request stopped right after its commit: the ticket is
    left with its rules due, for the worker's sweep."""
    monkeypatch.setattr(services.requests, "after_create", None)
    yield


async def test_h2_rule_racing_a_human_decision_has_exactly_one_outcome(
    api: GraphQLClient,
    services: Services,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    rules_not_run_at_creation: None,
) -> None:
    rule = await _rule(api, shop_id, approve_under("1000.00", "general"))
    rule_id = rule["id"]
    rounds = 12
    winners: Counter[str] = Counter()
    for n in range(rounds):
        request_id = await _request(api, db, clock, shop_id)
        ticket = await db.tickets.find_one({"request_id": request_id})
        assert ticket["rules_due"] is True

        async def human(delay: float, request_id: str = request_id) -> dict[str, Any]:
            await asyncio.sleep(delay)  # staggered, so each side wins some rounds
            return await api(REJECT, {"id": request_id}, seller(shop_id))

        # Two rule runners (the creating process and the worker's sweep) and a human, at once.
        _, _, human_result = await asyncio.gather(
            services.helpdesk.run_rules_for_requests([request_id]),
            services.helpdesk.run_rules_for_tickets([ticket["_id"]]),
            human(0.004 * (n % 6)),
        )

        doc = await db.cancellations.find_one({"_id": request_id})
        decisions = [r["action"] for r in doc["timeline"][1:]]
        assert len(decisions) == 1, decisions  # exactly one outcome
        t = await db.tickets.find_one({"request_id": request_id})
        assert t["rules_applied"] == [rule_id] and not t.get("rules_due")
        by_rule = [r for r in t["timeline"] if r.get("rule_id") == rule_id]
        assert len(by_rule) == 1, by_rule  # the rule acted, or was skipped, once
        if decisions == ["ACCEPT"]:
            assert human_result["rejectCancellation"]["__typename"] == "NotPendingError"
            assert by_rule[0]["action"] == "REQUEST_MOVED"
            winners["rule"] += 1
        else:
            assert human_result["rejectCancellation"]["__typename"] == "Cancellation"
            assert by_rule[0]["action"] == "RULE_SKIPPED"
            assert by_rule[0]["detail"].startswith("NOT_PENDING")
            winners["human"] += 1
        assert t["status"] == "RESOLVED"
    assert sum(winners.values()) == rounds


async def test_h2_worker_sweep_runs_rules_a_stopped_process_left_due(
    api: GraphQLClient,
    services: Services,
    db: Database,
    clock: SettableClock,
    shop_id: str,
    rules_not_run_at_creation: None,
) -> None:
    from services.deadline_worker import DeadlineWorker

    rule = await _rule(api, shop_id, tag_frequent(0))
    buyer_id = new_buyer_id()
    await _request(api, db, clock, shop_id, buyer_id=buyer_id)
    clock.advance(timedelta(minutes=1))
    second = await _request(api, db, clock, shop_id, buyer_id=buyer_id)
    assert (await _ticket_of(api, shop_id, second))["tags"] == []

    clock.advance(timedelta(minutes=1))
    await DeadlineWorker(services, interval=1, batch_size=10).run_once()

    t = await _ticket_of(api, shop_id, second)
    assert (t["tags"], t["rulesApplied"]) == (["frequent-asker"], [rule["id"]])
    assert await db.tickets.count_documents({"shop_id": shop_id, "rules_due": True}) == 0


async def test_h2_dry_run_lists_current_requests_and_what_it_would_do(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    small = await _request(api, db, clock, shop_id, category="socks", prices=(1500, 1000))
    decided = await _request(api, db, clock, shop_id, category="socks", prices=(1500, 1000))
    await api(REJECT, {"id": decided}, seller(shop_id))
    await _request(api, db, clock, shop_id, category="shoes")
    system = await _system_cancel(api, db, clock, shop_id)

    dry = (await api(DRY_RUN, {"rule": approve_under("50.00", "socks")}, seller(shop_id)))[
        "dryRunTicketRule"
    ]
    assert (dry["matched"], dry["acting"]) == (1, 1)  # the rejected one is resolved: not current
    [hit] = dry["hits"]
    assert (hit["ticket"]["requestFacts"]["id"], hit["acts"], hit["effect"]) == (
        small,
        True,
        "approve the request",
    )
    resolve = (await api(DRY_RUN, {"rule": RESOLVE_SYSTEM_CANCELLATIONS}, seller(shop_id)))[
        "dryRunTicketRule"
    ]
    assert [(h["ticket"]["requestFacts"]["id"], h["effect"]) for h in resolve["hits"]] == [
        (system, "resolve the ticket")
    ]
    # Nothing was saved or changed.
    assert (await api(RULES, {}, seller(shop_id)))["ticketRules"] == []
    assert (await _ticket_of(api, shop_id, small))["requestFacts"]["status"] == "PENDING"

"""H4 under chaos: the stand-in drops a fifth of its webhooks, sends a fifth twice, reorders the
rest and answers 429 or 500 to a tenth of the calls, over 502 requests (cancellations, refunds,
returns and replacements) whose decisions race the marketplace's own moves (approval on silence,
the buyer withdrawing, arbitration), half at once, half right behind TikTok's answer. Afterwards
every mirrored request equals the stand-in's, its decision is done exactly when the stand-in
applied it (once, by its idempotency key) and overtaken otherwise, and nothing waits in the inbox
or the decision queue.

The connection runs as in production (its reconciler and its loops in the background), with the
test's own pace: the reconciler every second, two inbox workers, four decision senders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from integrations.tiktok_shop.return_paths import target_of
from integrations.tiktok_shop.statuses import cancellation_status
from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.after_sales_machine import DecisionType
from models.commands import (
    AcceptCancellation,
    ApprovalTerms,
    ApproveAfterSale,
    Command,
    IssueReplacementRefund,
    RejectAfterSale,
    RejectCancellation,
)
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage import tiktok_inbox
from storage import tiktok_requests as mirrors
from storage.mongo import Database
from tests.support.tiktok_linked import Linked, eventually, linked_service
from tests.support.webhook_delivery import own_database

CANCELLATIONS = 250
RETURNS = 252  # a third each refunds, returns and replacements
RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND", "REPLACEMENT")
CHAOS = {
    "seed": 7,
    "webhooks": {"drop": 0.2, "duplicate": 0.2, "reorder": 0.6, "hold_seconds": 0.2},
    "calls": {"throttle": 0.05, "server_error": 0.05},
}
# Generous: a wait that ends early costs nothing; one that never ends names what never came.
WAIT = 600.0


@pytest.fixture(scope="module")
async def db(mongodb_uri: str) -> AsyncIterator[Database]:
    """A database of its own: webhooks the stand-in still sends after the test reach an inbox
    no later test of the run counts."""
    async with own_database(mongodb_uri) as database:
        yield database


@pytest.fixture(scope="module")
async def linked(db: Database) -> AsyncIterator[Linked]:
    async with linked_service(
        db,
        "--seed",
        "7",
        reconcile_seconds=1.0,
        inbox_workers=2,
        inbox_poll_seconds=0.1,
        decision_senders=4,
    ) as service:
        yield service


@dataclass(frozen=True)
class Race:
    """A seller's decision here, and the marketplace's own moves on the same request at once."""

    decide: Callable[[str], Command]
    moves: tuple[str, ...] = ()
    outcome: str = ""  # close_arbitration's


CANCELLATION_RACES = [
    Race(AcceptCancellation),
    Race(lambda i: RejectCancellation(i, "ALREADY_SHIPPED", "packed")),
    Race(AcceptCancellation, ("auto_approve",)),
    Race(lambda i: RejectCancellation(i, "AGREED_WITH_BUYER"), ("withdraw",)),
    Race(lambda i: RejectCancellation(i, "ALREADY_SHIPPED", "packed"), ("auto_approve",)),
]
RETURN_RACES = {
    "REFUND": [
        Race(lambda i: ApproveAfterSale(i, DecisionType.APPROVE_REFUND), ("auto_approve",)),
        Race(lambda i: RejectAfterSale(i, "NO_EVIDENCE", "no photo"), ("withdraw",)),
        Race(
            lambda i: RejectAfterSale(i, "NO_EVIDENCE", "no photo"),
            ("arbitrate", "close_arbitration"),
            "SUPPORT_BUYER",
        ),
    ],
    "RETURN_AND_REFUND": [
        Race(lambda i: ApproveAfterSale(i, DecisionType.APPROVE_RETURN), ("withdraw",)),
        Race(lambda i: RejectAfterSale(i, "DELIVERED_AS_DESCRIBED", "fine"), ("auto_approve",)),
        Race(
            lambda i: ApproveAfterSale(i, DecisionType.APPROVE_RETURN),
            ("arbitrate", "close_arbitration"),
            "SUPPORT_SELLER",
        ),
    ],
    "REPLACEMENT": [
        Race(
            lambda i: ApproveAfterSale(
                i, DecisionType.APPROVE_REPLACEMENT, ApprovalTerms(reason="DEFECT_CONFIRMED")
            ),
            ("auto_approve",),
        ),
        Race(lambda i: RejectAfterSale(i, "NOT_ELIGIBLE", "worn"), ("withdraw",)),
        Race(
            lambda i: IssueReplacementRefund(i, "out of stock"),
            ("arbitrate", "close_arbitration"),
            "SUPPORT_BUYER",
        ),
    ],
}


async def _mirrors(linked: Linked) -> dict[tuple[str, str], mirrors.Mirror]:
    found = await mirrors.for_shop(linked.services.db, linked.shop_id)
    return {(m.kind, m.tiktok_id): m for m in found}


async def _tiktok(linked: Linked) -> dict[tuple[str, str], str]:
    """This service's status for each of the stand-in's requests of the shop, by TikTok's view."""
    state = await linked.control("GET", "/_standin/state")
    wanted: dict[tuple[str, str], str] = {}
    for c in state["cancellations"]:
        status = cancellation_status(c["cancel_status"], c["reject_reason"])
        assert status is not None, c
        wanted["cancellation", c["cancel_id"]] = status.value
    for r in state["returns"]:
        goal = target_of(r)
        assert goal is not None, r
        wanted["return", r["return_id"]] = goal.value
    return wanted


async def _race(linked: Linked, kind: str, tiktok_id: str, race: Race) -> None:
    """The marketplace's moves, in order; one the seller's decision beat is refused (409)."""
    path = f"/_standin/{kind}s/{tiktok_id}"
    for move in race.moves:
        body = {"outcome": race.outcome} if move == "close_arbitration" else None
        answer = await asyncio.to_thread(linked.standin.control.post, f"{path}/{move}", json=body)
        if answer.status_code == 409:
            return
        assert answer.status_code == 200, answer.text


@pytest.mark.long
async def test_h4_chaos_every_mirror_equals_tiktok_and_every_decision_applied_once(
    linked: Linked,
) -> None:
    await linked.control("PUT", "/_standin/chaos", CHAOS)
    asked: list[tuple[str, str, Race]] = []  # (kind, TikTok id, race)
    shipping = await linked.order(count=CANCELLATIONS, status="AWAITING_SHIPMENT")
    for n, order_id in enumerate(shipping["ids"]):
        made = await linked.control("POST", "/_standin/cancellations", {"order_id": order_id})
        asked.append(("cancellation", made["cancel_id"], CANCELLATION_RACES[n % 5]))
    delivered = await linked.order(count=RETURNS, status="DELIVERED")
    for n, order_id in enumerate(delivered["ids"]):
        kind = RETURN_TYPES[n % 3]
        body = {"order_id": order_id, "return_type": kind}
        made = await linked.control("POST", "/_standin/returns", body)
        asked.append(("return", made["return_id"], RETURN_RACES[kind][n // 3 % 3]))

    async def all_mirrored() -> bool:
        found = await _mirrors(linked)
        return all((m := found.get((k, t))) and m.local_id for k, t, _ in asked)

    await eventually(all_mirrored, "every request mirrored", WAIT, every=1.0)

    seller = Actor(ActorKind.SELLER_AGENT, "agent-1", linked.shop_id, frozenset({ADJUSTMENTS}))
    found = await _mirrors(linked)
    turns = asyncio.Semaphore(8)
    # Half the marketplace's moves go at once with the decision (TikTok mostly moves first),
    # half right behind TikTok's answer to it (they race its confirmation and its webhooks).
    behind = {(k, t): race for n, (k, t, race) in enumerate(asked) if n % 2}

    async def decide(kind: str, tiktok_id: str, race: Race) -> None:
        local_id = found[kind, tiktok_id].local_id
        assert local_id is not None
        now = race if (kind, tiktok_id) not in behind else Race(race.decide)
        async with turns:
            await asyncio.gather(
                linked.services.requests.handle(seller, race.decide(local_id)),
                _race(linked, kind, tiktok_id, now),
            )

    await asyncio.gather(*(decide(*a) for a in asked))

    async def all_answered() -> bool:
        found = await _mirrors(linked)
        answered = [k for k in behind if (found[k].decision or {}).get("state") != mirrors.SENDING]
        await asyncio.gather(*(_race(linked, *k, behind.pop(k)) for k in answered))
        return not behind

    await eventually(all_answered, "every decision answered by TikTok", WAIT, every=1.0)

    async def all_equal() -> bool:
        if not (await linked.control("GET", "/_standin/webhooks"))["idle"]:
            return False
        if await _inbox(linked, {"state": tiktok_inbox.NEW}):
            return False
        wanted, found = await _tiktok(linked), await _mirrors(linked)
        return all(
            found[k, t].status == wanted[k, t]
            and (found[k, t].decision or {}).get("state") not in mirrors.IN_FLIGHT
            for k, t, _ in asked
        )

    await eventually(
        all_equal, "every mirror equal to TikTok's, every decision settled", WAIT, every=1.0
    )

    found = await _mirrors(linked)
    applied = (await linked.control("GET", "/_standin/applied"))["applications"]
    by_key: dict[str, int] = {}
    for a in applied:
        by_key[a["idempotency_key"]] = by_key.get(a["idempotency_key"], 0) + 1
    keys = set()
    outcomes: dict[str, int] = {}
    for kind, tiktok_id, _ in asked:
        mirror = found[kind, tiktok_id]
        store = cancellation_store if kind == "cancellation" else after_sale_store
        local = await store.get(linked.services.db, mirror.local_id or "")
        assert local is not None and local.status.value == mirror.status, (tiktok_id, mirror)
        d = mirror.decision
        assert d is not None, tiktok_id
        keys.add(d["key"])
        outcomes[d["state"]] = outcomes.get(d["state"], 0) + 1
        # Done exactly when TikTok applied it, once; overtaken when TikTok moved first.
        expected = mirrors.CONFIRMED if by_key.get(d["key"]) else mirrors.OVERTAKEN
        assert d["state"] == expected, (kind, tiktok_id, d, by_key.get(d["key"]))
    assert all(n == 1 for n in by_key.values()), by_key
    assert set(by_key) <= keys  # nothing applied at TikTok that no decision here sent
    # The races went both ways, and the faults happened.
    assert outcomes.get(mirrors.CONFIRMED) and outcomes.get(mirrors.OVERTAKEN), outcomes
    faults = [n["faults"] for n in await asyncio.to_thread(linked.standin.notifications)]
    assert any("dropped" in f for f in faults) and any("duplicated" in f for f in faults)
    calls = await linked.control("GET", "/_standin/calls")
    assert calls["throttled"] and calls["server_error"], calls
    assert await _inbox(linked, {"state": {"$ne": tiktok_inbox.DONE}}) == 0


async def _inbox(linked: Linked, query: dict[str, Any]) -> int:
    """The shop's webhooks in the inbox that match `query`."""
    inbox = tiktok_inbox.collection(linked.services.db)
    return int(await inbox.count_documents({"shop_id": linked.shop_id, **query}))

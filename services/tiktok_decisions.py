"""A seller's decision on a mirrored request goes to TikTok, once.

`gate` sits in front of the request commands (services/commands.py): a seller's accept or
reject of a request mirrored from TikTok (from GraphQL, a ticket or a rule: all build the same
command) is checked by the domain as if it were applied here (state, permission, reason), then
put in the request's outbox (storage/tiktok_requests.py) instead of being applied; the request
is answered as it is, its decision pending at TikTok. TikTok stays the authority: the request
moves when TikTok shows the outcome (services/tiktok_mirror.py).

`DecisionSender` is the outbox's durable consumer: it claims a decision with a lease, signs and
sends it with an `idempotency_key` derived from the decision (the same on every retry, so
TikTok applies it once), retries throttling, server errors and timeouts with backoff, records
TikTok's refusal (its code and message), and tells an overtaken decision (TikTok moved the
request first) from a refused one by TikTok's view of the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from integrations.tiktok_shop.open_api import API, OpenApi, OpenApiRefused, OpenApiUnavailable
from integrations.tiktok_shop.statuses import (
    CANCEL_REJECT_REASONS,
    RECEIPT_REJECT_REASONS,
    RETURN_REJECT_REASONS,
)
from models import access
from models import cancellations as domain
from models.actors import Actor, ActorKind
from models.after_sales_errors import DecisionNotAllowed
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus
from models.clock import Clock
from models.commands import (
    AcceptCancellation,
    ApproveAfterSale,
    Command,
    ConfirmReturnReceived,
    IssueReplacementRefund,
    OfferPartialRefund,
    RejectAfterSale,
    RejectCancellation,
    RejectReturnOnReceipt,
    fingerprint,
)
from models.errors import InvalidTransition, NotFound, NotPending, ValidationFailed
from models.refund_ledger import RefundLedger
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage import orders as order_store
from storage import tiktok_requests as mirrors
from storage.mongo import Database
from storage.tiktok_requests import OVERTAKEN, REFUSED, SENDING, SENT

log = logging.getLogger("aftersales.tiktok")

PENDING_AT_TIKTOK = "DECISION_PENDING_AT_TIKTOK"
# TikTok's answers that mean the request is no longer where the decision found it.
STATUS_MOVED = frozenset({29000001, 29000004, 25001011})


def decision_key(mirror_id: str, command: Command) -> str:
    """The same decision on the same request gives the same key, on every retry."""
    digest = hashlib.sha256(f"{mirror_id}|{fingerprint(command)}".encode()).hexdigest()
    return f"aftersales-{digest[:48]}"


# Fetches TikTok's view of a mirrored request and applies it (services/tiktok_connection.py).
Refresh = Callable[[mirrors.Mirror], Awaitable[None]]
ApiOf = Callable[[str], Awaitable[OpenApi | None]]


# Decisions that pay money for the items asked; a replacement request takes none of them.
_MONEY = {"APPROVE_REFUND", "APPROVE_RETURN", "OFFER_PARTIAL_REFUND"}


class TikTokDecisions:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.wake = asyncio.Event()

    async def gate(self, actor: Actor, command: Command, key: str | None) -> Any | None:
        """The request as it is, its decision now pending at TikTok; None: not a decision on a
        mirrored request (applied here as usual)."""
        if actor.kind is not ActorKind.SELLER_AGENT:
            return None
        request_id = _request_of(command)
        if request_id is None:
            return None
        mirror = await mirrors.by_local(self.db, request_id)
        if mirror is None:
            return None
        if mirror.kind == "cancellation":
            request, action, body = await self._cancellation(actor, command)
        else:
            request, action, body = await self._after_sale(actor, command)
        now = self.clock.now()
        decision = {
            "key": decision_key(mirror.id, command),
            "action": action,
            "body": body,
            "state": SENDING,
            "attempts": 0,
            "next_at": now,
            "lease_owner": None,
            "lease_until": None,
            "decided_at": now,
            "from_status": mirror.tiktok_status,
            "actor_id": actor.id,
            "code": None,
            "message": None,
        }
        if await mirrors.start_decision(self.db, mirror, decision) is None:
            raise InvalidTransition(
                f"a decision on {request_id} is pending at TikTok", current_state=PENDING_AT_TIKTOK
            )
        self.wake.set()
        return request

    async def _cancellation(
        self, actor: Actor, command: Command
    ) -> tuple[Any, str, dict[str, Any]]:
        assert isinstance(command, AcceptCancellation | RejectCancellation)
        c = await cancellation_store.get(self.db, command.cancellation_id)
        if c is None:
            raise NotFound(f"no cancellation {command.cancellation_id}", field="cancellationId")
        access.require_seller_of(actor, c.shop_id)
        order = await order_store.get(self.db, c.order_id)
        if order is None:
            raise NotFound(f"no order {c.order_id}", field="orderId")
        at = domain.OnOrder(order, RefundLedger.for_order(order), actor, self.clock.now())
        # The domain's own checks, nothing written: a decision refused here never leaves.
        if isinstance(command, AcceptCancellation):
            domain.accept(c, at, command)
            return c, "APPROVE", {}
        domain.reject(c, at, command)
        reason = _tiktok_reason(CANCEL_REJECT_REASONS, command.reason)
        return c, "REJECT", {"reject_reason": reason, "comment": command.comment or ""}

    async def _after_sale(self, actor: Actor, command: Command) -> tuple[Any, str, dict[str, Any]]:
        request_id = _request_of(command) or ""
        r = await after_sale_store.get(self.db, request_id)
        if r is None:
            raise NotFound(f"no request {request_id}", field="requestId")
        access.require_seller_of(actor, r.shop_id)
        receipt = isinstance(command, ConfirmReturnReceived | RejectReturnOnReceipt)
        waiting = AfterSaleStatus.RETURN_IN_TRANSIT if receipt else AfterSaleStatus.PENDING_SELLER
        if r.status is not waiting:
            raise NotPending(
                f"{r.id} is {r.status.value}, not waiting for this decision",
                current_state=r.status.value,
            )
        match command:
            case ApproveAfterSale():
                decision = command.decision.value
                if r.kind is AfterSaleKind.REPLACEMENT and decision in _MONEY:
                    # P4, as here: money for a replacement is its own decision, not a side door.
                    raise DecisionNotAllowed(
                        f"{r.id} asks for a replacement: approve it with APPROVE_REPLACEMENT, "
                        "or settle it with a refund instead (ISSUE_REPLACEMENT_REFUND, P4)"
                    )
                body: dict[str, Any] = {
                    "decision": decision,
                    "buyer_keep_item": command.terms.buyer_keeps_item,
                }
                amount = command.terms.partial_amount
                if amount is not None:
                    body["partial_refund"] = {
                        "amount": f"{amount.amount:.2f}",
                        "currency": amount.currency,
                    }
                return r, "APPROVE", body
            case OfferPartialRefund():
                if r.kind is AfterSaleKind.REPLACEMENT or command.amount is None:
                    raise DecisionNotAllowed(f"{r.id}: an offer is an amount on a money request")
                offer = {
                    "amount": f"{command.amount.amount:.2f}",
                    "currency": command.amount.currency,
                }
                body = {"decision": "OFFER_PARTIAL_REFUND", "partial_refund": offer}
                return r, "APPROVE", body
            case IssueReplacementRefund():
                return r, "APPROVE", {"decision": "ISSUE_REPLACEMENT_REFUND"}
            case RejectAfterSale():
                reason = _tiktok_reason(RETURN_REJECT_REASONS, command.reason)
                body = {
                    "decision": REJECT_DECISION[r.kind],
                    "reject_reason": reason,
                    "comment": command.comment or "",
                }
                return r, "REJECT", body
            case ConfirmReturnReceived():
                return r, "APPROVE", {"decision": "APPROVE_RECEIVED_PACKAGE"}
            case RejectReturnOnReceipt():
                reason = _tiktok_reason(RECEIPT_REJECT_REASONS, command.reason)
                body = {
                    "decision": "REJECT_RECEIVED_PACKAGE",
                    "reject_reason": reason,
                    "comment": command.comment or "",
                }
                return r, "REJECT", body
        raise TypeError(f"not a decision: {command!r}")


REJECT_DECISION = {
    AfterSaleKind.REFUND_ONLY: "REJECT_REFUND",
    AfterSaleKind.RETURN_AND_REFUND: "REJECT_RETURN",
    AfterSaleKind.REPLACEMENT: "REJECT_REPLACEMENT",
}


def _request_of(command: Command) -> str | None:
    """The request a seller's decision is about; None for any other command."""
    if isinstance(command, AcceptCancellation | RejectCancellation):
        return command.cancellation_id
    if isinstance(
        command,
        ApproveAfterSale
        | OfferPartialRefund
        | IssueReplacementRefund
        | RejectAfterSale
        | ConfirmReturnReceived
        | RejectReturnOnReceipt,
    ):
        return command.request_id
    return None


def _tiktok_reason(names: Mapping[str, str], reason: str) -> str:
    name = names.get(reason)
    if name is None:
        raise ValidationFailed(
            f"TikTok takes no reason like {reason!r}; one of {', '.join(names)}", field="reason"
        )
    return name


class DecisionSender:
    """The outbox's consumer, one per process; decisions are leased, so several may run."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        decisions: TikTokDecisions,
        api_of: ApiOf,
        refresh: Refresh,
        *,
        lease: timedelta = timedelta(seconds=30),
        retry_base: float = 0.2,
        retry_cap: float = 30.0,
        max_attempts: int = 30,
        idle_poll: float = 1.0,  # woken at once by a decision taken in this process
    ) -> None:
        self.db = db
        self.clock = clock
        self.decisions = decisions
        self.api_of = api_of
        self.refresh = refresh
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Each claim leases under a name of its own, so several `run` loops of one sender never
        # settle each other's decision (a lease that lapsed mid-send and was claimed again).
        self._claims = itertools.count(1)
        self.lease = lease
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.max_attempts = max_attempts
        self.idle_poll = idle_poll
        self.stopping = asyncio.Event()  # set by the connection's stop: the loop ends

    async def run(self) -> None:
        """Sends decisions as they come (services/tiktok_connection.py restarts it on errors)."""
        while not self.stopping.is_set():
            if not await self.send_one():
                self.decisions.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle_poll):
                        await self.decisions.wake.wait()

    async def send_one(self) -> bool:
        now = self.clock.now()
        owner = f"{self.owner}/{next(self._claims)}"
        mirror = await mirrors.claim_decision(self.db, owner, now, self.lease)
        if mirror is None or mirror.decision is None:
            return False
        d = mirror.decision
        api = await self.api_of(mirror.shop_id)
        if api is None:
            await self._later(mirror, d, "the shop is no longer linked", now, owner)
            return True
        kind = "cancellations" if mirror.kind == "cancellation" else "returns"
        path = f"{API}/{kind}/{mirror.tiktok_id}/{d['action'].lower()}"
        try:
            await api.call("POST", path, {"idempotency_key": d["key"]}, d.get("body") or {})
        except OpenApiUnavailable as exc:
            await self._later(mirror, d, str(exc), now, owner)
            return True
        except OpenApiRefused as refused:
            state = OVERTAKEN if refused.code in STATUS_MOVED else REFUSED
            await mirrors.update_decision(
                self.db,
                mirror.id,
                d["key"],
                {
                    "state": state,
                    "code": refused.code,
                    "message": refused.message,
                    "settled_at": self.clock.now(),
                    "lease_until": None,
                },
                owner=owner,
            )
            log.info("TikTok %s decision on %s: %s %s", d["action"], mirror.id, state, refused.code)
            await self._refresh(mirror)  # an overtaken request shows TikTok's outcome here
            return True
        await mirrors.update_decision(
            self.db,
            mirror.id,
            d["key"],
            {"state": SENT, "sent_at": self.clock.now(), "lease_until": None},
            owner=owner,
        )
        # Confirmed by TikTok's view, fetched now rather than left to a webhook that may not come.
        await self._refresh(mirror)
        return True

    async def _refresh(self, mirror: mirrors.Mirror) -> None:
        fresh = await mirrors.get(self.db, mirror.shop_id, mirror.kind, mirror.tiktok_id)
        if fresh is None:
            return
        try:
            await self.refresh(fresh)
        except (OpenApiUnavailable, OpenApiRefused) as exc:
            # The next webhook or the reconciler shows it instead.
            log.info("TikTok view of %s not read after the decision: %s", mirror.id, exc)

    async def _later(
        self, mirror: mirrors.Mirror, d: dict[str, Any], error: str, now: datetime, owner: str
    ) -> None:
        attempts = int(d.get("attempts", 0)) + 1
        wait = min(self.retry_cap, self.retry_base * 2 ** min(attempts - 1, 20))
        fields: dict[str, Any] = {
            "attempts": attempts,
            "next_at": now + timedelta(seconds=wait),
            "lease_until": None,
            "message": error[:300],
        }
        if attempts >= self.max_attempts:
            fields |= {"state": REFUSED, "code": None, "settled_at": now}
        await mirrors.update_decision(self.db, mirror.id, d["key"], fields, owner=owner)

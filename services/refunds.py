"""Refunds out and settlements in (models/refunds.py).

The one write path every request shares (services/request_writes.py) asks `instructions` inside
the deciding transaction: each request the write gave a refund gets its `Refund`, written in the
request's own document with the request's change (storage/refunds.py); then `announce` gives a
shop with a payment integration a `refund.instructed` event on its feed (the webhooks deliver
it); a shop without one has the refund settled by the platform there and then.

`RefundSettlements` is the intake's other half: the shop's payment integration reports refunds
settled or failed (`settleRefunds`), 1 to 500 at a time, each decided and answered in order in
one transaction (a refused item does not stop the others, as the order intake); a change is
written with its `refund.settled` / `refund.failed` event. `register` records that a shop's
payment system settles its refunds from now on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from models import access
from models.actors import Actor
from models.clock import Clock
from models.errors import DomainError, NotFound, ValidationFailed
from models.events import RefundEvent, of_refund
from models.orders import LineItem
from models.refund_ledger import LineRefund, RefundBreakdown
from models.refunds import (
    MAX_SETTLEMENTS,
    Refund,
    RefundState,
    Settlement,
    instructed,
    newly_refunded,
    settle,
)
from models.tickets import RequestFacts
from storage import events as event_log
from storage import refunds as store
from storage.mongo import Database, Session


async def instructions(
    db: Database,
    session: Session,
    facts: Callable[[Any], RequestFacts],
    created: Sequence[Any],
    moved: Sequence[tuple[Any, Any]],
    now: datetime,
) -> list[Refund]:
    """The refunds this write decided (requests that had none and now pay something); the
    caller writes each with its request (storage/refunds.py::fields_of), then `announce`s them."""
    decided = [r for r in created if newly_refunded(None, r.refund)]
    decided += [after for before, after in moved if newly_refunded(before.refund, after.refund)]
    if not decided:
        return []
    known = [facts(r) for r in decided]
    integrated = await store.integrated_shops(db, [f.shop_id for f in known], session)
    return [
        instruction(f, r, now, f.shop_id in integrated) for f, r in zip(known, decided, strict=True)
    ]


def instruction(facts: RequestFacts, request: Any, now: datetime, integrated: bool) -> Refund:
    """The refund a request that now pays something gets (`integrated`: its shop's payment
    system settles it)."""
    return instructed(
        request_id=facts.request_id,
        request_kind=facts.kind,
        shop_id=facts.shop_id,
        order_id=facts.order_id,
        refund=_with_lines(request.refund, getattr(request, "lines", ())),
        at=now,
        integrated=integrated,
    )


async def announce(db: Database, session: Session, actor: Actor, new: Sequence[Refund]) -> None:
    """The instructions on the shops' feeds, in the deciding transaction (a refund the platform
    settled there and then tells no payment system)."""
    events = [of_refund(r, actor.kind, actor.id) for r in new if r.state is RefundState.INSTRUCTED]
    await event_log.append_many(db, events, session)


def _with_lines(refund: RefundBreakdown, lines: Sequence[LineItem]) -> RefundBreakdown:
    """A cancellation's refund names no lines: it pays the lines it cancels, whole."""
    if refund.lines or not lines or sum(li.subtotal.minor for li in lines) != refund.items.minor:
        return refund
    return replace(
        refund, lines=tuple(LineRefund(li.line_id, li.quantity, li.subtotal) for li in lines)
    )


@dataclass(frozen=True)
class Settled:
    refund: Refund
    repeated: bool  # True: reported before, the same; nothing was written


class RefundSettlements:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def register(self, actor: Actor, shop_id: str) -> bool:
        """The shop's payment integration settles its refunds from now on (refunds decided
        before stay as they are); False when it did already."""
        access.require_integration_of(actor, shop_id)
        return await store.register(self.db, shop_id, actor.id, self.clock.now())

    async def settle(
        self, actor: Actor, shop_id: str, settlements: Sequence[Settlement]
    ) -> list[Settled | DomainError]:
        access.require_integration_of(actor, shop_id)
        if not 1 <= len(settlements) <= MAX_SETTLEMENTS:
            raise ValidationFailed(
                f"a batch has 1 to {MAX_SETTLEMENTS} settlements", field="settlements"
            )

        async def work(session: Session) -> list[Settled | DomainError]:
            ids = sorted({s.refund_id for s in settlements})
            stored = await store.get_many(self.db, ids, session)
            now_of: dict[str, Refund] = dict(stored)
            results: list[Settled | DomainError] = []
            events: list[RefundEvent] = []
            for s in settlements:
                current = now_of.get(s.refund_id)
                # Another shop's refund is answered as an unknown one: its existence is not ours.
                if current is None or current.shop_id != shop_id:
                    results.append(NotFound(f"no refund {s.refund_id}", field="refundId"))
                    continue
                try:
                    after, repeated = settle(current, s)
                except DomainError as err:
                    results.append(err)
                    continue
                if not repeated:
                    now_of[s.refund_id] = after
                    events.append(of_refund(after, actor.kind, actor.id))
                results.append(Settled(after, repeated))
            for refund_id, after in now_of.items():
                before = stored.get(refund_id)
                if before is not None and after is not before:
                    now_of[refund_id] = await store.save(self.db, before, after, session)
            await event_log.append_many(self.db, events, session)
            return [
                Settled(now_of[r.refund.id], r.repeated) if isinstance(r, Settled) else r
                for r in results
            ]

        return await self.db.transaction(work, serial=[shop_id])

    async def list(
        self, actor: Actor, shop_id: str | None, state: RefundState | None, first: int
    ) -> list[Refund]:
        shop = access.team_shop(actor, shop_id)
        return await store.in_shop(self.db, shop, state, first)

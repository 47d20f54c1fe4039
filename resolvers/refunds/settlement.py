"""Refunds over GraphQL: the payment integration's side of the intake (`registerPaymentIntegration`,
`settleRefunds`), the shop's refunds (`refunds`), each request's `refundSettlement`, and the
live feed's refund changes (`refundEvents`).

Resolvers check the input's shape, call one RefundSettlements method (services/refunds.py) and
map each outcome to its union member; the rules are models/refunds.py's.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from feed.live_feed import SubscriberTooSlow
from models import access
from models import events as event_domain
from models import refunds as domain
from models.errors import DomainError
from models.money import Money as DomainMoney
from resolvers.context import Context, actor_of, services_of
from resolvers.errors import (
    CursorExpiredError,
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UserError,
    ValidationError,
    to_user_error,
    typed_error_codes,
)
from resolvers.feed.reading import closer_of, decode_cursor, encode_cursor, feed_of
from resolvers.inputs import well_formed_id
from resolvers.requests.types import LineRefund
from resolvers.values import ActorKind, Money, RequestKind
from services.read_types import StoredEvent
from services.refunds import RefundSettlements, Settled

RefundState = strawberry.enum(
    domain.RefundState,
    name="RefundState",
    description="Where a refund's money is: INSTRUCTED (the payment system was told to pay: "
    "refund pending), SETTLED (the money moved: refunded), FAILED (the payment system could "
    "not pay; it retries and reports SETTLED when it can).",
)
RefundSettledBy = strawberry.enum(
    domain.SettledBy,
    name="RefundSettledBy",
    description="PAYMENT_SYSTEM: the shop's payment integration reported it; PLATFORM: the "
    "shop has no payment integration and the platform paid when the refund was decided.",
)
SettlementOutcome = strawberry.enum(domain.SettlementOutcome, name="SettlementOutcome")

MAX_FIRST = 100


def _service(info: Info[Context, Any]) -> RefundSettlements:
    services = services_of(info)
    return RefundSettlements(services.db, services.clock)


@strawberry.type(description="The money of one refund a request decided, and where it is.")
class Refund:
    id: strawberry.ID
    shop_id: strawberry.ID
    order_id: strawberry.ID
    request_id: strawberry.ID
    request_kind: RequestKind
    amount: Money
    lines: list[LineRefund]
    state: RefundState  # type: ignore[valid-type]
    instructed_at: datetime
    settled_by: RefundSettledBy | None  # type: ignore[valid-type]
    reference: str | None = strawberry.field(description="The payment system's id of it.")
    failure_reason: str | None
    settled_at: datetime | None = strawberry.field(
        description="When it settled, or when it last failed."
    )
    next_step: str | None = strawberry.field(description="What happens next, if anything.")

    @classmethod
    def of(cls, r: domain.Refund) -> Refund:
        return cls(
            id=strawberry.ID(r.id),
            shop_id=strawberry.ID(r.shop_id),
            order_id=strawberry.ID(r.order_id),
            request_id=strawberry.ID(r.request_id),
            request_kind=r.request_kind,
            amount=Money.of(r.amount),
            lines=[
                LineRefund(
                    line_id=strawberry.ID(li.line_id),
                    quantity=li.quantity,
                    amount=Money.of(li.amount),
                )
                for li in r.lines
            ],
            state=r.state,
            instructed_at=r.instructed_at,
            settled_by=r.settled_by,
            reference=r.reference,
            failure_reason=r.failure_reason,
            settled_at=r.settled_at,
            next_step=r.next_step,
        )


async def refund_of(info: Info[Context, Any], request_id: str) -> Refund | None:
    """A request's refund, for whoever sees the request (its resolver checked): the requests of
    one operation (a tab's page) are read in one query."""
    r = await info.context.refunds.load(request_id)
    return Refund.of(r) if r else None


@strawberry.input
class SettlementInput:
    refund_id: strawberry.ID = strawberry.field(
        description="From the `refund.instructed` delivery's `data.refundId`."
    )
    outcome: SettlementOutcome  # type: ignore[valid-type]
    at: datetime = strawberry.field(description="When it happened, by the payment system's clock.")
    reference: str | None = strawberry.field(default=None, description="Its id of the payment.")
    failure_reason: str | None = strawberry.field(
        default=None, description="Why it could not pay: needed with FAILED, only then."
    )


@strawberry.input
class SettleRefundsInput:
    shop_id: strawberry.ID
    settlements: list[SettlementInput] = strawberry.field(
        description=f"1 to {domain.MAX_SETTLEMENTS}."
    )


@strawberry.type(description="The report is recorded (or was: `repeated`, nothing written).")
class RefundSettled:
    repeated: bool
    refund: Refund


@strawberry.type(
    description="The payment system reported this refund before with another outcome, or "
    "after it settled. Nothing was written."
)
class RefundConflictError(UserError):
    refund_id: strawberry.ID
    state: RefundState  # type: ignore[valid-type]


SettleRefundOutcome = Annotated[
    RefundSettled | RefundConflictError | NotFoundError | ValidationError,
    strawberry.union("SettleRefundOutcome"),
]


@strawberry.type(description="One result per settlement sent, in the order sent.")
class SettleRefundsPayload:
    results: list[SettleRefundOutcome]


SettleRefundsResult = Annotated[
    SettleRefundsPayload | ForbiddenError | ValidationError,
    strawberry.union("SettleRefundsResult"),
]


@strawberry.type(description="The shop's refunds are settled by its payment system from now on.")
class PaymentIntegration:
    shop_id: strawberry.ID
    newly_registered: bool = strawberry.field(description="False: it was registered already.")


PaymentIntegrationResult = Annotated[
    PaymentIntegration | ForbiddenError | ValidationError,
    strawberry.union("PaymentIntegrationResult"),
]


def _item(out: Settled | DomainError, n: int) -> Any:
    if isinstance(out, Settled):
        return RefundSettled(repeated=out.repeated, refund=Refund.of(out.refund))
    out.field = f"settlements[{n}].{out.field}" if out.field else f"settlements[{n}]"
    if isinstance(out, domain.RefundConflict):
        if (codes := typed_error_codes.get()) is not None:
            codes.append(out.code)
        return RefundConflictError(
            code=ErrorCode.REFUND_CONFLICT,
            message=out.message,
            field=out.field,
            refund_id=strawberry.ID(out.refund_id),
            state=out.state,
        )
    return to_user_error(out)


@strawberry.type
class RefundMutation:
    @strawberry.mutation(
        description="Integration: the shop's payment system settles its refunds from now on: "
        "each refund decided later is INSTRUCTED (`refund.instructed`) until it reports it."
    )
    async def register_payment_integration(
        self, info: Info[Context, Any], shop_id: strawberry.ID
    ) -> PaymentIntegrationResult:
        try:
            shop = well_formed_id(str(shop_id), "shopId")
            new = await _service(info).register(actor_of(info), shop)
        except DomainError as err:
            return to_user_error(err)  # type: ignore[return-value]
        return PaymentIntegration(shop_id=strawberry.ID(shop), newly_registered=new)

    @strawberry.mutation(
        description="Integration: refunds settled or failed, 1 to 500, idempotent on the refund "
        "id, answered in order. Not all-or-nothing: a refused item does not stop the others."
    )
    async def settle_refunds(
        self, info: Info[Context, Any], input: SettleRefundsInput
    ) -> SettleRefundsResult:
        try:
            shop = well_formed_id(str(input.shop_id), "shopId")
            settlements = [
                domain.Settlement(
                    refund_id=well_formed_id(str(s.refund_id), f"settlements[{n}].refundId"),
                    outcome=s.outcome,
                    at=s.at,
                    reference=s.reference,
                    failure_reason=s.failure_reason,
                )
                for n, s in enumerate(input.settlements)
            ]
            outcomes = await _service(info).settle(actor_of(info), shop, settlements)
        except DomainError as err:
            return to_user_error(err)  # type: ignore[return-value]
        return SettleRefundsPayload(results=[_item(o, n) for n, o in enumerate(outcomes)])


@strawberry.type
class RefundQueries:
    @strawberry.field(
        description="The shop's refunds, newest first (in one state, if given): the shop's "
        "agents and the platform."
    )
    async def refunds(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        state: RefundState | None = None,  # type: ignore[valid-type]
        first: int = 20,
    ) -> list[Refund]:
        first = max(1, min(first, MAX_FIRST))
        shop = well_formed_id(shop_id, "shopId")
        found = await _service(info).list(actor_of(info), shop, state, first)
        return [Refund.of(r) for r in found]


# ---- the live feed's refund changes ----------------------------------------------------------


@strawberry.type(
    description="A refund was instructed to the shop's payment system, or it reported the "
    "refund settled or failed. `cursor` resumes the feed after it."
)
class RefundEvent:
    cursor: str
    refund_id: strawberry.ID
    request_id: strawberry.ID
    order_id: strawberry.ID
    shop_id: strawberry.ID
    request_kind: RequestKind
    state: RefundState  # type: ignore[valid-type]
    amount: Money
    reference: str | None
    failure_reason: str | None
    actor_kind: ActorKind
    actor_id: str
    at: datetime

    @classmethod
    def of(cls, stored: StoredEvent) -> RefundEvent:
        e = stored.event
        assert isinstance(e, event_domain.RefundEvent)
        return cls(
            cursor=encode_cursor(e.shop_id, stored.seq),
            refund_id=strawberry.ID(e.refund_id),
            request_id=strawberry.ID(e.request_id),
            order_id=strawberry.ID(e.order_id),
            shop_id=strawberry.ID(e.shop_id),
            request_kind=e.kind,
            state=domain.RefundState(e.action),
            amount=Money.of(DomainMoney(e.amount_minor, e.currency)),
            reference=e.reference,
            failure_reason=e.failure_reason,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            at=e.at,
        )


RefundEventsMessage = Annotated[
    RefundEvent | CursorExpiredError | ForbiddenError | ValidationError,
    strawberry.union("RefundEventsMessage"),
]


@strawberry.type
class RefundSubscription:
    @strawberry.subscription(
        description="Every refund instructed, settled or failed in one shop, after `after` (a "
        "cursor of this shop's feed): the shop's agents, and the platform naming the shop. A "
        "shop whose refunds the platform pays (no payment integration) has none."
    )
    async def refund_events(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[RefundEventsMessage, None]:
        try:
            shop = access.team_shop(actor_of(info), well_formed_id(shop_id, "shopId"))
            position = decode_cursor(after, shop) if after is not None else None
            async for stored in feed_of(info).read(shop, position, on_too_slow=closer_of(info)):
                if isinstance(stored.event, event_domain.RefundEvent):
                    yield RefundEvent.of(stored)
        except DomainError as err:
            yield to_user_error(err)  # type: ignore[misc]
        except SubscriberTooSlow:
            return

"""GraphQL types of after-sale requests (R1-R12, P1-P4, Y1). Each wraps a domain object; no rule.

Plain fields filled once in `of()`, as for `Cancellation` (a method resolver per field costs more
per page); only the fields of the `Request` interface that read (`order`, `ticket`, `evidence`)
and the connection's `tabCounts` go back to the services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from graphql_runtime.execution_plans import serve_from
from models import after_sale_requests as domain
from models import after_sales_machine as machine
from models.after_sales_reasons import display_text
from models.policy import CategoryPolicy as DomainPolicy
from resolvers.context import Context
from resolvers.policy import ResponseWindow, policy_values
from resolvers.requests.types import LazyOrder, Request, kind_of, kind_tabs, order_of, request_of
from resolvers.values import ActorKind, LineItem, Lines, Money, Reason, copied

T = TypeVar("T")

AfterSaleKind = strawberry.enum(machine.AfterSaleKind, name="AfterSaleKind")
DecisionType = strawberry.enum(
    machine.DecisionType,
    name="AfterSaleDecisionType",
    description="R7, P2: what the seller (or the platform) approved.",
)


AfterSaleTab = kind_tabs(
    machine.AfterSaleTab, "The tabs of Seller Center > Manage Returns/Refunds (R2)."
)


def reason_of(code: str) -> Reason:
    return Reason(code=code, display_text=display_text(code))


def _shown(api_type: Callable[..., T], step: Any) -> T | None:
    """A decision, rejection or appeal as the API shows it: its reason code displayed."""
    if step is None:
        return None
    return copied(api_type, step, reason=reason_of(step.reason) if step.reason else None)


@strawberry.type(description="R7, P2: the decision that was approved.")
class AfterSaleDecision:
    type: DecisionType
    lines: Lines = strawberry.field(graphql_type=list[LineItem])
    buyer_keeps_item: bool
    partial_amount: Money | None
    reason: Reason | None
    comment: str | None
    decided_at: datetime
    decided_by: ActorKind


OfferAnswer = strawberry.enum(
    domain.OfferAnswer, name="OfferAnswer", description="R12: the buyer's answer to an offer."
)


@strawberry.type(description="R12: the seller's partial-refund offer and the buyer's answer.")
class AfterSaleOffer:
    amount: Money
    lines: Lines = strawberry.field(
        graphql_type=list[LineItem], description="The lines and quantities the amount settles."
    )
    comment: str | None
    made_at: datetime
    respond_by: datetime
    answer: OfferAnswer | None = strawberry.field(description="Null while the buyer may answer.")
    answered_at: datetime | None


@strawberry.type
class AfterSaleRejection:
    reason: Reason
    comment: str | None
    at: datetime
    on_receipt: bool = strawberry.field(description="R8: the returned parcel was rejected.")


@strawberry.type(description="R5, R6: the buyer's appeal and the platform's decision on it.")
class AfterSaleAppeal:
    reason: Reason
    comment: str | None
    at: datetime
    for_buyer: bool | None = strawberry.field(description="Null while the platform mediates.")
    note: str | None
    decided_at: datetime | None


@strawberry.type
class Shipment:
    carrier: str
    tracking_number: str
    shipped_at: datetime
    received_at: datetime | None


def with_policy_fields(optional: bool = False, **described: str) -> Callable[[type[T]], type[T]]:
    """Gives a class the domain policy's fields after its own, as the API names them
    (resolvers/policy.py::policy_values): a window in whole seconds, a flag or an amount as it
    is, in the domain's order, each described by its keyword of `described`; `optional` in an
    input (a field left out takes the default)."""

    def add(cls: type[T]) -> type[T]:
        for f in fields(DomainPolicy):
            window = f.type == "timedelta"  # annotations are strings there
            name = f"{f.name}_seconds" if window else f.name
            value_type = int if window or f.type == "int" else bool
            cls.__annotations__[name] = value_type | None if optional else value_type
            default = {"default": None} if optional else {}
            setattr(cls, name, strawberry.field(description=described.get(name), **default))
        return cls

    return add


@strawberry.type(description="Y1: a category's windows (in seconds) and rules.")
@with_policy_fields(
    payment_window_seconds="Y2, C8.",
    business_days="Y2: the seller response window counts business days.",
    high_value_above="Y2: order value (items, minor units) above which the high-value "
    "window applies; 0: never.",
    offer_silence_accepts="R12: the buyer's silence on an offer accepts it (else declines it).",
)
class CategoryPolicy:
    category: str = strawberry.field(
        description='"*" is the default of every other category; on a request, the categories '
        "of its lines (their policies combined: the shortest windows)."
    )

    @classmethod
    def of(cls, category: str, p: DomainPolicy) -> CategoryPolicy:
        return copied(cls, policy_values(p), category=category)


# Served as they are: the domain's values have these types' attribute names.
serve_from(Shipment, domain.Shipment)
serve_from(AfterSaleOffer, domain.Offer)


@strawberry.type(description="A refund only, a return and refund, or a replacement request.")
class AfterSale(Request):
    _r: strawberry.Private[domain.AfterSaleRequest]
    tab: AfterSaleTab
    follows_id: strawberry.ID | None = strawberry.field(
        description="R5: the rejected request this second request follows."
    )
    lines: Lines = strawberry.field(
        graphql_type=list[LineItem], description="The lines and quantities asked about."
    )
    decision: AfterSaleDecision | None
    rejection: AfterSaleRejection | None
    appeal: AfterSaleAppeal | None
    return_shipment: domain.Shipment | None = strawberry.field(graphql_type=Shipment | None)
    replacement_shipment: domain.Shipment | None = strawberry.field(graphql_type=Shipment | None)
    offer: domain.Offer | None = strawberry.field(
        graphql_type=AfterSaleOffer | None,
        description="R12: the latest partial-refund offer, answered or not.",
    )
    replacement_order_id: strawberry.ID | None = strawberry.field(
        description="P4: the order that ships the replacement, once approved."
    )
    policy: CategoryPolicy = strawberry.field(description="The policy it was opened under (Y1).")

    @classmethod
    def of(cls, r: domain.AfterSaleRequest) -> AfterSale:
        return request_of(
            cls,
            r,
            kind_of(r.kind),
            reason_of,
            r.next_action,
            _r=r,
            tab=AfterSaleTab[r.tab.name],
            follows_id=r.follows_id,
            deadline=r.deadline,
            decision=_shown(AfterSaleDecision, r.decision),
            rejection=_shown(AfterSaleRejection, r.rejection),
            appeal=_shown(AfterSaleAppeal, r.appeal),
            return_shipment=r.return_shipment,
            replacement_shipment=r.replacement_shipment,
            offer=r.offer,
            replacement_order_id=r.replacement_order_id,
            policy=CategoryPolicy.of(
                ",".join(sorted({line.category for line in r.lines})), r.policy
            ),
        )

    @strawberry.field(
        description="Y2: the seller response window the request was given (null: it waited for "
        "no seller, as a seller's, the platform's or an instant refund)."
    )
    async def seller_response_window(self, info: Info[Context, Any]) -> ResponseWindow | None:
        r = self._r
        if not r.timeline or r.timeline[0].to_status is not machine.AfterSaleStatus.PENDING_SELLER:
            return None
        order = await info.context.orders.load(r.order_id)
        return ResponseWindow.for_request(r.policy, order.items_total.minor) if order else None

    @strawberry.field(description="P4: the replacement order, once the replacement is approved.")
    async def replacement_order(self, info: Info[Context, Any]) -> LazyOrder | None:
        return await order_of(info, self._r.replacement_order_id)

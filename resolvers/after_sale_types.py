"""GraphQL types of after-sale requests (R1-R11, P1-P3, Y1). Each wraps a domain object; no rule.

Plain fields filled once in `of()`, as for `Cancellation` (a method resolver per field costs more
per page); only `order` and the connection's `tabCounts` go back to the services.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from models import after_sales as domain
from models.after_sales_reasons import display_text
from models.orders import Order as DomainOrder
from models.policy import CategoryPolicy as DomainPolicy
from models.refund_ledger import LedgerSource as DomainLedgerSource
from models.refund_ledger import RefundBreakdown as DomainBreakdown
from models.refund_ledger import RefundLedger as DomainLedger
from resolvers.context import Context, actor_of, services_of
from resolvers.evidence_types import Evidence, evidence_of
from resolvers.types import ActorKind, LineItem, Lines, Money, Order, PageInfo, Reason
from storage.after_sales import AfterSaleFilter as StoreFilter

if TYPE_CHECKING:
    from resolvers.refunds import Refund

AfterSaleKind = strawberry.enum(domain.AfterSaleKind, name="AfterSaleKind")
AfterSaleStatus = strawberry.enum(domain.AfterSaleStatus, name="AfterSaleStatus")
AfterSaleInitiator = strawberry.enum(domain.Initiator, name="AfterSaleInitiator")
AfterSaleAction = strawberry.enum(domain.AfterSaleAction, name="AfterSaleAction")
DecisionType = strawberry.enum(
    domain.DecisionType,
    name="AfterSaleDecisionType",
    description="R7, P2: what the seller (or the platform) approved.",
)


@strawberry.enum(description="The tabs of Seller Center > Manage Returns/Refunds (R2).")
class AfterSaleTab(Enum):
    ALL = "ALL"
    TO_PROCEED = "TO_PROCEED"
    IN_PROCESS = "IN_PROCESS"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"

    def domain(self) -> domain.AfterSaleTab | None:
        return None if self is AfterSaleTab.ALL else domain.AfterSaleTab(self.value)


def reason_of(code: str) -> Reason:
    return Reason(code=code, display_text=display_text(code))


@strawberry.type
class LineRefund:
    line_id: strawberry.ID
    quantity: int
    amount: Money


@strawberry.type(description="How a refund is made up: per line, the items, the shipping, total.")
class AfterSaleRefund:
    items: Money
    shipping: Money
    total: Money
    lines: list[LineRefund]

    @classmethod
    def of(cls, b: DomainBreakdown) -> AfterSaleRefund:
        return cls(
            items=Money.of(b.items),
            shipping=Money.of(b.shipping),
            total=Money.of(b.total),
            lines=[
                LineRefund(
                    line_id=strawberry.ID(x.line_id), quantity=x.quantity, amount=Money.of(x.amount)
                )
                for x in b.lines
            ],
        )


LedgerSource = strawberry.enum(DomainLedgerSource, name="RefundSource")


@strawberry.type(description="One refund paid on the order, by a request or a cancellation.")
class RefundLedgerEntry:
    source: LedgerSource
    source_id: strawberry.ID
    at: datetime
    items: Money
    shipping: Money
    total: Money
    lines: list[LineRefund]


@strawberry.type(description="Every refund on an order, and what is left (never below zero).")
class RefundLedger:
    order_id: strawberry.ID
    paid: Money
    refunded: Money
    refundable: Money
    entries: list[RefundLedgerEntry]

    @classmethod
    def of(cls, order: DomainOrder, ledger: DomainLedger) -> RefundLedger:
        return cls(
            order_id=strawberry.ID(order.id),
            paid=Money.of(order.amount_paid),
            refunded=Money.of(ledger.refunded_total),
            refundable=Money.of(ledger.refundable_total(order)),
            entries=[
                RefundLedgerEntry(
                    source=e.source,
                    source_id=strawberry.ID(e.source_id),
                    at=e.at,
                    items=Money.of(e.items),
                    shipping=Money.of(e.shipping),
                    total=Money.of(e.total),
                    lines=[
                        LineRefund(
                            line_id=strawberry.ID(x.line_id),
                            quantity=x.quantity,
                            amount=Money.of(x.amount),
                        )
                        for x in e.lines
                    ],
                )
                for e in ledger.entries
            ],
        )


@strawberry.type(description="Who must act next, what they do, and by when (null: no deadline).")
class AfterSaleNextAction:
    actor_kind: ActorKind
    action: str
    due_at: datetime | None


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


@strawberry.type(description="One change of a request (R11): who, when, from what to what, why.")
class AfterSaleTimelineRecord:
    at: datetime
    actor_kind: ActorKind
    actor_id: str
    action: AfterSaleAction
    from_status: AfterSaleStatus | None
    to_status: AfterSaleStatus
    reason: Reason | None
    comment: str | None
    deadline: datetime | None = strawberry.field(
        description="For a move made because time ran out: the deadline it acted on."
    )


@strawberry.type(description="Y1: a category's windows (in seconds) and rules.")
class CategoryPolicy:
    category: str = strawberry.field(
        description='"*" is the default of every other category; on a request, the categories '
        "of its lines (their policies combined: the shortest windows)."
    )
    unconditional_cancel_window_seconds: int
    seller_response_window_seconds: int
    return_refund_window_seconds: int
    buyer_return_shipping_window_seconds: int
    seller_receipt_window_seconds: int
    appeal_window_seconds: int
    instant_refund: bool
    replacement_needs_item_back: bool

    @classmethod
    def of(cls, category: str, p: DomainPolicy) -> CategoryPolicy:
        def s(window: Any) -> int:
            return int(window.total_seconds())

        return cls(
            category=category,
            unconditional_cancel_window_seconds=s(p.unconditional_cancel_window),
            seller_response_window_seconds=s(p.seller_response_window),
            return_refund_window_seconds=s(p.return_refund_window),
            buyer_return_shipping_window_seconds=s(p.buyer_return_shipping_window),
            seller_receipt_window_seconds=s(p.seller_receipt_window),
            appeal_window_seconds=s(p.appeal_window),
            instant_refund=p.instant_refund,
            replacement_needs_item_back=p.replacement_needs_item_back,
        )


def _shipment(s: domain.Shipment | None) -> Shipment | None:
    if s is None:
        return None
    return Shipment(
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        shipped_at=s.shipped_at,
        received_at=s.received_at,
    )


@strawberry.type(description="A refund only, a return and refund, or a replacement request.")
class AfterSale:
    _r: strawberry.Private[domain.AfterSaleRequest]
    id: strawberry.ID
    order_id: strawberry.ID
    shop_id: strawberry.ID
    buyer_id: strawberry.ID
    kind: AfterSaleKind
    initiator: AfterSaleInitiator
    status: AfterSaleStatus
    tab: AfterSaleTab
    reason: Reason
    note: str | None
    requested_at: datetime
    resolved_at: datetime | None
    follows_id: strawberry.ID | None = strawberry.field(
        description="R5: the rejected request this second request follows."
    )
    lines: Lines = strawberry.field(
        graphql_type=list[LineItem], description="The lines and quantities asked about."
    )
    deadline: datetime | None = strawberry.field(description="The current step's deadline.")
    next_action: AfterSaleNextAction | None
    decision: AfterSaleDecision | None
    rejection: AfterSaleRejection | None
    appeal: AfterSaleAppeal | None
    return_shipment: Shipment | None
    replacement_shipment: Shipment | None
    refund: AfterSaleRefund | None = strawberry.field(description="What was refunded, if paid.")
    timeline: list[AfterSaleTimelineRecord]
    policy: CategoryPolicy = strawberry.field(description="The policy it was opened under (Y1).")

    @classmethod
    def of(cls, r: domain.AfterSaleRequest) -> AfterSale:
        n, d, rej, ap = r.next_action, r.decision, r.rejection, r.appeal
        return cls(
            _r=r,
            id=strawberry.ID(r.id),
            order_id=strawberry.ID(r.order_id),
            shop_id=strawberry.ID(r.shop_id),
            buyer_id=strawberry.ID(r.buyer_id),
            kind=r.kind,
            initiator=r.initiator,
            status=r.status,
            tab=AfterSaleTab(r.tab.value),
            reason=reason_of(r.reason),
            note=r.note,
            requested_at=r.requested_at,
            resolved_at=r.resolved_at,
            follows_id=strawberry.ID(r.follows_id) if r.follows_id else None,
            lines=r.lines,
            deadline=r.deadline,
            next_action=(
                AfterSaleNextAction(actor_kind=n.actor_kind, action=n.action, due_at=n.due_at)
                if n
                else None
            ),
            decision=(
                AfterSaleDecision(
                    type=d.type,
                    lines=d.lines,
                    buyer_keeps_item=d.buyer_keeps_item,
                    partial_amount=Money.of(d.partial_amount) if d.partial_amount else None,
                    reason=reason_of(d.reason) if d.reason else None,
                    comment=d.comment,
                    decided_at=d.decided_at,
                    decided_by=d.decided_by,
                )
                if d
                else None
            ),
            rejection=(
                AfterSaleRejection(
                    reason=reason_of(rej.reason),
                    comment=rej.comment,
                    at=rej.at,
                    on_receipt=rej.on_receipt,
                )
                if rej
                else None
            ),
            appeal=(
                AfterSaleAppeal(
                    reason=reason_of(ap.reason),
                    comment=ap.comment,
                    at=ap.at,
                    for_buyer=ap.for_buyer,
                    note=ap.note,
                    decided_at=ap.decided_at,
                )
                if ap
                else None
            ),
            return_shipment=_shipment(r.return_shipment),
            replacement_shipment=_shipment(r.replacement_shipment),
            refund=AfterSaleRefund.of(r.refund) if r.refund else None,
            timeline=[
                AfterSaleTimelineRecord(
                    at=t.at,
                    actor_kind=t.actor_kind,
                    actor_id=t.actor_id,
                    action=t.action,
                    from_status=t.from_status,
                    to_status=t.to_status,
                    reason=reason_of(t.reason) if t.reason else None,
                    comment=t.comment,
                    deadline=t.deadline,
                )
                for t in r.timeline
            ],
            policy=CategoryPolicy.of(
                ",".join(sorted({line.category for line in r.lines})), r.policy
            ),
        )

    @strawberry.field(description="E1: the photos and videos attached to its steps, oldest first.")
    async def evidence(self, info: Info[Context, Any]) -> list[Evidence]:
        return await evidence_of(info, self._r.id)  # visible to whoever sees the request

    @strawberry.field
    async def order(self, info: Info[Context, Any]) -> Order | None:
        # Visible to whoever sees the request: same shop, same buyer.
        order = await info.context.orders.load(self._r.order_id)
        return Order.of(order) if order else None

    @strawberry.field(
        description="Where the refund's money is (INSTRUCTED: refund pending; SETTLED: "
        "refunded); null when the request refunds nothing."
    )
    async def refund_settlement(
        self, info: Info[Context, Any]
    ) -> Annotated[Refund, strawberry.lazy("resolvers.refunds")] | None:
        from resolvers.refunds import refund_of  # it imports this module's types

        return await refund_of(info, self._r.id)


@strawberry.type
class AfterSaleEdge:
    cursor: str
    node: AfterSale


@strawberry.type
class AfterSaleTabCount:
    tab: AfterSaleTab
    count: int


@strawberry.type
class AfterSaleConnection:
    edges: list[AfterSaleEdge]
    page_info: PageInfo
    _shop_id: strawberry.Private[str | None]
    _filter: strawberry.Private[StoreFilter]

    @strawberry.field
    def nodes(self) -> list[AfterSale]:
        return [e.node for e in self.edges]

    @strawberry.field(description="The count of every tab (ALL included) under the same filter.")
    async def tab_counts(self, info: Info[Context, Any]) -> list[AfterSaleTabCount]:
        svc = services_of(info).after_sales
        counts = await svc.tab_counts(actor_of(info), self._shop_id, self._filter)
        tabs = [AfterSaleTabCount(tab=AfterSaleTab(t.value), count=n) for t, n in counts.items()]
        return [AfterSaleTabCount(tab=AfterSaleTab.ALL, count=sum(counts.values())), *tabs]


@strawberry.type(description="R1, R5, P1: what the buyer may ask for on one line, for one kind.")
class LineEligibility:
    line_id: strawberry.ID
    kind: AfterSaleKind
    eligible: bool
    code: str | None = strawberry.field(description="Why not: WINDOW_PASSED, ALREADY_REQUESTED...")
    message: str
    available_quantity: int
    window_ends_at: datetime | None

    @classmethod
    def of(cls, e: domain.LineEligibility) -> LineEligibility:
        return cls(
            line_id=strawberry.ID(e.line_id),
            kind=e.kind,
            eligible=e.eligible,
            code=e.code,
            message=e.message,
            available_quantity=e.available_quantity,
            window_ends_at=e.window_ends_at,
        )

"""GraphQL types of cancellations (C1 to C9). Each wraps a domain object; none holds a rule."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import cancellations as cancel_domain
from resolvers.policy import ResponseWindow, policy_values
from resolvers.requests.types import RefundBreakdown, Request, kind_tabs, request_of
from resolvers.values import LineItem, Lines, Reason, RequestKind, copied

CancellationTab = kind_tabs(
    cancel_domain.CancellationTab, "The tabs of Seller Center > Manage Cancellations."
)


@strawberry.type
class Rejection:
    reason: Reason
    comment: str | None


@strawberry.type(description="The windows a request was opened under (Y1), in seconds.")
class PolicySnapshot:
    unconditional_cancel_window_seconds: int
    seller_response_window_seconds: int


@strawberry.type(description="A buyer's, a seller's or the marketplace's cancellation of an order.")
class Cancellation(Request):
    # Plain fields filled once in `of()`: a tab page resolves ~1,750 fields, and a method
    # resolver per field cost ~1.7 ms more per page (benchmarks/tab_query.py).
    _c: strawberry.Private[cancel_domain.Cancellation]
    tab: CancellationTab
    note: str | None = strawberry.field(
        description="The buyer's note, or the seller's comment on their own cancel."
    )
    respond_by: datetime | None = strawberry.field(
        description="The seller must answer by then, or the platform accepts (C6); kept once "
        "decided (`nextAction` is null then)."
    )
    rejection: Rejection | None
    refund: RefundBreakdown | None = strawberry.field(
        description="What was refunded: everything the buyer paid and not refunded before; for "
        "a line cancel (C10), those units."
    )
    lines: Lines = strawberry.field(
        graphql_type=list[LineItem],
        description="The order's lines as they were when the request was made; for a line "
        "cancel (C10, action SELLER_CANCEL_LINES), the lines and quantities cancelled.",
    )

    @classmethod
    def of(cls, c: cancel_domain.Cancellation) -> Cancellation:
        next_action = c.next_action
        return request_of(
            cls,
            c,
            RequestKind.CANCELLATION,
            Reason.of,
            next_action,
            _c=c,
            tab=CancellationTab[c.tab.name],
            respond_by=c.respond_by,
            deadline=next_action.due_at if next_action else None,
            rejection=(
                Rejection(reason=Reason.of(c.rejection_reason), comment=c.rejection_comment)
                if c.rejection_reason is not None
                else None
            ),
        )

    # Computed only when asked (see LineItem.subtotal): a tab page does not show it.
    @strawberry.field
    def policy(self) -> PolicySnapshot:
        return copied(PolicySnapshot, policy_values(self._c.policy))

    @strawberry.field(
        description="Y2: the seller response window the request was given (null: it waited for "
        "nobody, as a cancel at once or by the seller)."
    )
    def seller_response_window(self) -> ResponseWindow | None:
        c = self._c
        if not c.timeline or c.timeline[0].action is not cancel_domain.CancellationAction.REQUEST:
            return None
        # A buyer's request holds the order's lines as they were: their value is the order's.
        return ResponseWindow.for_request(c.policy, sum(line.subtotal.minor for line in c.lines))

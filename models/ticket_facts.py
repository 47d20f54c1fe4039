"""What a ticket knows of a request, built from each kind of request (pure).

`facts_of_cancellation` serves the cancellation service; `facts_of_after_sale` is the one the
after-sale service (refunds, returns, replacements) calls from its write path.
"""

from __future__ import annotations

from models.after_sale_requests import AfterSaleRequest
from models.after_sales_machine import FINAL_STATUSES, AfterSaleAction, AfterSaleStatus
from models.cancellations import Cancellation, CancellationStatus
from models.money import total
from models.orders import LineItem
from models.requests import Initiator
from models.tickets import RequestFacts, RequestInitiator, RequestKind, RequestPhase

# A ticket's rules read the initiator in the helpdesk's own enum, member for member.
_INITIATORS = {i: RequestInitiator(i.value) for i in Initiator}


def _categories(lines: tuple[LineItem, ...]) -> tuple[str, ...]:
    return tuple(sorted({line.category for line in lines}))


def facts_of_cancellation(c: Cancellation) -> RequestFacts:
    phase = (
        RequestPhase.WAITING_FOR_SELLER
        if c.status is CancellationStatus.PENDING
        else RequestPhase.FINAL
    )
    return RequestFacts(
        request_id=c.id,
        kind=RequestKind.CANCELLATION,
        order_id=c.order_id,
        shop_id=c.shop_id,
        buyer_id=c.buyer_id,
        initiator=_INITIATORS[c.initiator],
        reason=c.reason,
        categories=_categories(c.lines),
        amount=total([line.subtotal for line in c.lines], c.currency),
        status=c.status.value,
        phase=phase,
        deadline=c.respond_by if c.next_action else None,  # kept on a decided request
        requested_at=c.requested_at,
    )


def facts_of_after_sale(r: AfterSaleRequest) -> RequestFacts:
    if r.status is AfterSaleStatus.PENDING_SELLER:
        phase = RequestPhase.WAITING_FOR_SELLER
    elif r.status in FINAL_STATUSES:
        phase = RequestPhase.FINAL
    else:
        phase = RequestPhase.IN_PROCESS  # approved and under way, appealable, or appealed
    # R10: an instant refund is the platform's, though the buyer's request started it.
    instant = any(t.action is AfterSaleAction.INSTANT_REFUND for t in r.timeline)
    initiator = RequestInitiator.PLATFORM if instant else _INITIATORS[r.initiator]
    return RequestFacts(
        request_id=r.id,
        kind=RequestKind(r.kind.value),
        order_id=r.order_id,
        shop_id=r.shop_id,
        buyer_id=r.buyer_id,
        initiator=initiator,
        reason=r.reason,
        categories=_categories(r.lines),
        amount=total([line.subtotal for line in r.lines], r.currency),
        status=r.status.value,
        phase=phase,
        deadline=r.deadline,
        requested_at=r.requested_at,
    )

"""The helpdesk wired to the after-sale service (H1, H2): refunds, returns and replacements are
decided from their tickets, and counted in a buyer's history for rule conditions.

`wire_after_sales` (called by services/bootstrap.py) registers one `AfterSaleDesk` per kind of
after-sale request, adds the buyer's after-sale requests to the history rules count, and has the
after-sale service run the shop's rules on every new request right after it is written.
"""

from __future__ import annotations

from datetime import datetime

from models.actors import Actor
from models.after_sales import DecisionType
from models.money import Money
from models.request_kinds import AFTER_SALE_PROFILES
from models.tickets import RequestKind
from services.after_sales import AfterSaleService
from services.tickets import ApproveOptions, HelpdeskService
from storage import after_sales as after_sale_store
from storage.mongo import Database

# What "approve" means on a ticket of each kind: what the buyer asked for (R7, P2).
APPROVAL_OF_KIND: dict[RequestKind, DecisionType] = {
    p.kind: p.default_decision
    for p in AFTER_SALE_PROFILES.values()
    if p.default_decision is not None
}


class AfterSaleDesk:
    """Decisions on an after-sale request from its ticket, through the after-sale service (the
    same domain checks, permission, compare-and-set and idempotency as on the request)."""

    def __init__(self, after_sales: AfterSaleService, approval: DecisionType) -> None:
        self.after_sales = after_sales
        self.approval = approval

    async def approve(
        self,
        actor: Actor,
        request_id: str,
        reason: str | None,
        key: str | None,
        options: ApproveOptions | None = None,
    ) -> None:
        o = options or ApproveOptions()
        # The reason type is a replacement's (P2); on a refund or a return it is unused.
        replacing = self.approval is DecisionType.APPROVE_REPLACEMENT
        await self.after_sales.approve(
            actor,
            request_id,
            self.approval,
            key,
            lines=o.lines,
            buyer_keeps_item=o.buyer_keeps_item,
            partial_amount=o.partial_amount,
            reason=reason if replacing else None,
            comment=o.comment,
        )

    async def reject(
        self, actor: Actor, request_id: str, reason: str, comment: str | None, key: str | None
    ) -> None:
        await self.after_sales.reject(actor, request_id, reason, comment, key)

    async def offer_partial_refund(
        self, actor: Actor, request_id: str, amount: Money, key: str | None
    ) -> None:
        await self.after_sales.approve(
            actor, request_id, DecisionType.OFFER_PARTIAL_REFUND, key, partial_amount=amount
        )


async def after_sales_of_buyer(
    db: Database, shop_id: str, buyer_id: str, since: datetime, before: datetime
) -> int:
    return await after_sale_store.count_for_buyer(db, shop_id, buyer_id, since, before)


def wire_after_sales(helpdesk: HelpdeskService, after_sales: AfterSaleService) -> None:
    for kind, approval in APPROVAL_OF_KIND.items():
        helpdesk.desks[kind] = AfterSaleDesk(after_sales, approval)
    helpdesk.history.append(after_sales_of_buyer)
    after_sales.after_create = helpdesk.run_rules_for_requests

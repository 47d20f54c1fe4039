"""TikTok's returns, refunds and replacements as this service's after-sale requests, forward
only (services/tiktok_mirror.py does the same for cancellations and orders).

A TikTok return becomes a local request as its buyer asked it (keyed by TikTok's id), then
follows TikTok's status along the shortest way through the local machine
(integrations/tiktok_shop/return_paths.py), each step made by whoever made it at TikTok: the
buyer (ship, withdraw, appeal), the seller (`tiktok-seller`: a decision in Seller Center or one
sent from here and confirmed; `tiktok-system` for TikTok's approval on silence), TikTok's
operator for arbitration (`tiktok-operator`, as the platform).
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.tiktok_shop.credentials import ShopLink
from integrations.tiktok_shop.open_api import OpenApi
from integrations.tiktok_shop.return_paths import KIND_OF_RETURN_TYPE, target_of, way
from models.actors import Actor, ActorKind
from models.after_sales_machine import AfterSaleAction, AfterSaleKind, AfterSaleStatus, DecisionType
from models.commands import (
    AppealAfterSale,
    ApprovalTerms,
    ApproveAfterSale,
    Command,
    ConfirmReturnReceived,
    DecideAppeal,
    IssueReplacementRefund,
    RecordReplacementDelivered,
    RejectAfterSale,
    RejectReturnOnReceipt,
    RequestAfterSale,
    ShipReplacement,
    ShipReturn,
    WithdrawAfterSale,
)
from models.errors import DomainError
from models.money import Money
from services.tiktok_mirror import (
    Known,
    Seen,
    TikTokMirror,
    _id,
    _minor,
    buyer_of,
    marketplace_seller,
    seen_of,
)
from storage import after_sales as after_sale_store
from storage import tiktok_requests as mirrors
from storage.tiktok_requests import CONFIRMED, SENT

log = logging.getLogger("aftersales.tiktok")

RETURN = "return"
_A = AfterSaleAction
_S = AfterSaleStatus
# What a buyer's TikTok request is opened with here: TikTok's own reason is kept as its note.
OPENING_REASON = {
    AfterSaleKind.REFUND_ONLY: "OTHER",
    AfterSaleKind.RETURN_AND_REFUND: "OTHER",
    AfterSaleKind.REPLACEMENT: "DEFECTIVE",
}
REJECT_REASON = {
    AfterSaleKind.REFUND_ONLY: "OTHER",
    AfterSaleKind.RETURN_AND_REFUND: "OTHER",
    AfterSaleKind.REPLACEMENT: "NOT_ELIGIBLE",
}


def _opening(
    return_id: str, order: Any, kind: AfterSaleKind, view: dict[str, Any]
) -> tuple[Actor, RequestAfterSale, str]:
    """A TikTok return opened here as its buyer asked it, keyed by TikTok's id within the shop
    (as `services/tiktok_mirror.py::_opening`)."""
    lines = tuple((_id(li["order_line_item_id"]), 1) for li in view.get("return_line_items", []))
    note = str(view.get("return_reason_text") or view.get("return_reason") or "")[:200]
    command = RequestAfterSale(order.id, kind, lines, OPENING_REASON[kind], note or None)
    key = f"tiktok-open:{mirrors.mirror_id(order.shop_id, RETURN, return_id)}"
    return buyer_of(order.shop_id, order.buyer_id), command, key


class TikTokReturns:
    def __init__(self, mirror: TikTokMirror) -> None:
        self.mirror = mirror
        self.db = mirror.db
        self.clock = mirror.clock
        self.requests = mirror.requests
        mirror.openings[RETURN] = self._return_opening

    async def apply_return(
        self, link: ShopLink, api: OpenApi, view: dict[str, Any], known: Known | None = None
    ) -> mirrors.Mirror | None:
        """TikTok's view applied; the mirror as recorded, or None when `known` is given (as
        `TikTokMirror.apply_cancellation`)."""
        return_id = str(view["return_id"])
        seen = seen_of(view, "return_status")
        tiktok_status = seen["tiktok_status"]
        goal = target_of(view)
        kind = KIND_OF_RETURN_TYPE.get(str(view.get("return_type")))
        if goal is None or kind is None:
            log.warning("TikTok return %s: unknown status %s", return_id, tiktok_status)
            return await mirrors.record(
                self.db, RETURN, link.shop_id, return_id, seen | {"unknown_status": tiktok_status}
            )
        if known is None:
            mirror = await mirrors.get(self.db, link.shop_id, RETURN, return_id)
        else:
            mirror = known.mirrors.get(return_id)
        order = await self.mirror.ensure_order(link, api, str(view["order_id"]), known)
        if known is not None and return_id in known.opened:
            local = known.opened[return_id]
        else:
            local = await self._opened(mirror, return_id, order, kind, view)
        seen["local_id"] = local.id
        for action, target in way(kind, local.status, goal):
            command, actor = self._step(link, mirror, local, action, target, view)
            try:
                local = await self.requests.apply(
                    actor, command, f"tiktok-move:{local.id}:{target.value}"
                )
            except DomainError as err:
                log.warning(
                    "TikTok return %s: %s refused here: %s", return_id, action.value, err.code
                )
                break
        seen["status"] = local.status.value
        if known is not None:  # recorded with the batch's others (TikTokMirror.record_known)
            known.seen.append(Seen(RETURN, return_id, seen, self._settle_decision))
            return None
        mirror = await mirrors.record(self.db, RETURN, link.shop_id, return_id, seen)
        await self._settle_decision(mirror)
        return mirror

    async def _opened(
        self,
        mirror: mirrors.Mirror | None,
        return_id: str,
        order: Any,
        kind: AfterSaleKind,
        view: dict[str, Any],
    ) -> Any:
        if mirror is not None and mirror.local_id:
            found = await after_sale_store.get(self.db, mirror.local_id)
            if found is not None:
                return found
        buyer, command, key = _opening(return_id, order, kind, view)
        return await self.requests.apply(buyer, command, key)

    def _return_opening(self, view: dict[str, Any], known: Known) -> tuple[str, Any]:
        """For open_together: this view's opening, unless it is opened, its order is not here
        yet or its status or type is not known here."""
        return_id = str(view["return_id"])
        mirror = known.mirrors.get(return_id)
        order = known.orders.get(_id(view["order_id"]))
        kind = KIND_OF_RETURN_TYPE.get(str(view.get("return_type")))
        if target_of(view) is None or kind is None or order is None:
            return return_id, None
        if mirror is not None and mirror.local_id:
            return return_id, None
        return return_id, _opening(return_id, order, kind, view)

    def _step(
        self,
        link: ShopLink,
        mirror: mirrors.Mirror | None,
        local: Any,
        action: AfterSaleAction,
        target: AfterSaleStatus,
        view: dict[str, Any],
    ) -> tuple[Command, Actor]:
        rid = local.id
        buyer = buyer_of(link.shop_id, local.buyer_id)
        ours = bool(
            mirror and mirror.decision and mirror.decision.get("state") in (SENT, CONFIRMED)
        )
        role = str(view.get("role") or "")
        seller = marketplace_seller(
            link.shop_id, "seller" if ours or role != "SYSTEM" else "system"
        )
        operator = Actor(ActorKind.PLATFORM, "tiktok-operator")
        comment = str(view.get("reject_reason") or "rejected at TikTok")[:500]
        match action:
            case _A.APPROVE:
                return self._approval(local, target, view), seller
            case _A.ISSUE_REPLACEMENT_REFUND:  # P4: settled with money at TikTok
                return IssueReplacementRefund(rid, "refunded instead at TikTok"), seller
            case _A.REJECT:
                return RejectAfterSale(rid, REJECT_REASON[local.kind], comment), seller
            case _A.WITHDRAW:
                return WithdrawAfterSale(rid), buyer
            case _A.APPEAL:
                return AppealAfterSale(rid, "OTHER", "appealed at TikTok"), buyer
            case _A.DECIDE_FOR_BUYER | _A.DECIDE_FOR_SELLER:
                note = f"TikTok arbitration: {view.get('arbitration_status') or 'closed'}"
                return DecideAppeal(rid, action is _A.DECIDE_FOR_BUYER, note), operator
            case _A.SHIP_RETURN:
                return ShipReturn(rid, "TikTok return", f"tts-{_id(view['return_id'])}"), buyer
            case _A.CONFIRM_RECEIPT:
                return ConfirmReturnReceived(rid), seller
            case _A.REJECT_ON_RECEIPT:
                return RejectReturnOnReceipt(rid, "OTHER", comment), seller
            case _A.SHIP_REPLACEMENT:
                order = _id(view.get("replacement_order_id") or view["return_id"])
                return ShipReplacement(rid, "TikTok Shipping", f"tts-{order}"), seller
            case _A.CONFIRM_REPLACEMENT_DELIVERED:
                return RecordReplacementDelivered(rid), operator
        raise ValueError(f"no mirror step for {action}")

    def _approval(self, local: Any, target: AfterSaleStatus, view: dict[str, Any]) -> Command:
        if target is _S.AWAITING_BUYER_RETURN:
            return ApproveAfterSale(local.id, DecisionType.APPROVE_RETURN)
        if target is _S.AWAITING_REPLACEMENT_SHIPMENT:
            terms = ApprovalTerms(reason="DEFECT_CONFIRMED")
            return ApproveAfterSale(local.id, DecisionType.APPROVE_REPLACEMENT, terms)
        refund = view.get("refund_amount") or {}
        paid = _minor(refund.get("refund_total"))
        asked = sum(line.unit_price.minor * line.quantity for line in local.lines)
        if local.kind is AfterSaleKind.REPLACEMENT:  # settled with money instead (P4)
            return IssueReplacementRefund(local.id, "refunded instead at TikTok")
        if refund.get("refund_total") and 0 < paid < asked:  # a partial refund the buyer took
            # Already accepted at TikTok: here it is paid at once (R7), not offered again (R12).
            amount = Money(paid, local.currency)
            return ApproveAfterSale(
                local.id, DecisionType.APPROVE_REFUND, ApprovalTerms(partial_amount=amount)
            )
        return ApproveAfterSale(local.id, DecisionType.APPROVE_REFUND)

    async def _settle_decision(self, mirror: mirrors.Mirror) -> None:
        """A decision TikTok accepted (SENT) is CONFIRMED once TikTok shows the request moved on
        from the status the decision was taken in."""
        d = mirror.decision
        if not d or d.get("state") != SENT or mirror.tiktok_status == d.get("from_status"):
            return
        await mirrors.update_decision(
            self.db, mirror.id, d["key"], {"state": CONFIRMED, "settled_at": self.clock.now()}
        )

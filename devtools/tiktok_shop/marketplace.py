"""The stand-in marketplace's own state, in memory: shops, orders, cancellations and returns.

Every change goes through one method that checks the status table (docs/tiktok-standin.md),
writes a record and hands the webhooks it causes to `notify`. The seller's decisions (the Open
API) and the marketplace's own moves (the control API: buyers, the system, arbitration) share
these methods, so a decision that TikTok overtook finds the request no longer in a status that
allows it, and is refused instead of applied twice.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from devtools.tiktok_shop import codes
from devtools.tiktok_shop.orders import (
    Cancellation,
    LineItem,
    Order,
    Record,
    Refund,
    Refused,
    Return,
    Shop,
    money,
)
from devtools.tiktok_shop.statuses import (
    AFTER_SHIPMENT,
    APPROVE_DECISIONS,
    ARBITRATION_OUTCOMES,
    AWAITING_BUYER_RESPONSE,
    AWAITING_BUYER_SHIP,
    BEFORE_SHIPMENT,
    BUYER_SHIPPED_ITEM,
    CANCEL_CLOSED,
    CANCEL_COMPLETE,
    CANCEL_PENDING,
    CANCEL_REJECT_REASONS,
    CANCEL_SUCCESS,
    OPEN_RETURN,
    ORDER_STATUS_CODES,
    RECEIVE_REJECT_REASONS,
    REJECT_DECISIONS,
    REJECT_RECEIVE_PACKAGE,
    REPLACEMENT_CANCEL,
    REPLACEMENT_COMPLETE,
    REPLACEMENT_PENDING,
    REPLACEMENT_REFUND_SUCCESS,
    REPLACEMENT_REJECT,
    RETURN_CANCEL,
    RETURN_COMPLETE,
    RETURN_PENDING,
    RETURN_REJECT,
    RETURN_REJECT_REASONS,
    RETURN_SUCCESS,
    RETURN_TYPES,
    WEBHOOK_CANCELLATION_STATUS,
    WEBHOOK_ORDER_STATUS,
    WEBHOOK_REFUND_SUCCESS,
    WEBHOOK_RETURN_STATUS,
)

Notify = Callable[[str, int, dict[str, Any]], None]
"""notify(shop_id, webhook type, data)."""


@dataclass
class Application:
    """A seller decision the marketplace applied (read back by tests: each exactly once)."""

    kind: str
    id: str
    decision: str
    idempotency_key: str | None
    at: int

    def view(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "decision": self.decision,
            "idempotency_key": self.idempotency_key,
            "at": self.at,
        }


class Marketplace:
    def __init__(
        self,
        notify: Notify,
        *,
        response_window_seconds: int = 2 * 24 * 3600,
        buyer_ship_window_seconds: int = 7 * 24 * 3600,
        auto_complete: bool = True,
        first_id: int = 1,
    ) -> None:
        self._notify = notify
        self.response_window = response_window_seconds
        self.buyer_ship_window = buyer_ship_window_seconds
        self.auto_complete = auto_complete
        self.clock_offset = 0
        self.shops: dict[str, Shop] = {}
        self.orders: dict[str, Order] = {}
        self.cancellations: dict[str, Cancellation] = {}
        self.returns: dict[str, Return] = {}
        self.applied: list[Application] = []
        # Numeric ids as TikTok's are; one counter, prefixed 57 order, 58 cancel, 41 return.
        self._ids = itertools.count(first_id)

    # -- time and ids --------------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def _new_id(self, prefix: int) -> str:
        return f"{prefix}{next(self._ids):015d}"

    # -- shops and orders ----------------------------------------------------------------------

    def add_shop(
        self, shop_id: str, cipher: str, access_token: str, name: str = "", refresh_token: str = ""
    ) -> Shop:
        shop = Shop(shop_id, cipher, access_token, name or shop_id)
        shop.refresh_token = refresh_token or f"{access_token}_refresh"
        self.shops[shop_id] = shop
        return shop

    def shop_by_cipher(self, cipher: str) -> Shop | None:
        return next((s for s in self.shops.values() if s.cipher == cipher), None)

    def add_order(self, shop_id: str, spec: dict[str, Any]) -> Order:
        if shop_id not in self.shops:
            raise Refused(codes.NOT_FOUND, f"Unknown shop {shop_id}")
        status = spec.get("status", "AWAITING_SHIPMENT")
        if status not in ORDER_STATUS_CODES:
            raise Refused(codes.INVALID_PARAMETER, f"Unknown order status {status}")
        order_id = str(spec.get("order_id") or self._new_id(57))
        if order_id in self.orders:
            raise Refused(codes.INVALID_PARAMETER, f"Order {order_id} exists")
        lines: list[LineItem] = []
        for item in spec.get("line_items") or [{"product_name": "Item", "sale_price": "10.00"}]:
            # TikTok lists one line item per unit.
            quantity = int(item.get("quantity", 1))
            for _ in range(quantity):
                n = len(lines) + 1
                given = item.get("id") if quantity == 1 else None
                lines.append(
                    LineItem(
                        id=str(given or f"{order_id}{n:02d}"),
                        sku_id=str(item.get("sku_id", f"sku-{n}")),
                        product_name=str(item.get("product_name", f"Item {n}")),
                        sale_price=Decimal(str(item.get("sale_price", "10.00"))),
                    )
                )
        now = self.now()
        order = Order(
            order_id=order_id,
            shop_id=shop_id,
            status=status,
            buyer_user_id=str(spec.get("buyer_user_id", "buyer-1")),
            currency=str(spec.get("currency", "USD")),
            line_items=lines,
            shipping_fee=Decimal(str(spec.get("shipping_fee", "0.00"))),
            create_time=int(spec.get("create_time", now)),
            update_time=now,
        )
        self.orders[order_id] = order
        self._order_changed(order)
        return order

    def order(self, shop_id: str, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None or order.shop_id != shop_id:
            raise Refused(codes.NOT_FOUND, f"Order {order_id} not found")
        return order

    def move_order(self, order: Order, status: str) -> None:
        if status not in ORDER_STATUS_CODES:
            raise Refused(codes.INVALID_PARAMETER, f"Unknown order status {status}")
        if order.status == "CANCELLED":
            raise Refused(codes.STATUS_NOT_ALLOWED, "The order is cancelled")
        order.status = status
        order.update_time = self.now()
        self._order_changed(order)

    def _order_changed(self, order: Order) -> None:
        self._notify(
            order.shop_id,
            WEBHOOK_ORDER_STATUS,
            {
                "order_id": order.order_id,
                "order_status": order.status,
                "is_on_hold_order": order.status == "ON_HOLD",
                "update_time": order.update_time,
            },
        )

    def _open_reverse(self, order: Order) -> bool:
        return any(
            c.order_id == order.order_id and c.status in (CANCEL_PENDING, CANCEL_SUCCESS)
            for c in self.cancellations.values()
        ) or any(
            r.order_id == order.order_id and r.status in OPEN_RETURN for r in self.returns.values()
        )

    def _covered(self, order: Order, line_ids: list[str]) -> list[str]:
        """The lines a request covers: those named, or every line not cancelled yet."""
        if line_ids:
            order.lines(line_ids)  # refuses unknown ids
            return list(line_ids)
        return [line.id for line in order.open_lines()]

    def _refund_for(self, order: Order, line_ids: list[str]) -> Refund:
        lines = order.lines(line_ids)
        whole = {line.id for line in lines} >= {line.id for line in order.open_lines()}
        subtotal = sum((line.sale_price for line in lines), Decimal(0))
        paid = order.status != "UNPAID"
        return Refund(
            currency=order.currency,
            subtotal=subtotal if paid else Decimal(0),
            shipping_fee=order.shipping_fee if whole and paid else Decimal(0),
        )

    # -- cancellations -------------------------------------------------------------------------

    def cancellation(self, shop_id: str, cancel_id: str) -> Cancellation:
        found = self.cancellations.get(cancel_id)
        if found is None or found.shop_id != shop_id:
            raise Refused(codes.NOT_FOUND, f"Cancellation {cancel_id} not found")
        return found

    def buyer_cancels(self, order: Order, reason: str, line_ids: list[str]) -> Cancellation:
        if order.status not in BEFORE_SHIPMENT:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Order status {order.status} can't cancel")
        if self._open_reverse(order):
            raise Refused(codes.REVERSE_ORDER_EXISTS, "processing reverse order exists")
        cancel = self._new_cancellation(order, "BUYER_CANCEL", "BUYER", reason, line_ids)
        if order.status in ("UNPAID", "ON_HOLD"):
            self._cancellation_succeeds(cancel, "BUYER", "BUYER_CANCEL_IN_FREE_WINDOW")
        return cancel

    def seller_cancels(
        self, order: Order, reason: str, line_ids: list[str], key: str | None
    ) -> Cancellation:
        if order.status not in BEFORE_SHIPMENT:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Order status {order.status} can't cancel")
        if self._open_reverse(order):
            raise Refused(codes.REVERSE_ORDER_EXISTS, "processing reverse order exists")
        cancel = self._new_cancellation(order, "CANCEL", "SELLER", reason, line_ids)
        self._applied("cancellation", cancel.cancel_id, "SELLER_CANCEL", key)
        self._cancellation_succeeds(cancel, "SELLER", "SELLER_CANCEL")
        return cancel

    def _new_cancellation(
        self, order: Order, cancel_type: str, role: str, reason: str, line_ids: list[str]
    ) -> Cancellation:
        now = self.now()
        line_ids = self._covered(order, line_ids)
        cancel = Cancellation(
            cancel_id=self._new_id(58),
            order_id=order.order_id,
            shop_id=order.shop_id,
            cancel_type=cancel_type,
            role=role,
            status=CANCEL_PENDING,
            cancel_reason=reason,
            line_item_ids=list(line_ids),
            refund=self._refund_for(order, line_ids),
            create_time=now,
            update_time=now,
            deadline=now + self.response_window if role == "BUYER" else None,
            last_role=role,
        )
        self.cancellations[cancel.cancel_id] = cancel
        cancel.records.append(Record(now, f"{role}_REQUEST_CANCEL", role, reason_text=reason))
        self._cancellation_changed(cancel)
        return cancel

    def _move_cancellation(self, cancel: Cancellation, status: str, role: str, event: str) -> None:
        cancel.status = status
        cancel.update_time = self.now()
        cancel.last_role = role
        cancel.records.append(Record(cancel.update_time, event, role))
        self._cancellation_changed(cancel)

    def _cancellation_changed(self, cancel: Cancellation) -> None:
        self._notify(
            cancel.shop_id,
            WEBHOOK_CANCELLATION_STATUS,
            {
                "order_id": cancel.order_id,
                "cancel_id": cancel.cancel_id,
                "cancel_status": cancel.status,
                "cancellations_role": cancel.last_role,
                "create_time": cancel.create_time,
            },
        )

    def _cancellation_succeeds(self, cancel: Cancellation, role: str, event: str) -> None:
        self._move_cancellation(cancel, CANCEL_SUCCESS, role, event)
        order = self.orders[cancel.order_id]
        order.cancelled_line_ids |= set(cancel.line_item_ids)
        if not order.open_lines():
            order.status = "CANCELLED"
            order.update_time = self.now()
            self._order_changed(order)
        if self.auto_complete:
            self.complete_cancellation(cancel)

    def complete_cancellation(self, cancel: Cancellation) -> None:
        if cancel.status != CANCEL_SUCCESS:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Cancellation is {cancel.status}")
        self._move_cancellation(cancel, CANCEL_COMPLETE, "SYSTEM", "REFUND_COMPLETED")
        self._refunded(cancel.shop_id, cancel.order_id, cancel.refund, cancel_id=cancel.cancel_id)

    def _require_pending_cancellation(self, cancel: Cancellation) -> None:
        if cancel.status != CANCEL_PENDING:
            raise Refused(
                codes.STATUS_NOT_ALLOWED,
                f"Cancellation {cancel.cancel_id} is {cancel.status}, not pending",
            )

    def approve_cancellation(self, cancel: Cancellation, key: str | None) -> None:
        self._require_pending_cancellation(cancel)
        self._applied("cancellation", cancel.cancel_id, "APPROVE", key)
        self._cancellation_succeeds(cancel, "SELLER", "SELLER_APPROVE")

    def reject_cancellation(
        self, cancel: Cancellation, reason: str, comment: str, key: str | None
    ) -> None:
        self._require_pending_cancellation(cancel)
        if reason not in CANCEL_REJECT_REASONS:
            raise Refused(codes.INVALID_PARAMETER, f"Invalid reject_reason {reason!r}")
        self._applied("cancellation", cancel.cancel_id, "REJECT", key)
        cancel.reject_reason, cancel.reject_comment = reason, comment
        self._move_cancellation(cancel, CANCEL_CLOSED, "SELLER", "SELLER_REJECT")

    def buyer_withdraws_cancellation(self, cancel: Cancellation) -> None:
        self._require_pending_cancellation(cancel)
        self._move_cancellation(cancel, CANCEL_CLOSED, "BUYER", "BUYER_WITHDRAW")

    def system_approves_cancellation(self, cancel: Cancellation) -> None:
        self._require_pending_cancellation(cancel)
        self._cancellation_succeeds(cancel, "SYSTEM", "AUTO_APPROVE_ON_SELLER_SILENCE")

    # -- returns -------------------------------------------------------------------------------

    def return_(self, shop_id: str, return_id: str) -> Return:
        found = self.returns.get(return_id)
        if found is None or found.shop_id != shop_id:
            raise Refused(codes.NOT_FOUND, f"Return {return_id} not found")
        return found

    def buyer_requests_return(
        self, order: Order, return_type: str, reason: str, line_ids: list[str]
    ) -> Return:
        if return_type not in RETURN_TYPES:
            raise Refused(codes.INVALID_PARAMETER, f"Unknown return_type {return_type}")
        if order.status not in AFTER_SHIPMENT:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Order status {order.status} can't return")
        if self._open_reverse(order):
            raise Refused(codes.REVERSE_ORDER_EXISTS, "processing reverse order exists")
        now = self.now()
        line_ids = self._covered(order, line_ids)
        request = Return(
            return_id=self._new_id(41),
            order_id=order.order_id,
            shop_id=order.shop_id,
            return_type=return_type,
            role="BUYER",
            status=REPLACEMENT_PENDING if return_type == "REPLACEMENT" else RETURN_PENDING,
            return_reason=reason,
            line_item_ids=list(line_ids),
            refund=self._refund_for(order, line_ids),
            create_time=now,
            update_time=now,
            deadline=now + self.response_window,
            last_role="BUYER",
        )
        self.returns[request.return_id] = request
        request.records.append(
            Record(now, f"BUYER_REQUEST_{return_type}", "BUYER", reason_text=reason)
        )
        self._return_changed(request)
        return request

    def _move_return(
        self, request: Return, status: str, role: str, event: str, deadline: int | None = None
    ) -> None:
        request.status = status
        request.update_time = self.now()
        request.last_role = role
        request.deadline = deadline
        request.records.append(Record(request.update_time, event, role))
        self._return_changed(request)

    def _return_changed(self, request: Return) -> None:
        self._notify(
            request.shop_id,
            WEBHOOK_RETURN_STATUS,
            {
                "order_id": request.order_id,
                "return_id": request.return_id,
                "return_type": request.return_type,
                "return_status": request.status,
                "return_role": request.last_role,
                "create_time": request.create_time,
                "update_time": request.update_time,
            },
        )

    def _return_succeeds(self, request: Return, role: str, event: str) -> None:
        self._move_return(request, RETURN_SUCCESS, role, event)
        if self.auto_complete:
            self.complete_return(request)

    def complete_return(self, request: Return) -> None:
        if request.status != RETURN_SUCCESS:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Return is {request.status}")
        self._move_return(request, RETURN_COMPLETE, "SYSTEM", "REFUND_COMPLETED")
        self._refunded(
            request.shop_id,
            request.order_id,
            request.partial_refund or request.refund,
            return_id=request.return_id,
        )

    def _refunded(self, shop_id: str, order_id: str, refund: Refund, **ids: str) -> None:
        self._notify(
            shop_id,
            WEBHOOK_REFUND_SUCCESS,
            {
                "order_id": order_id,
                **ids,
                "refund_total": money(refund.total),
                "currency": refund.currency,
                "update_time": self.now(),
            },
        )

    def _replacement_made(self, request: Return, role: str, event: str) -> None:
        order = self.orders[request.order_id]
        replacement = self.add_order(
            request.shop_id,
            {
                "status": "AWAITING_SHIPMENT",
                "buyer_user_id": order.buyer_user_id,
                "currency": order.currency,
                "line_items": [
                    {"sku_id": line.sku_id, "product_name": line.product_name, "sale_price": "0.00"}
                    for line in order.lines(request.line_item_ids)
                ],
            },
        )
        request.replacement_order_id = replacement.order_id
        self._move_return(request, REPLACEMENT_COMPLETE, role, event)

    def _seller_may_decide(self, request: Return) -> None:
        if request.arbitration_status == "IN_PROGRESS":
            raise Refused(codes.UNDER_ARBITRATION, f"Return {request.return_id} is in arbitration")

    def approve_return(
        self,
        request: Return,
        decision: str,
        *,
        buyer_keep_item: bool,
        partial_refund: dict[str, Any] | None,
        key: str | None,
    ) -> None:
        if decision not in APPROVE_DECISIONS:
            raise Refused(codes.INVALID_PARAMETER, f"Invalid decision {decision!r}")
        self._seller_may_decide(request)
        apply = self._approval(request, decision, buyer_keep_item, partial_refund)
        self._applied("return", request.return_id, decision, key)
        apply()

    def _approval(
        self,
        request: Return,
        decision: str,
        keep: bool,
        partial: dict[str, Any] | None,
    ) -> Callable[[], None]:
        """Checks a decision against the status table and returns what applies it."""
        kind, status = request.return_type, request.status
        pending = status in (RETURN_PENDING, REPLACEMENT_PENDING)
        if decision == "APPROVE_REFUND" and kind in ("REFUND", "RETURN_AND_REFUND"):
            if kind == "RETURN_AND_REFUND" and not keep:
                raise Refused(
                    codes.DECISION_NOT_APPLICABLE,
                    "APPROVE_REFUND on a return needs buyer_keep_item",
                )
            if status == RETURN_PENDING:

                def refund() -> None:
                    request.buyer_keep_item = keep
                    self._return_succeeds(request, "SELLER", "SELLER_APPROVE_REFUND")

                return refund
        elif decision == "APPROVE_RETURN" and kind == "RETURN_AND_REFUND":
            if status == RETURN_PENDING:
                return lambda: self._move_return(
                    request,
                    AWAITING_BUYER_SHIP,
                    "SELLER",
                    "SELLER_APPROVE_RETURN",
                    self.now() + self.buyer_ship_window,
                )
        elif decision == "APPROVE_RECEIVED_PACKAGE" and kind == "RETURN_AND_REFUND":
            if status == BUYER_SHIPPED_ITEM:
                return lambda: self._return_succeeds(
                    request, "SELLER", "SELLER_APPROVE_RECEIVED_PACKAGE"
                )
        elif decision == "OFFER_PARTIAL_REFUND" and kind in ("REFUND", "RETURN_AND_REFUND"):
            offer = self._partial_offer(request, partial)
            if status == RETURN_PENDING:

                def offer_partial() -> None:
                    request.partial_refund = offer
                    self._move_return(
                        request,
                        AWAITING_BUYER_RESPONSE,
                        "SELLER",
                        "SELLER_OFFER_PARTIAL_REFUND",
                        self.now() + self.response_window,
                    )

                return offer_partial
        elif decision == "APPROVE_REPLACEMENT" and kind == "REPLACEMENT":
            if pending:
                return lambda: self._replacement_made(
                    request, "SELLER", "SELLER_APPROVE_REPLACEMENT"
                )
        elif decision == "ISSUE_REPLACEMENT_REFUND" and kind == "REPLACEMENT":
            if pending:

                def refund_instead() -> None:
                    self._move_return(
                        request, REPLACEMENT_REFUND_SUCCESS, "SELLER", "SELLER_ISSUE_REFUND"
                    )
                    self._refunded(
                        request.shop_id,
                        request.order_id,
                        request.refund,
                        return_id=request.return_id,
                    )

                return refund_instead
        else:
            raise Refused(codes.DECISION_NOT_APPLICABLE, f"{decision} does not apply to {kind}")
        raise Refused(codes.STATUS_NOT_ALLOWED, f"{decision} is not allowed in status {status}")

    def _partial_offer(self, request: Return, partial: dict[str, Any] | None) -> Refund:
        try:
            amount = Decimal(str((partial or {})["amount"]))
            currency = str((partial or {})["currency"])
        except (KeyError, ArithmeticError, TypeError) as exc:
            raise Refused(
                codes.INVALID_PARAMETER, "partial_refund needs amount and currency"
            ) from exc
        if currency != request.refund.currency or not Decimal(0) < amount < request.refund.total:
            raise Refused(codes.INVALID_PARAMETER, "partial_refund must be below the full refund")
        return Refund(currency=currency, subtotal=amount, shipping_fee=Decimal(0))

    def reject_return(
        self, request: Return, decision: str, reason: str, comment: str, key: str | None
    ) -> None:
        if decision not in REJECT_DECISIONS:
            raise Refused(codes.INVALID_PARAMETER, f"Invalid decision {decision!r}")
        self._seller_may_decide(request)
        kind, status = request.return_type, request.status
        if decision == "REJECT_RECEIVED_PACKAGE":
            if kind != "RETURN_AND_REFUND":
                raise Refused(codes.DECISION_NOT_APPLICABLE, f"{decision} does not apply to {kind}")
            if status != BUYER_SHIPPED_ITEM:
                raise Refused(codes.CANNOT_REJECT_RECEIVE, "status can't reject receive")
            reasons, target = RECEIVE_REJECT_REASONS, REJECT_RECEIVE_PACKAGE
        elif decision == "REJECT_REPLACEMENT":
            if kind != "REPLACEMENT":
                raise Refused(codes.DECISION_NOT_APPLICABLE, f"{decision} does not apply to {kind}")
            reasons, target = RETURN_REJECT_REASONS, REPLACEMENT_REJECT
        else:
            wanted = "REFUND" if decision == "REJECT_REFUND" else "RETURN_AND_REFUND"
            if kind != wanted:
                raise Refused(codes.DECISION_NOT_APPLICABLE, f"{decision} does not apply to {kind}")
            reasons, target = RETURN_REJECT_REASONS, RETURN_REJECT
        if status not in (RETURN_PENDING, REPLACEMENT_PENDING, BUYER_SHIPPED_ITEM) or (
            status == BUYER_SHIPPED_ITEM and decision != "REJECT_RECEIVED_PACKAGE"
        ):
            raise Refused(codes.STATUS_NOT_ALLOWED, f"{decision} is not allowed in status {status}")
        if reason not in reasons:
            raise Refused(codes.INVALID_PARAMETER, f"Invalid reject_reason {reason!r}")
        self._applied("return", request.return_id, decision, key)
        request.reject_reason = reason
        self._move_return(request, target, "SELLER", f"SELLER_{decision}")
        request.records[-1].note = comment

    # The marketplace's own moves on returns.

    def buyer_ships(self, request: Return) -> None:
        if request.status != AWAITING_BUYER_SHIP:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Return is {request.status}")
        self._move_return(
            request,
            BUYER_SHIPPED_ITEM,
            "BUYER",
            "BUYER_SHIPPED_ITEM",
            self.now() + self.response_window,
        )

    def buyer_answers_offer(self, request: Return, accept: bool) -> None:
        if request.status != AWAITING_BUYER_RESPONSE:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Return is {request.status}")
        if accept:
            self._return_succeeds(request, "BUYER", "BUYER_ACCEPT_PARTIAL_REFUND")
        else:
            request.partial_refund = None
            self._move_return(
                request,
                RETURN_PENDING,
                "BUYER",
                "BUYER_DECLINE_PARTIAL_REFUND",
                self.now() + self.response_window,
            )

    def buyer_withdraws_return(self, request: Return) -> None:
        if request.status not in (
            RETURN_PENDING,
            AWAITING_BUYER_SHIP,
            AWAITING_BUYER_RESPONSE,
            REPLACEMENT_PENDING,
        ):
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Return is {request.status}")
        if request.arbitration_status == "IN_PROGRESS":
            # The arbitration decides it: a withdrawal now would be undone by its outcome.
            raise Refused(codes.UNDER_ARBITRATION, "in arbitration")
        target = REPLACEMENT_CANCEL if request.return_type == "REPLACEMENT" else RETURN_CANCEL
        self._move_return(request, target, "BUYER", "BUYER_WITHDRAW")

    def system_approves_return(self, request: Return) -> None:
        """What TikTok does when the seller stays silent past the deadline."""
        if request.arbitration_status == "IN_PROGRESS":
            raise Refused(codes.UNDER_ARBITRATION, "in arbitration")
        if request.status == REPLACEMENT_PENDING:
            self._replacement_made(request, "SYSTEM", "AUTO_APPROVE_ON_SELLER_SILENCE")
        elif request.status == BUYER_SHIPPED_ITEM or (
            request.status == RETURN_PENDING and request.return_type == "REFUND"
        ):
            self._return_succeeds(request, "SYSTEM", "AUTO_APPROVE_ON_SELLER_SILENCE")
        elif request.status == RETURN_PENDING:
            self._move_return(
                request,
                AWAITING_BUYER_SHIP,
                "SYSTEM",
                "AUTO_APPROVE_ON_SELLER_SILENCE",
                self.now() + self.buyer_ship_window,
            )
        else:
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Return is {request.status}")

    def open_arbitration(self, request: Return) -> None:
        if request.status not in (
            RETURN_PENDING,
            RETURN_REJECT,
            REJECT_RECEIVE_PACKAGE,
            REPLACEMENT_PENDING,
            REPLACEMENT_REJECT,
        ):
            raise Refused(codes.STATUS_NOT_ALLOWED, f"Return is {request.status}")
        request.arbitration_status = "IN_PROGRESS"
        self._move_return(request, request.status, "BUYER", "BUYER_APPEAL")

    def close_arbitration(self, request: Return, outcome: str) -> None:
        if outcome not in ARBITRATION_OUTCOMES:
            raise Refused(codes.INVALID_PARAMETER, f"Unknown outcome {outcome}")
        if request.arbitration_status != "IN_PROGRESS":
            raise Refused(codes.STATUS_NOT_ALLOWED, "No arbitration in progress")
        request.arbitration_status = outcome
        event = f"ARBITRATION_{outcome}"
        if outcome == "SUPPORT_BUYER":
            if request.return_type == "REPLACEMENT":
                self._replacement_made(request, "OPERATOR", event)
            else:
                self._return_succeeds(request, "OPERATOR", event)
        elif outcome == "SUPPORT_SELLER":
            target = REPLACEMENT_REJECT if request.return_type == "REPLACEMENT" else RETURN_REJECT
            self._move_return(request, target, "OPERATOR", event)
        else:
            self._move_return(request, request.status, "OPERATOR", event, request.deadline)

    # -- time passing --------------------------------------------------------------------------

    def advance(self, seconds: int) -> list[str]:
        """Moves the marketplace's clock and applies what its deadlines decide; returns the ids."""
        self.clock_offset += seconds
        now = self.now()
        moved: list[str] = []
        for cancel in list(self.cancellations.values()):
            if cancel.status == CANCEL_PENDING and cancel.deadline and cancel.deadline <= now:
                self.system_approves_cancellation(cancel)
                moved.append(cancel.cancel_id)
        for request in list(self.returns.values()):
            if not request.deadline or request.deadline > now:
                continue
            if request.arbitration_status == "IN_PROGRESS":
                continue
            if request.status == AWAITING_BUYER_SHIP:
                self._move_return(request, RETURN_CANCEL, "SYSTEM", "BUYER_DID_NOT_SHIP")
                moved.append(request.return_id)
            elif request.next_action():
                self.system_approves_return(request)
                moved.append(request.return_id)
        return moved

    # -- decisions applied ---------------------------------------------------------------------

    def _applied(self, kind: str, id_: str, decision: str, key: str | None) -> None:
        self.applied.append(Application(kind, id_, decision, key, self.now()))

    def applied_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in self.applied:
            name = f"{a.kind}:{a.id}:{a.decision}"
            counts[name] = counts.get(name, 0) + 1
        return counts

    # -- searches ------------------------------------------------------------------------------

    def eligibility(self, order: Order, initiator: str) -> list[dict[str, Any]]:
        busy = {
            line_id
            for c in self.cancellations.values()
            if c.order_id == order.order_id and c.status != CANCEL_CLOSED
            for line_id in c.line_item_ids
        } | {
            line_id
            for r in self.returns.values()
            if r.order_id == order.order_id
            and r.status not in (RETURN_CANCEL, REPLACEMENT_CANCEL, RETURN_REJECT)
            for line_id in r.line_item_ids
        }
        if order.status in BEFORE_SHIPMENT:
            kinds = ["CANCEL"]
        elif order.status in AFTER_SHIPMENT:
            kinds = ["REFUND", "RETURN_AND_REFUND"] + (
                ["REPLACEMENT"] if initiator == "BUYER" else []
            )
        else:
            kinds = ["CANCEL", "REFUND", "RETURN_AND_REFUND"]
        rows = []
        for line in order.line_items:
            for kind in kinds:
                code, reason = 0, ""
                if order.status == "CANCELLED":
                    code, reason = 1, "The order is cancelled"
                elif line.id in busy or line.id in order.cancelled_line_ids:
                    code, reason = 2, "An after-sale request exists for this item"
                rows.append(
                    {
                        "order_line_item_id": line.id,
                        "request_type": kind,
                        "eligible": code == 0,
                        "ineligible_code": code or None,
                        "ineligible_reason": reason,
                    }
                )
        return rows

"""Shops, orders, cancellations and returns as the stand-in keeps them, and their API views."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from devtools.tiktok_shop import codes
from devtools.tiktok_shop.statuses import (
    BUYER_SHIPPED_ITEM,
    CANCEL_PENDING,
    CANCEL_REJECT_REASONS,
    ORDER_STATUS_CODES,
    REPLACEMENT_PENDING,
    RETURN_PENDING,
)


class Refused(Exception):
    """A business refusal: HTTP 200 with this code in the envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def money(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass
class Shop:
    shop_id: str
    cipher: str
    access_token: str
    name: str = ""
    token_expired: bool = False
    refresh_token: str = ""
    auth_codes: set[str] = field(default_factory=set)


@dataclass
class LineItem:
    id: str
    sku_id: str
    product_name: str
    sale_price: Decimal

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sku_id": self.sku_id,
            "product_name": self.product_name,
            "sale_price": money(self.sale_price),
        }


@dataclass
class Order:
    order_id: str
    shop_id: str
    status: str
    buyer_user_id: str
    currency: str
    line_items: list[LineItem]
    shipping_fee: Decimal
    create_time: int
    update_time: int
    cancelled_line_ids: set[str] = field(default_factory=set)

    def open_lines(self) -> list[LineItem]:
        return [line for line in self.line_items if line.id not in self.cancelled_line_ids]

    def lines(self, ids: list[str]) -> list[LineItem]:
        known = {line.id: line for line in self.line_items}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise Refused(codes.INVALID_PARAMETER, f"Unknown order_line_item_ids: {unknown}")
        return [known[i] for i in ids]

    def view(self) -> dict[str, Any]:
        subtotal = sum((line.sale_price for line in self.line_items), Decimal(0))
        return {
            "id": self.order_id,
            "status": self.status,
            "status_code": ORDER_STATUS_CODES[self.status],
            "buyer_user_id": self.buyer_user_id,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "is_on_hold_order": self.status == "ON_HOLD",
            "payment": {
                "currency": self.currency,
                "sub_total": money(subtotal),
                "shipping_fee": money(self.shipping_fee),
                "total_amount": money(subtotal + self.shipping_fee),
            },
            "line_items": [line.view() for line in self.line_items],
        }


@dataclass
class Refund:
    currency: str
    subtotal: Decimal
    shipping_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_fee

    def view(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "refund_total": money(self.total),
            "refund_subtotal": money(self.subtotal),
            "refund_shipping_fee": money(self.shipping_fee),
            "refund_tax": "0.00",
            "retail_delivery_fee": "0.00",
        }


@dataclass
class Record:
    create_time: int
    event: str
    role: str
    description: str = ""
    note: str = ""
    reason_text: str = ""

    def view(self) -> dict[str, Any]:
        return {
            "create_time": self.create_time,
            "event": self.event,
            "description": self.description,
            "note": self.note,
            "reason_text": self.reason_text,
            "role": self.role,
            "images": [],
            "videos": [],
        }


@dataclass
class Cancellation:
    cancel_id: str
    order_id: str
    shop_id: str
    cancel_type: str
    role: str
    status: str
    cancel_reason: str
    line_item_ids: list[str]
    refund: Refund
    create_time: int
    update_time: int
    deadline: int | None
    last_role: str
    reject_reason: str = ""
    reject_comment: str = ""
    records: list[Record] = field(default_factory=list)

    def view(self, order: Order) -> dict[str, Any]:
        lines = order.lines(self.line_item_ids)
        next_action = (
            [{"action": "SELLER_RESPOND_CANCEL", "deadline": self.deadline}]
            if self.status == CANCEL_PENDING and self.deadline
            else []
        )
        return {
            "cancel_id": self.cancel_id,
            "order_id": self.order_id,
            "cancel_type": self.cancel_type,
            "cancel_status": self.status,
            "role": self.role,
            "cancel_reason": self.cancel_reason,
            "cancel_reason_text": self.cancel_reason,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "refund_amount": self.refund.view(),
            "cancel_line_items": [
                {
                    "order_line_item_id": line.id,
                    "sku_id": line.sku_id,
                    "product_name": line.product_name,
                }
                for line in lines
            ],
            "seller_next_action_response": next_action,
            "reject_reason": self.reject_reason,
            "reject_reason_text": CANCEL_REJECT_REASONS.get(self.reject_reason, ""),
        }


@dataclass
class Return:
    return_id: str
    order_id: str
    shop_id: str
    return_type: str
    role: str
    status: str
    return_reason: str
    line_item_ids: list[str]
    refund: Refund
    create_time: int
    update_time: int
    deadline: int | None
    last_role: str
    arbitration_status: str | None = None
    buyer_keep_item: bool = False
    partial_refund: Refund | None = None
    replacement_order_id: str | None = None
    reject_reason: str = ""
    records: list[Record] = field(default_factory=list)

    def next_action(self) -> str | None:
        if self.arbitration_status == "IN_PROGRESS":
            return None
        if self.status == RETURN_PENDING:
            return (
                "SELLER_RESPOND_REFUND" if self.return_type == "REFUND" else "SELLER_RESPOND_RETURN"
            )
        if self.status == BUYER_SHIPPED_ITEM:
            return "SELLER_RESPOND_RECEIVE_PACKAGE"
        if self.status == REPLACEMENT_PENDING:
            return "SELLER_RESPOND_REPLACEMENT"
        return None

    def view(self, order: Order) -> dict[str, Any]:
        action = self.next_action()
        lines = order.lines(self.line_item_ids)
        return {
            "return_id": self.return_id,
            "order_id": self.order_id,
            "return_type": self.return_type,
            "return_status": self.status,
            "role": self.role,
            "arbitration_status": self.arbitration_status or "",
            "return_reason": self.return_reason,
            "return_reason_text": self.return_reason,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "refund_amount": (self.partial_refund or self.refund).view(),
            "return_line_items": [
                {
                    "order_line_item_id": line.id,
                    "sku_id": line.sku_id,
                    "product_name": line.product_name,
                    "refund_amount": {
                        "currency": order.currency,
                        "refund_total": money(line.sale_price),
                    },
                }
                for line in lines
            ],
            "seller_next_action_response": (
                [{"action": action, "deadline": self.deadline}] if action and self.deadline else []
            ),
            "buyer_keep_item": self.buyer_keep_item,
            "replacement_order_id": self.replacement_order_id or "",
            "reject_reason": self.reject_reason,
        }

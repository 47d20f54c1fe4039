"""Messages the marketplace sends to the buyer or the shop when a request moves (C7, C8, C9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class Recipient(Enum):
    BUYER = "BUYER"
    SHOP = "SHOP"


class NotificationKind(Enum):
    ORDER_CANCELLED = "ORDER_CANCELLED"
    CANCELLATION_REQUESTED = "CANCELLATION_REQUESTED"
    CANCELLATION_REJECTED = "CANCELLATION_REJECTED"
    CANCELLATION_WITHDRAWN = "CANCELLATION_WITHDRAWN"


@dataclass(frozen=True)
class Notification:
    recipient: Recipient
    recipient_id: str
    kind: NotificationKind
    order_id: str
    request_id: str
    message: str
    at: datetime

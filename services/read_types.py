"""The shapes the services take and return that are declared beside the storage that reads them:
list filters, a stored feed event, an evidence file, a webhook and its deliveries. Named here so
that the API layer depends on the services only, never on storage."""

from __future__ import annotations

from storage.after_sales import AfterSaleFilter
from storage.cancellations import CancellationFilter
from storage.events import StoredEvent
from storage.evidence import Evidence
from storage.orders import OrderFilter
from storage.request_store import TabPage
from storage.tickets import UNASSIGNED, TicketFilter
from storage.webhooks import Delivery, DeliveryStatus, Webhook, WebhookStatus

__all__ = [
    "UNASSIGNED",
    "AfterSaleFilter",
    "CancellationFilter",
    "Delivery",
    "DeliveryStatus",
    "Evidence",
    "OrderFilter",
    "StoredEvent",
    "TabPage",
    "TicketFilter",
    "Webhook",
    "WebhookStatus",
]

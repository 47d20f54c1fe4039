"""The helpdesk wired to the after-sale service (H1, H2): refunds, returns and replacements are
counted in a buyer's history for rule conditions, and the shop's rules run on every new one.

Decisions from a ticket need no wiring: the ticket's decision becomes the request's own command
(models/commands.py::approval, rejection, partial_refund), handled by the request's service.
"""

from __future__ import annotations

from datetime import datetime

from services.after_sales import AfterSaleService
from services.tickets import HelpdeskService
from storage import after_sales as after_sale_store
from storage.mongo import Database


async def after_sales_of_buyer(
    db: Database, shop_id: str, buyer_id: str, since: datetime, before: datetime
) -> int:
    return await after_sale_store.count_for_buyer(db, shop_id, buyer_id, since, before)


def wire_after_sales(helpdesk: HelpdeskService, after_sales: AfterSaleService) -> None:
    helpdesk.history.append(after_sales_of_buyer)
    after_sales.after_create = helpdesk.run_rules_for_requests

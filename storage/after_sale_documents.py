"""Mapping between after-sale requests and MongoDB documents.

Kept apart from storage/documents.py (cancellations, orders) so the two slices change apart.
Money is stored as integer minor units, as everywhere.
"""

from __future__ import annotations

from typing import Any

from models.after_sales import (
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleRequest,
    AfterSaleStatus,
    Appeal,
    Decision,
    Offer,
    RefundBreakdown,
    Rejection,
    Shipment,
)
from storage.documents import (
    line_doc,
    line_from,
    opened_doc,
    opened_from,
    optional_value,
    record_doc,
    record_from,
    value_doc,
)
from storage.keys import ALL, sort_key

Doc = dict[str, Any]


def tab_values(r: AfterSaleRequest) -> list[str]:
    """What the `tabs` list key holds: the All tab, the request's tab, and both again per kind,
    so a kind filter is one more equality value on the same indexes (storage/keys.py)."""
    tab, kind = r.tab.value, r.kind.value
    return [ALL, tab, f"{ALL}/{kind}", f"{tab}/{kind}"]


def tab_key(tab: str, kind: AfterSaleKind | None) -> str:
    return f"{tab}/{kind.value}" if kind else tab


# The parts of a request its steps add, each embedded as its value (storage/documents.py).
_PARTS: dict[str, type] = {
    "decision": Decision,
    "rejection": Rejection,
    "appeal": Appeal,
    "return_shipment": Shipment,
    "replacement_shipment": Shipment,
    "refund": RefundBreakdown,
    "offer": Offer,
}


def after_sale_doc(r: AfterSaleRequest) -> Doc:
    return {
        **opened_doc(r),
        "kind": r.kind.value,
        "status": r.status.value,
        "tabs": tab_values(r),
        "lines": [line_doc(line) for line in r.lines],
        "follows_id": r.follows_id,
        "deadline": r.deadline,
        "k_deadline": sort_key(r.deadline, r.id),
        **{name: value_doc(getattr(r, name)) for name in _PARTS},
        "resolved_at": r.resolved_at,
        "timeline": [record_doc(x) for x in r.timeline],
        "version": r.version,
        "replacement_order_id": r.replacement_order_id,
    }


def after_sale_from(d: Doc) -> AfterSaleRequest:
    return AfterSaleRequest(
        **opened_from(d),
        kind=AfterSaleKind(d["kind"]),
        status=AfterSaleStatus(d["status"]),
        lines=tuple(line_from(x) for x in d["lines"]),
        follows_id=d.get("follows_id"),
        deadline=d.get("deadline"),
        resolved_at=d.get("resolved_at"),
        timeline=tuple(
            record_from(x, AfterSaleAction, AfterSaleStatus) for x in d.get("timeline", [])
        ),
        version=d.get("version", 0),
        replacement_order_id=d.get("replacement_order_id"),
        **{name: optional_value(cls, d.get(name)) for name, cls in _PARTS.items()},
    )

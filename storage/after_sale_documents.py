"""Mapping between after-sale requests, refund ledgers and MongoDB documents.

Kept apart from storage/documents.py (cancellations, orders) so the two slices change apart.
Money is stored as integer minor units, as everywhere.
"""

from __future__ import annotations

from typing import Any

from models.actors import ActorKind
from models.after_sales import (
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleRequest,
    AfterSaleStatus,
    Appeal,
    Decision,
    DecisionType,
    Offer,
    OfferAnswer,
    Rejection,
    Shipment,
)
from models.money import Money
from models.refund_ledger import (
    LedgerEntry,
    LedgerSource,
    LineRefund,
    RefundLedger,
)
from storage.documents import (
    breakdown_doc,
    breakdown_from,
    line_doc,
    line_from,
    money_doc,
    money_from,
    opened_doc,
    opened_from,
    record_doc,
    record_from,
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


def _decision_doc(x: Decision) -> Doc:
    return {
        "type": x.type.value,
        "lines": [line_doc(line) for line in x.lines],
        "buyer_keeps_item": x.buyer_keeps_item,
        "partial_amount": money_doc(x.partial_amount) if x.partial_amount else None,
        "reason": x.reason,
        "comment": x.comment,
        "decided_at": x.decided_at,
        "decided_by": x.decided_by.value,
    }


def _decision_from(d: Doc) -> Decision:
    return Decision(
        DecisionType(d["type"]),
        tuple(line_from(x) for x in d["lines"]),
        d["buyer_keeps_item"],
        money_from(d["partial_amount"]) if d.get("partial_amount") else None,
        d.get("reason"),
        d.get("comment"),
        d["decided_at"],
        ActorKind(d["decided_by"]),
    )


def _shipment_doc(s: Shipment | None) -> Doc | None:
    if s is None:
        return None
    return {
        "carrier": s.carrier,
        "tracking_number": s.tracking_number,
        "shipped_at": s.shipped_at,
        "received_at": s.received_at,
    }


def _shipment_from(d: Doc | None) -> Shipment | None:
    if not d:
        return None
    return Shipment(d["carrier"], d["tracking_number"], d["shipped_at"], d.get("received_at"))


def _offer_doc(o: Offer | None) -> Doc | None:
    if o is None:
        return None
    return {
        "amount": money_doc(o.amount),
        "lines": [line_doc(line) for line in o.lines],
        "comment": o.comment,
        "made_at": o.made_at,
        "respond_by": o.respond_by,
        "answer": o.answer.value if o.answer else None,
        "answered_at": o.answered_at,
    }


def _offer_from(d: Doc | None) -> Offer | None:
    if not d:
        return None
    return Offer(
        money_from(d["amount"]),
        tuple(line_from(x) for x in d["lines"]),
        d.get("comment"),
        d["made_at"],
        d["respond_by"],
        OfferAnswer(d["answer"]) if d.get("answer") else None,
        d.get("answered_at"),
    )


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
        "decision": _decision_doc(r.decision) if r.decision else None,
        "rejection": (
            {
                "reason": r.rejection.reason,
                "comment": r.rejection.comment,
                "at": r.rejection.at,
                "on_receipt": r.rejection.on_receipt,
            }
            if r.rejection
            else None
        ),
        "appeal": (
            {
                "reason": r.appeal.reason,
                "comment": r.appeal.comment,
                "at": r.appeal.at,
                "for_buyer": r.appeal.for_buyer,
                "note": r.appeal.note,
                "decided_at": r.appeal.decided_at,
            }
            if r.appeal
            else None
        ),
        "return_shipment": _shipment_doc(r.return_shipment),
        "replacement_shipment": _shipment_doc(r.replacement_shipment),
        "refund": breakdown_doc(r.refund) if r.refund else None,
        "resolved_at": r.resolved_at,
        "timeline": [record_doc(x) for x in r.timeline],
        "version": r.version,
        "offer": _offer_doc(r.offer),
        "replacement_order_id": r.replacement_order_id,
    }


def after_sale_from(d: Doc) -> AfterSaleRequest:
    rejection = d.get("rejection")
    appeal = d.get("appeal")
    return AfterSaleRequest(
        **opened_from(d),
        kind=AfterSaleKind(d["kind"]),
        status=AfterSaleStatus(d["status"]),
        lines=tuple(line_from(x) for x in d["lines"]),
        follows_id=d.get("follows_id"),
        deadline=d.get("deadline"),
        decision=_decision_from(d["decision"]) if d.get("decision") else None,
        rejection=(
            Rejection(
                rejection["reason"],
                rejection.get("comment"),
                rejection["at"],
                rejection["on_receipt"],
            )
            if rejection
            else None
        ),
        appeal=(
            Appeal(
                appeal["reason"],
                appeal.get("comment"),
                appeal["at"],
                appeal.get("for_buyer"),
                appeal.get("note"),
                appeal.get("decided_at"),
            )
            if appeal
            else None
        ),
        return_shipment=_shipment_from(d.get("return_shipment")),
        replacement_shipment=_shipment_from(d.get("replacement_shipment")),
        refund=breakdown_from(d["refund"]) if d.get("refund") else None,
        resolved_at=d.get("resolved_at"),
        timeline=tuple(
            record_from(x, AfterSaleAction, AfterSaleStatus) for x in d.get("timeline", [])
        ),
        version=d.get("version", 0),
        offer=_offer_from(d.get("offer")),
        replacement_order_id=d.get("replacement_order_id"),
    )


def ledger_entries_doc(ledger: RefundLedger) -> list[Doc]:
    return [
        {
            "source": e.source.value,
            "source_id": e.source_id,
            "at": e.at,
            "lines": [
                {"line_id": x.line_id, "quantity": x.quantity, "amount": x.amount.minor}
                for x in e.lines
            ],
            "shipping": e.shipping.minor,
        }
        for e in ledger.entries
    ]


def ledger_from(d: Doc) -> RefundLedger:
    currency = d["currency"]
    return RefundLedger(
        d["_id"],
        currency,
        tuple(
            LedgerEntry(
                LedgerSource(e["source"]),
                e["source_id"],
                e["at"],
                tuple(
                    LineRefund(x["line_id"], x["quantity"], Money(x["amount"], currency))
                    for x in e["lines"]
                ),
                Money(e["shipping"], currency),
            )
            for e in d.get("entries", [])
        ),
    )

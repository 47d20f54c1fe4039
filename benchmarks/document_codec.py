"""What storing an order and an after-sale request's parts through the one codec
(storage/documents.py::value_doc, value_from) costs beside hand-written encoders and decoders.

    ./dev run benchmarks.document_codec              # 30 rounds of 2,000 calls each
    ./dev run benchmarks.document_codec --rounds 60

The baseline is the pair the codec replaced, written out here for one order (every field set)
and one decision (a return approved for less money); the two alternate round by round in one
process, so load on the machine falls on both alike. Prints each median (us per call) and the
codec's over the baseline's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from models.actors import ActorKind
from models.after_sale_requests import Decision
from models.after_sales_machine import DecisionType
from models.money import Money
from models.orders import (
    CancelledUnits,
    FulfilmentState,
    LineItem,
    Order,
    PaymentMethod,
    PaymentState,
)
from storage.documents import money_doc, money_from, order_doc, order_from, value_doc, value_from
from storage.keys import ALL, sort_key
from storage.rebuild import frozen_constructor

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PRICE = Money(1999, "USD")
LINE = LineItem("l1", "SKU-1", "Mug", 2, PRICE, "kitchen")
UNITS = CancelledUnits(
    "l1", 1, "can_1", "OUT_OF_STOCK", ActorKind.SELLER_AGENT, "a1", NOW, PRICE, False
)
ORDER = Order(
    "ord_1", "shop-1", "b-1", (LINE,), Money(500, "USD"), PaymentMethod.PREPAID, PaymentState.PAID,
    FulfilmentState.DELIVERED, NOW, NOW, NOW, NOW, NOW, None, "UPS", "1Z", PRICE, None, None,
    None, (UNITS,), 3, None, None, ("ord_2",),
)  # fmt: skip
DECISION = Decision(
    DecisionType.APPROVE_RETURN, (LINE,), False, PRICE, None, "ok", NOW, ActorKind.SELLER_AGENT
)


def line_doc(line: LineItem) -> dict[str, Any]:
    return {
        "line_id": line.line_id, "sku": line.sku, "title": line.title, "quantity": line.quantity,
        "unit_price": money_doc(line.unit_price), "category": line.category,
    }  # fmt: skip


_new_line = frozen_constructor(LineItem)


def line_from(d: dict[str, Any]) -> LineItem:
    return _new_line(
        line_id=d["line_id"], sku=d["sku"], title=d["title"], quantity=d["quantity"],
        unit_price=money_from(d["unit_price"]), category=d["category"],
    )  # fmt: skip


def units_doc(u: CancelledUnits) -> dict[str, Any]:
    return {
        "line_id": u.line_id, "quantity": u.quantity, "cancellation_id": u.cancellation_id,
        "reason": u.reason, "actor_kind": u.actor_kind.value, "actor_id": u.actor_id,
        "at": u.at, "refunded": money_doc(u.refunded), "voided": u.voided,
    }  # fmt: skip


def hand_order_doc(o: Order) -> dict[str, Any]:
    return {
        "_id": o.id, "shop_id": o.shop_id, "buyer_id": o.buyer_id,
        "lines": [line_doc(line) for line in o.lines], "shipping_fee": money_doc(o.shipping_fee),
        "payment_method": o.payment_method.value, "payment_state": o.payment_state.value,
        "fulfilment_state": o.fulfilment_state.value, "states": [ALL, o.fulfilment_state.value],
        "placed_at": o.placed_at, "k_placed": sort_key(o.placed_at, o.id),
        "payment_due_at": o.payment_due_at, "paid_at": o.paid_at, "shipped_at": o.shipped_at,
        "delivered_at": o.delivered_at, "cancelled_at": o.cancelled_at, "carrier": o.carrier,
        "tracking_number": o.tracking_number,
        "refunded": money_doc(o.refunded) if o.refunded else None,
        "open_cancellation_id": o.open_cancellation_id,
        "rejected_cancellation_id": o.rejected_cancellation_id, "cancelled_by": o.cancelled_by,
        "cancelled_lines": [units_doc(u) for u in o.cancelled_lines], "version": o.version,
        "replacement_of": o.replacement_of, "replacement_request_id": o.replacement_request_id,
        "replacement_order_ids": list(o.replacement_order_ids),
    }  # fmt: skip


def hand_order_from(d: dict[str, Any]) -> Order:
    return Order(
        id=d["_id"], shop_id=d["shop_id"], buyer_id=d["buyer_id"],
        lines=tuple(line_from(x) for x in d["lines"]), shipping_fee=money_from(d["shipping_fee"]),
        payment_method=PaymentMethod(d["payment_method"]),
        payment_state=PaymentState(d["payment_state"]),
        fulfilment_state=FulfilmentState(d["fulfilment_state"]), placed_at=d["placed_at"],
        payment_due_at=d.get("payment_due_at"), paid_at=d.get("paid_at"),
        shipped_at=d.get("shipped_at"), delivered_at=d.get("delivered_at"),
        cancelled_at=d.get("cancelled_at"), carrier=d.get("carrier"),
        tracking_number=d.get("tracking_number"),
        refunded=money_from(d["refunded"]) if d.get("refunded") else None,
        open_cancellation_id=d.get("open_cancellation_id"),
        rejected_cancellation_id=d.get("rejected_cancellation_id"),
        cancelled_by=d.get("cancelled_by"),
        cancelled_lines=tuple(
            CancelledUnits(
                u["line_id"], u["quantity"], u["cancellation_id"], u["reason"],
                ActorKind(u["actor_kind"]), u["actor_id"], u["at"], money_from(u["refunded"]),
                u["voided"],
            )
            for u in d.get("cancelled_lines") or ()
        ),
        version=d.get("version", 0), replacement_of=d.get("replacement_of"),
        replacement_request_id=d.get("replacement_request_id"),
        replacement_order_ids=tuple(d.get("replacement_order_ids", ())),
    )  # fmt: skip


def hand_decision_doc(x: Decision) -> dict[str, Any]:
    return {
        "type": x.type.value, "lines": [line_doc(line) for line in x.lines],
        "buyer_keeps_item": x.buyer_keeps_item,
        "partial_amount": money_doc(x.partial_amount) if x.partial_amount else None,
        "reason": x.reason, "comment": x.comment, "decided_at": x.decided_at,
        "decided_by": x.decided_by.value,
    }  # fmt: skip


def hand_decision_from(d: dict[str, Any]) -> Decision:
    return Decision(
        DecisionType(d["type"]), tuple(line_from(x) for x in d["lines"]), d["buyer_keeps_item"],
        money_from(d["partial_amount"]) if d.get("partial_amount") else None, d.get("reason"),
        d.get("comment"), d["decided_at"], ActorKind(d["decided_by"]),
    )  # fmt: skip


def per_call_us(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    order, decision = hand_order_doc(ORDER), hand_decision_doc(DECISION)
    assert order_doc(ORDER) == order and order_from(order) == ORDER == hand_order_from(order)
    assert value_doc(DECISION) == decision and value_from(Decision, decision) == DECISION
    pairs = {
        "order, stored": (lambda: hand_order_doc(ORDER), lambda: order_doc(ORDER)),
        "order, read": (lambda: hand_order_from(order), lambda: order_from(order)),
        "decision, stored": (lambda: hand_decision_doc(DECISION), lambda: value_doc(DECISION)),
        "decision, read": (
            lambda: hand_decision_from(decision),
            lambda: value_from(Decision, decision),
        ),
    }
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
    for _ in range(args.rounds):
        for what, (hand, codec) in pairs.items():
            times[what][0].append(per_call_us(hand, args.calls))
            times[what][1].append(per_call_us(codec, args.calls))
    print(f"{'':18} {'hand-written us':>16} {'codec us':>9} {'codec / hand':>13}")
    for what, (hand_us, codec_us) in times.items():
        h, c = statistics.median(hand_us), statistics.median(codec_us)
        print(f"{what:18} {h:16.2f} {c:9.2f} {c / h:13.2f}")


if __name__ == "__main__":
    main()

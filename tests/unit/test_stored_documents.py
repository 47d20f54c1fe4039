"""The documents an order and an after-sale request's parts are stored as: the shape the
database holds, whichever code writes it, and read back to equal values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.actors import ActorKind
from models.after_sale_requests import (
    AfterSaleRequest,
    Appeal,
    Decision,
    Offer,
    OfferAnswer,
    Rejection,
    Shipment,
)
from models.after_sales_machine import AfterSaleKind, AfterSaleStatus, DecisionType
from models.cancellations import Cancellation, CancellationAction, CancellationStatus
from models.money import Money
from models.orders import (
    CancelledUnits,
    FulfilmentState,
    LineItem,
    Order,
    PaymentMethod,
    PaymentState,
)
from models.policy import DEFAULT_POLICY, CategoryPolicy
from models.refund_ledger import LineRefund, RefundBreakdown
from models.requests import Initiator, TimelineRecord
from storage.after_sales import REQUESTS as AFTER_SALES
from storage.cancellations import REQUESTS as CANCELLATIONS
from storage.documents import order_doc, order_from

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(days=2)
PRICE = Money(1999, "USD")
LINE = LineItem("l1", "SKU-1", "Mug", 2, PRICE, "kitchen")
LINE_DOC = {
    "line_id": "l1",
    "sku": "SKU-1",
    "title": "Mug",
    "quantity": 2,
    "unit_price": {"minor": 1999, "currency": "USD"},
    "category": "kitchen",
}


def _order() -> Order:
    units = CancelledUnits(
        "l1", 1, "can_1", "OUT_OF_STOCK", ActorKind.SELLER_AGENT, "agent-1", NOW, PRICE, False
    )
    return Order(
        "ord_1",
        "shop-1",
        "b-1",
        (LINE,),
        Money(500, "USD"),
        PaymentMethod.PREPAID,
        PaymentState.PAID,
        FulfilmentState.DELIVERED,
        NOW,
        payment_due_at=NOW,
        paid_at=NOW,
        shipped_at=NOW,
        delivered_at=LATER,
        carrier="UPS",
        tracking_number="1Z999",
        refunded=PRICE,
        cancelled_lines=(units,),
        version=3,
        replacement_order_ids=("ord_2",),
    )


def test_an_order_is_stored_with_every_field_and_its_list_keys_and_read_back() -> None:
    stored = order_doc(_order())
    assert stored == {
        "_id": "ord_1",
        "shop_id": "shop-1",
        "buyer_id": "b-1",
        "lines": [LINE_DOC],
        "shipping_fee": {"minor": 500, "currency": "USD"},
        "payment_method": "PREPAID",
        "payment_state": "PAID",
        "fulfilment_state": "DELIVERED",
        "states": ["ALL", "DELIVERED"],
        "placed_at": NOW,
        "k_placed": "2026-12-01T09:30:00.000Z|ord_1",
        "payment_due_at": NOW,
        "paid_at": NOW,
        "shipped_at": NOW,
        "delivered_at": LATER,
        "cancelled_at": None,
        "carrier": "UPS",
        "tracking_number": "1Z999",
        "refunded": {"minor": 1999, "currency": "USD"},
        "open_cancellation_id": None,
        "rejected_cancellation_id": None,
        "cancelled_by": None,
        "cancelled_lines": [
            {
                "line_id": "l1",
                "quantity": 1,
                "cancellation_id": "can_1",
                "reason": "OUT_OF_STOCK",
                "actor_kind": "SELLER_AGENT",
                "actor_id": "agent-1",
                "at": NOW,
                "refunded": {"minor": 1999, "currency": "USD"},
                "voided": False,
            }
        ],
        "version": 3,
        "replacement_of": None,
        "replacement_request_id": None,
        "replacement_order_ids": ["ord_2"],
    }
    assert order_from(stored) == _order()


def test_an_order_stored_before_its_later_fields_reads_them_as_their_defaults() -> None:
    old = {
        k: v
        for k, v in order_doc(_order()).items()
        if k not in ("cancelled_lines", "version", "replacement_order_ids", "replacement_of")
    }
    assert order_from(old) == Order(
        **{**vars(_order()), "cancelled_lines": (), "version": 0, "replacement_order_ids": ()}
    )


def _opened(request_id: str, reason: str, note: str | None, policy: CategoryPolicy) -> Any:
    """What a request of any kind is opened with, on the order of these tests."""
    return {
        "id": request_id,
        "order_id": "ord_1",
        "shop_id": "shop-1",
        "buyer_id": "b-1",
        "initiator": Initiator.BUYER,
        "reason": reason,
        "note": note,
        "currency": "USD",
        "policy": policy,
        "requested_at": NOW,
    }


def test_each_part_an_after_sale_step_adds_is_stored_as_its_own_document_and_read_back() -> None:
    request = AfterSaleRequest(
        **_opened("afs_1", "DAMAGED", "cracked", DEFAULT_POLICY),
        lines=(LINE,),
        kind=AfterSaleKind.RETURN_AND_REFUND,
        status=AfterSaleStatus.REJECTED,
        deadline=LATER,
        decision=Decision(
            DecisionType.APPROVE_RETURN,
            (LINE,),
            False,
            Money(1500, "USD"),
            None,
            "half",
            NOW,
            ActorKind.SELLER_AGENT,
        ),
        rejection=Rejection("WRONG_ITEM_RETURNED", None, LATER, True),
        appeal=Appeal("HAVE_EVIDENCE", "photo", LATER),
        return_shipment=Shipment("UPS", "1Z1", NOW, LATER),
        refund=RefundBreakdown(
            Money(1500, "USD"), Money(0, "USD"), (LineRefund("l1", 2, Money(1500, "USD")),)
        ),
        offer=Offer(Money(1000, "USD"), (LINE,), None, NOW, LATER, OfferAnswer.DECLINED, LATER),
    )
    stored = AFTER_SALES.to_doc(request)
    parts = {
        k: stored[k]
        for k in [
            "decision",
            "rejection",
            "appeal",
            "return_shipment",
            "replacement_shipment",
            "refund",
            "offer",
        ]
    }
    assert parts == {
        "decision": {
            "type": "APPROVE_RETURN",
            "lines": [LINE_DOC],
            "buyer_keeps_item": False,
            "partial_amount": {"minor": 1500, "currency": "USD"},
            "reason": None,
            "comment": "half",
            "decided_at": NOW,
            "decided_by": "SELLER_AGENT",
        },
        "rejection": {
            "reason": "WRONG_ITEM_RETURNED",
            "comment": None,
            "at": LATER,
            "on_receipt": True,
        },
        "appeal": {
            "reason": "HAVE_EVIDENCE",
            "comment": "photo",
            "at": LATER,
            "for_buyer": None,
            "note": None,
            "decided_at": None,
        },
        "return_shipment": {
            "carrier": "UPS",
            "tracking_number": "1Z1",
            "shipped_at": NOW,
            "received_at": LATER,
        },
        "replacement_shipment": None,
        "refund": {
            "items": {"minor": 1500, "currency": "USD"},
            "shipping": {"minor": 0, "currency": "USD"},
            "lines": [
                {"line_id": "l1", "quantity": 2, "amount": {"minor": 1500, "currency": "USD"}}
            ],
        },
        "offer": {
            "amount": {"minor": 1000, "currency": "USD"},
            "lines": [LINE_DOC],
            "comment": None,
            "made_at": NOW,
            "respond_by": LATER,
            "answer": "DECLINED",
            "answered_at": LATER,
        },
    }
    assert AFTER_SALES.from_doc(stored) == request


def _cancellation() -> Cancellation:
    record = TimelineRecord(
        NOW,
        ActorKind.SELLER_AGENT,
        "agent-1",
        CancellationAction.REJECT,
        CancellationStatus.PENDING,
        CancellationStatus.REJECTED,
        "OUT_OF_STOCK",
        "sorry",
    )
    policy = CategoryPolicy(seller_response_window=timedelta(hours=36), instant_refund=True)
    return Cancellation(
        **_opened("can_1", "CHANGED_MIND", None, policy),
        status=CancellationStatus.REJECTED,
        lines=(LINE,),
        respond_by=LATER,
        rejection_reason="OUT_OF_STOCK",
        rejection_comment="sorry",
        resolved_at=LATER,
        timeline=(record,),
        version=2,
    )


def test_a_cancellation_is_stored_with_every_field_and_its_list_keys_and_read_back() -> None:
    stored = CANCELLATIONS.to_doc(_cancellation())
    assert stored == {
        "_id": "can_1",
        "order_id": "ord_1",
        "shop_id": "shop-1",
        "buyer_id": "b-1",
        "initiator": "BUYER",
        "reason": "CHANGED_MIND",
        "note": None,
        "currency": "USD",
        "policy": {
            **DEFAULT_POLICY.to_seconds(),
            "seller_response_window": 129600,
            "instant_refund": True,
        },
        "requested_at": NOW,
        "k_requested": "2026-12-01T09:30:00.000Z|can_1",
        "status": "REJECTED",
        "tabs": ["ALL", "CLOSED"],
        "k_deadline": "9999-12-31T23:59:59.999Z|can_1",  # decided: no longer by deadline
        "lines": [LINE_DOC],
        "refund": None,
        "resolved_at": LATER,
        "timeline": [
            {
                "at": NOW,
                "actor_kind": "SELLER_AGENT",
                "actor_id": "agent-1",
                "action": "REJECT",
                "from_status": "PENDING",
                "to_status": "REJECTED",
                "reason": "OUT_OF_STOCK",
                "comment": "sorry",
                "deadline": None,
            }
        ],
        "version": 2,
        "respond_by": LATER,
        "rejection_reason": "OUT_OF_STOCK",
        "rejection_comment": "sorry",
    }
    assert CANCELLATIONS.from_doc(stored) == _cancellation()


def test_a_request_stored_before_its_later_fields_reads_them_as_their_defaults() -> None:
    stored = CANCELLATIONS.to_doc(_cancellation())
    for later in ("note", "resolved_at", "timeline", "version", "rejection_comment"):
        del stored[later]
    assert CANCELLATIONS.from_doc(stored) == replace(
        _cancellation(), resolved_at=None, timeline=(), version=0, rejection_comment=None
    )


def test_a_request_the_quick_decoder_cannot_read_fails_as_the_checked_one_says() -> None:
    # A missing key, a member no enum has, a value no enum can hold: each the checked decoder's
    # error (Enum's own ValueError names the value), whether at the top or in a timeline record.
    def stored(**changes: Any) -> dict[str, Any]:
        doc = CANCELLATIONS.to_doc(_cancellation())
        doc.update(changes)
        return doc

    record = stored()["timeline"][0]
    broken = {
        "order_id": (stored(), "order_id"),
        "'LOST' is not a valid CancellationStatus": (stored(status="LOST"), None),
        "['PENDING'] is not a valid CancellationStatus": (stored(status=["PENDING"]), None),
        "'FLY' is not a valid CancellationAction": (
            stored(timeline=[record | {"action": "FLY"}]),
            None,
        ),
    }
    for message, (doc, missing) in broken.items():
        if missing:
            del doc[missing]
        with pytest.raises((KeyError, ValueError)) as raised:
            CANCELLATIONS.from_doc(doc)
        assert message in str(raised.value)

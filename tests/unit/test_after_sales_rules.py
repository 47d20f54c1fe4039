"""R1-R11, P1-P3, Y1: the after-sale steps (models/after_sale_*.py), decided without I/O.

Every test builds its own delivered order and `now` values, so 48-hour and 15-day rules run in
microseconds and prove exactly where each window starts and ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models.actors import EXPIRY_WORKER, Actor, ActorKind
from models.after_sale_decisions import (
    appeal,
    approve,
    auto_approve,
    decide_appeal,
    finalize_rejection,
    reject,
    withdraw,
)
from models.after_sale_opening import (
    NOT_RECEIVED_AFTER,
    line_eligibility,
    refund_without_request,
    request_by_buyer,
)
from models.after_sale_requests import AfterSaleOutcome, AfterSaleRequest, Step
from models.after_sale_shipping import (
    auto_confirm_receipt,
    confirm_receipt,
    expire_return,
    replacement_delivered,
    ship_replacement,
    ship_return,
)
from models.after_sales import act_on_deadline
from models.after_sales_case import AfterSalesCase, quote_for_request
from models.after_sales_errors import (
    AfterSaleRefused,
    DeadlineNotReached,
    DecisionNotAllowed,
    RefundAmountInvalid,
    RefundExceedsPaid,
    RefundExceedsRefundable,
    WindowClosed,
)
from models.after_sales_machine import (
    NEXT_ACTION_OF_STATUS,
    TAB_OF_STATUS,
    TRANSITIONS,
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleStatus,
    AfterSaleTab,
    DecisionType,
)
from models.commands import (
    AppealAfterSale,
    ApprovalTerms,
    ApproveAfterSale,
    ConfirmReturnReceived,
    DecideAppeal,
    PlatformRefund,
    RecordReplacementDelivered,
    RefundOrder,
    RejectAfterSale,
    RejectReturnOnReceipt,
    RequestAfterSale,
    ShipReplacement,
    ShipReturn,
    WithdrawAfterSale,
    chosen_lines,
)
from models.errors import InvalidTransition, NotPending, ResponseWindowClosed, ValidationFailed
from models.money import Money
from models.notifications import Recipient
from models.orders import FulfilmentState, LineItem, Order, PaymentMethod, PaymentState
from models.policy import DAY, DEFAULT_POLICY, HOUR, CategoryPolicy, PolicyBook
from models.refund_ledger import RefundBreakdown, RefundLedger, refund_quote
from models.request_kinds import AFTER_SALE_DEADLINES, profile_of
from models.requests import Initiator, Opening

PLACED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SHIPPED = PLACED + DAY
DELIVERED = PLACED + 4 * DAY
ASKED = DELIVERED + DAY
MS = timedelta(milliseconds=1)

BUYER = Actor(ActorKind.BUYER, "buyer-1")
SELLER = Actor(
    ActorKind.SELLER_AGENT, "agent-7", shop_id="shop-1", permissions=frozenset({"adjustments"})
)
PLATFORM = Actor(ActorKind.PLATFORM, "ops-1")

RO = AfterSaleKind.REFUND_ONLY
RR = AfterSaleKind.RETURN_AND_REFUND
RP = AfterSaleKind.REPLACEMENT
S = AfterSaleStatus

# Two lines (2 x 25.00 and 1 x 10.00) and 4.99 shipping: 60.00 of items, 64.99 in all.
MUG, COASTER = "ord-1-1", "ord-1-2"
SHIPPING_MINOR = 499
GRAND_MINOR = 2 * 2500 + 1000 + SHIPPING_MINOR


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def make_order(
    state: FulfilmentState = FulfilmentState.DELIVERED,
    method: PaymentMethod = PaymentMethod.PREPAID,
) -> Order:
    lines = (
        LineItem(MUG, "SKU-1", "Mug", 2, usd(2500), "home"),
        LineItem(COASTER, "SKU-2", "Coaster", 1, usd(1000), "home"),
    )
    payment = PaymentState.PAID
    if method is PaymentMethod.CASH_ON_DELIVERY and state is not FulfilmentState.DELIVERED:
        payment = PaymentState.COLLECT_ON_DELIVERY
    return Order(
        id="ord-1",
        shop_id="shop-1",
        buyer_id="buyer-1",
        lines=lines,
        shipping_fee=usd(SHIPPING_MINOR),
        payment_method=method,
        payment_state=payment,
        fulfilment_state=state,
        placed_at=PLACED,
        paid_at=PLACED,
        shipped_at=SHIPPED if state is not FulfilmentState.AWAITING_SHIPMENT else None,
        delivered_at=DELIVERED if state is FulfilmentState.DELIVERED else None,
    )


class Shop:
    """One order, its ledger and its requests, moved on by the outcomes as storage would."""

    def __init__(self, order: Order | None = None, policy: CategoryPolicy = DEFAULT_POLICY) -> None:
        self.order = order or make_order()
        self.ledger = RefundLedger.for_order(self.order)
        self.requests: dict[str, AfterSaleRequest] = {}
        self.policy = policy
        self.n = 0

    def take(self, out: AfterSaleOutcome) -> AfterSaleRequest:
        self.requests[out.request.id] = out.request
        for closed in out.superseded:
            self.requests[closed.id] = closed
        self.order = out.order
        if out.ledger is not None:
            self.ledger = out.ledger
        return out.request

    @property
    def existing(self) -> Sequence[AfterSaleRequest]:
        return list(self.requests.values())

    def case(self) -> AfterSalesCase:
        """The order's case: its order, ledger and requests as they are."""
        return AfterSalesCase(self.order, self.ledger, list(self.existing))

    def ask(
        self,
        kind: AfterSaleKind = RR,
        lines: Mapping[str, int] | None = None,
        reason: str | None = None,
        *,
        note: str | None = None,
        at: datetime = ASKED,
        policy: CategoryPolicy | None = None,
    ) -> AfterSaleOutcome:
        self.n += 1
        reason = reason or ("NOT_RECEIVED" if kind is RO else "DAMAGED")
        asked = chosen_lines(lines or {MUG: 2, COASTER: 1})
        out = request_by_buyer(
            self.case(),
            BUYER,
            RequestAfterSale(self.order.id, kind, asked, reason, note),
            Opening(policy or self.policy, at, f"as-{self.n}"),
        )
        self.take(out)
        return out

    def get(self, r: AfterSaleRequest) -> AfterSaleRequest:
        return self.requests[r.id]

    def at(
        self, r: AfterSaleRequest, actor: Actor, now: datetime, replacement: Order | None = None
    ) -> Step:
        """A step on `r` by `actor` at `now`, on this shop's order and ledger as they are."""
        return Step(r, self.order, self.ledger, actor, now, replacement)


def paid_back(out: AfterSaleOutcome) -> Money:
    assert out.request.refund is not None
    return out.request.refund.total


def buyer_notes(out: AfterSaleOutcome) -> list:
    return [n for n in out.notifications if n.recipient is Recipient.BUYER]


def shop_notes(out: AfterSaleOutcome) -> list:
    return [n for n in out.notifications if n.recipient is Recipient.SHOP]


# --- R1 -------------------------------------------------------------------------------------


def test_r1_request_refused_after_return_window() -> None:
    window_end = DELIVERED + DEFAULT_POLICY.return_refund_window
    inside = Shop().ask(RR, at=window_end - MS)
    assert inside.request.status is S.PENDING_SELLER

    with pytest.raises(AfterSaleRefused) as refused:
        Shop().ask(RR, at=window_end)
    assert refused.value.code == "WINDOW_PASSED"
    assert refused.value.window_ends_at == window_end


def test_r1_request_refused_before_delivery() -> None:
    shop = Shop(make_order(FulfilmentState.AWAITING_SHIPMENT))
    for kind in AfterSaleKind:
        with pytest.raises(AfterSaleRefused) as refused:
            shop.ask(kind)
        assert refused.value.code == "NOT_DELIVERED"


def test_r1_refund_only_for_never_received_order() -> None:
    """An order with the carrier long after the expected date: a refund only, as not received."""
    expected = SHIPPED + NOT_RECEIVED_AFTER
    shop = Shop(make_order(FulfilmentState.IN_TRANSIT))
    with pytest.raises(AfterSaleRefused) as early:
        shop.ask(RO, at=expected - MS)
    assert early.value.code == "NOT_DELIVERED"
    for kind in (RR, RP):
        with pytest.raises(AfterSaleRefused) as refused:
            shop.ask(kind, at=expected)
        assert refused.value.code == "NOT_DELIVERED"
    with pytest.raises(AfterSaleRefused) as wrong_reason:
        shop.ask(RO, reason="DAMAGED", at=expected)
    assert wrong_reason.value.code == "NOT_DELIVERED"

    out = shop.ask(RO, at=expected)
    assert out.request.status is S.PENDING_SELLER
    done = approve(
        shop.at(out.request, SELLER, expected + HOUR),
        ApproveAfterSale(out.request.id, DecisionType.APPROVE_REFUND),
    )
    assert done.request.status is S.REFUNDED
    assert paid_back(done) == usd(GRAND_MINOR)  # never received: the shipping comes back too

    with pytest.raises(DecisionNotAllowed):
        approve(
            shop.at(out.request, SELLER, expected),
            ApproveAfterSale(out.request.id, DecisionType.APPROVE_RETURN),
        )


def test_r1_never_received_cash_on_delivery_has_nothing_to_refund() -> None:
    shop = Shop(make_order(FulfilmentState.IN_TRANSIT, PaymentMethod.CASH_ON_DELIVERY))
    with pytest.raises(AfterSaleRefused) as refused:
        shop.ask(RO, at=SHIPPED + NOT_RECEIVED_AFTER)
    assert refused.value.code == "NOT_DELIVERED"


def test_r1_quantity_used_up() -> None:
    shop = Shop()
    with pytest.raises(AfterSaleRefused) as too_many:
        shop.ask(RR, {MUG: 3})
    assert too_many.value.code == "QUANTITY_USED_UP"

    first = shop.ask(RO, {MUG: 1}, "DAMAGED")
    shop.take(
        approve(
            shop.at(first.request, SELLER, ASKED),
            ApproveAfterSale(first.request.id, DecisionType.APPROVE_REFUND),
        )
    )
    with pytest.raises(AfterSaleRefused) as used:
        shop.ask(RR, {MUG: 2})
    assert used.value.code == "QUANTITY_USED_UP"
    assert used.value.line_ids == (MUG,)
    assert shop.ask(RR, {MUG: 1}).request.status is S.PENDING_SELLER


def test_r1_already_requested_while_a_request_is_open_on_the_line() -> None:
    shop = Shop()
    first = shop.ask(RR, {MUG: 1})
    with pytest.raises(AfterSaleRefused) as refused:
        shop.ask(RO, {MUG: 1}, "DAMAGED")
    assert refused.value.code == "ALREADY_REQUESTED"
    assert refused.value.existing_id == first.request.id
    # Another line is free, and a withdrawn request frees its line.
    assert shop.ask(RP, {COASTER: 1}).request.status is S.PENDING_SELLER
    shop.take(
        withdraw(shop.at(first.request, BUYER, ASKED + HOUR), WithdrawAfterSale(first.request.id))
    )
    assert shop.ask(RR, {MUG: 2}, at=ASKED + HOUR).request.status is S.PENDING_SELLER


def test_r1_eligibility_per_line_and_kind() -> None:
    shop = Shop()
    book = PolicyBook({"home": DEFAULT_POLICY})
    before = line_eligibility(shop.case(), book, ASKED)
    assert len(before) == 2 * len(AfterSaleKind)
    assert all(e.eligible and e.code is None for e in before)
    assert {e.available_quantity for e in before if e.line_id == MUG} == {2}

    shop.ask(RR, {MUG: 1})
    now = line_eligibility(shop.case(), book, ASKED)
    assert {(e.line_id, e.eligible, e.code) for e in now} == {
        (MUG, False, "ALREADY_REQUESTED"),
        (COASTER, True, None),
    }
    late = line_eligibility(shop.case(), book, DELIVERED + 15 * DAY)
    assert {e.code for e in late} == {"WINDOW_PASSED"}

    transit = make_order(FulfilmentState.IN_TRANSIT)
    codes = {
        e.kind: e.code
        for e in line_eligibility(Shop(transit).case(), book, SHIPPED + NOT_RECEIVED_AFTER)
        if e.line_id == MUG
    }
    assert codes == {RO: None, RR: "NOT_DELIVERED", RP: "NOT_DELIVERED"}


def test_r1_reason_comes_from_the_kinds_catalogue_and_note_is_bounded() -> None:
    with pytest.raises(ValidationFailed):
        Shop().ask(RP, reason="CHANGED_MIND")  # not a replacement reason
    with pytest.raises(ValidationFailed):
        Shop().ask(RR, note="x" * 501)
    assert Shop().ask(RR, note="x" * 500).request.note == "x" * 500
    with pytest.raises(InvalidTransition):
        request_by_buyer(
            Shop().case(),
            SELLER,
            RequestAfterSale(make_order().id, RR, chosen_lines({MUG: 1}), "DAMAGED"),
            Opening(DEFAULT_POLICY, ASKED, "as-x"),
        )


# --- R2 -------------------------------------------------------------------------------------


def test_r2_tabs_follow_status() -> None:
    assert set(TAB_OF_STATUS) == set(AfterSaleStatus)
    expected = {
        AfterSaleTab.TO_PROCEED: {S.PENDING_SELLER, S.APPEALED},
        AfterSaleTab.IN_PROCESS: {
            S.AWAITING_BUYER_RETURN,
            S.RETURN_IN_TRANSIT,
            S.AWAITING_REPLACEMENT_SHIPMENT,
            S.REPLACEMENT_SHIPPED,
            S.AWAITING_BUYER_RESPONSE,  # R12: the buyer answers an offer
        },
        AfterSaleTab.COMPLETED: {S.REFUNDED, S.REPLACED},
        AfterSaleTab.CLOSED: {
            S.REJECTED,
            S.CLOSED_FINAL,
            S.WITHDRAWN,
            S.DECIDED_FOR_SELLER,
            S.RETURN_EXPIRED,
        },
    }
    for tab, statuses in expected.items():
        assert {s for s, t in TAB_OF_STATUS.items() if t is tab} == statuses

    shop = Shop()
    r = shop.ask(RR).request
    assert r.tab is AfterSaleTab.TO_PROCEED
    r = shop.take(
        approve(shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN))
    )
    assert r.tab is AfterSaleTab.IN_PROCESS
    r = shop.take(ship_return(shop.at(r, BUYER, ASKED + HOUR), ShipReturn(r.id, "UPS", "1Z1")))
    assert r.tab is AfterSaleTab.IN_PROCESS
    r = shop.take(confirm_receipt(shop.at(r, SELLER, ASKED + DAY), ConfirmReturnReceived(r.id)))
    assert r.tab is AfterSaleTab.COMPLETED


def test_r2_every_open_status_says_who_acts_next() -> None:
    for status, tab in TAB_OF_STATUS.items():
        if tab in (AfterSaleTab.TO_PROCEED, AfterSaleTab.IN_PROCESS) or status is S.REJECTED:
            assert status in NEXT_ACTION_OF_STATUS
        else:
            assert status not in NEXT_ACTION_OF_STATUS
    assert {s: rule.on_expiry for s, rule in AFTER_SALE_DEADLINES.items()} == {
        S.PENDING_SELLER: AfterSaleAction.AUTO_APPROVE,
        S.AWAITING_BUYER_RETURN: AfterSaleAction.EXPIRE_RETURN,
        S.RETURN_IN_TRANSIT: AfterSaleAction.AUTO_CONFIRM_RECEIPT,
        S.REJECTED: AfterSaleAction.FINALIZE_REJECTION,
        S.AWAITING_BUYER_RESPONSE: AfterSaleAction.EXPIRE_OFFER,  # R12
        S.REPLACEMENT_SHIPPED: AfterSaleAction.ISSUE_REPLACEMENT_REFUND,  # P4
    }


# --- R3 -------------------------------------------------------------------------------------


def test_r3_seller_silence_approves() -> None:
    shop = Shop()
    r = shop.ask(RO, reason="DAMAGED").request
    respond_by = ASKED + DEFAULT_POLICY.seller_response_window
    assert r.deadline == respond_by
    assert r.next_action is not None
    assert (r.next_action.actor_kind, r.next_action.due_at) == (ActorKind.SELLER_AGENT, respond_by)

    with pytest.raises(DeadlineNotReached):
        auto_approve(shop.at(r, EXPIRY_WORKER, respond_by - MS))
    with pytest.raises(ResponseWindowClosed):
        approve(shop.at(r, SELLER, respond_by), ApproveAfterSale(r.id, DecisionType.APPROVE_REFUND))
    with pytest.raises(ResponseWindowClosed):
        reject(shop.at(r, SELLER, respond_by), RejectAfterSale(r.id, "NO_EVIDENCE"))
    with pytest.raises(InvalidTransition):
        auto_approve(shop.at(r, SELLER, respond_by))

    out = act_on_deadline(shop.at(r, EXPIRY_WORKER, respond_by))
    assert out.request.status is S.REFUNDED
    assert out.records[-1].action is AfterSaleAction.AUTO_APPROVE
    assert out.records[-1].deadline == respond_by
    assert out.records[-1].reason == "SELLER_RESPONSE_WINDOW_PASSED"
    assert paid_back(out) == usd(GRAND_MINOR)
    assert shop_notes(out)  # the seller hears what the platform did

    # A return request is approved as asked: the buyer must now ship the item back.
    shop2 = Shop()
    ret = shop2.ask(RR).request
    out2 = auto_approve(shop2.at(ret, EXPIRY_WORKER, respond_by + HOUR))
    assert out2.request.status is S.AWAITING_BUYER_RETURN
    assert out2.request.deadline == respond_by + HOUR + DEFAULT_POLICY.buyer_return_shipping_window


# --- R4 -------------------------------------------------------------------------------------


def test_r4_reject_needs_reason() -> None:
    shop = Shop()
    r = shop.ask(RR).request
    with pytest.raises(ValidationFailed):
        reject(shop.at(r, SELLER, ASKED), RejectAfterSale(r.id, "NOT_A_REASON"))
    with pytest.raises(ValidationFailed):
        reject(
            shop.at(r, SELLER, ASKED), RejectAfterSale(r.id, "OUT_OF_STOCK")
        )  # a replacement reason
    with pytest.raises(InvalidTransition):
        reject(shop.at(r, BUYER, ASKED), RejectAfterSale(r.id, "NO_EVIDENCE"))

    out = reject(shop.at(r, SELLER, ASKED + HOUR), RejectAfterSale(r.id, "NO_EVIDENCE"))
    assert out.request.status is S.REJECTED
    assert out.request.rejection is not None
    assert (out.request.rejection.reason, out.request.rejection.comment) == ("NO_EVIDENCE", None)
    assert out.request.deadline == ASKED + HOUR + DEFAULT_POLICY.appeal_window
    assert "appeal" in buyer_notes(out)[0].message

    with_comment = reject(
        shop.at(r, SELLER, ASKED), RejectAfterSale(r.id, "NO_EVIDENCE", "  no photo  ")
    )
    assert with_comment.records[-1].comment == "no photo"
    with pytest.raises(NotPending) as again:
        reject(
            shop.at(out.request, SELLER, ASKED + HOUR),
            RejectAfterSale(out.request.id, "NO_EVIDENCE"),
        )
    assert again.value.current_state == "REJECTED"


# --- R5 -------------------------------------------------------------------------------------


def test_r5_second_request_links_to_first_and_closes_its_rejection() -> None:
    shop = Shop()
    first = shop.ask(RR, {MUG: 2}).request
    first = shop.take(
        reject(shop.at(first, SELLER, ASKED + HOUR), RejectAfterSale(first.id, "NO_EVIDENCE"))
    )
    assert shop.ask(RR, {COASTER: 1}, at=ASKED + 2 * HOUR).superseded == ()

    out = shop.ask(RR, {MUG: 1}, at=ASKED + 3 * HOUR)
    assert out.request.follows_id == first.id
    assert [c.id for c in out.superseded] == [first.id]
    closed = shop.get(first)
    assert closed.status is S.CLOSED_FINAL
    assert closed.timeline[-1].action is AfterSaleAction.SUPERSEDE
    assert closed.timeline[-1].actor_kind is ActorKind.BUYER
    with pytest.raises(InvalidTransition):
        appeal(
            shop.at(closed, BUYER, ASKED + 4 * HOUR), AppealAfterSale(closed.id, "HAVE_EVIDENCE")
        )


def test_r5_second_rejection_allows_only_appeal() -> None:
    shop = Shop()
    first = shop.ask(RR, {MUG: 1}).request
    shop.take(
        reject(shop.at(first, SELLER, ASKED + HOUR), RejectAfterSale(first.id, "NO_EVIDENCE"))
    )
    second = shop.ask(RR, {MUG: 1}, at=ASKED + 2 * HOUR).request
    second = shop.take(
        reject(shop.at(second, SELLER, ASKED + 3 * HOUR), RejectAfterSale(second.id, "NO_EVIDENCE"))
    )

    with pytest.raises(AfterSaleRefused) as refused:
        shop.ask(RO, {COASTER: 1}, "DAMAGED", at=ASKED + 4 * HOUR)
    assert refused.value.code == "SECOND_REJECTION_ONLY_APPEAL"
    book = PolicyBook({})
    assert {e.code for e in line_eligibility(shop.case(), book, ASKED + 4 * HOUR)} == {
        "SECOND_REJECTION_ONLY_APPEAL"
    }
    out = appeal(
        shop.at(second, BUYER, ASKED + 4 * HOUR),
        AppealAfterSale(second.id, "HAVE_EVIDENCE", "photos attached"),
    )
    assert out.request.status is S.APPEALED
    assert out.request.tab is AfterSaleTab.TO_PROCEED
    assert out.request.next_action is not None
    assert out.request.next_action.actor_kind is ActorKind.PLATFORM


def test_r5_appeal_only_within_the_appeal_window() -> None:
    shop = Shop()
    r = shop.ask(RR).request
    r = shop.take(reject(shop.at(r, SELLER, ASKED), RejectAfterSale(r.id, "NO_EVIDENCE")))
    appeal_by = ASKED + DEFAULT_POLICY.appeal_window
    with pytest.raises(WindowClosed) as closed:
        appeal(shop.at(r, BUYER, appeal_by), AppealAfterSale(r.id, "HAVE_EVIDENCE"))
    assert closed.value.code == "APPEAL_WINDOW_CLOSED"
    with pytest.raises(DeadlineNotReached):
        finalize_rejection(shop.at(r, EXPIRY_WORKER, appeal_by - MS))
    out = act_on_deadline(shop.at(r, EXPIRY_WORKER, appeal_by))
    assert out.request.status is S.CLOSED_FINAL
    assert out.records[-1].deadline == appeal_by
    assert out.request.tab is AfterSaleTab.CLOSED


# --- R6 -------------------------------------------------------------------------------------


def _appealed(
    kind: AfterSaleKind, policy: CategoryPolicy = DEFAULT_POLICY
) -> tuple[Shop, AfterSaleRequest]:
    shop = Shop(policy=policy)
    r = shop.ask(kind, reason="DAMAGED").request
    reason = "NOT_ELIGIBLE" if kind is RP else "NO_EVIDENCE"
    r = shop.take(reject(shop.at(r, SELLER, ASKED + HOUR), RejectAfterSale(r.id, reason, "no")))
    r = shop.take(
        appeal(shop.at(r, BUYER, ASKED + 2 * HOUR), AppealAfterSale(r.id, "HAVE_EVIDENCE"))
    )
    return shop, r


def test_r6_appeal_decided_for_buyer_refunds() -> None:
    shop, r = _appealed(RO)
    with pytest.raises(InvalidTransition):
        decide_appeal(shop.at(r, SELLER, ASKED + DAY), DecideAppeal(r.id, True, "no"))
    with pytest.raises(ValidationFailed):
        decide_appeal(shop.at(r, PLATFORM, ASKED + DAY), DecideAppeal(r.id, True, "  "))
    out = decide_appeal(
        shop.at(r, PLATFORM, ASKED + DAY), DecideAppeal(r.id, True, "photos show damage")
    )
    assert out.request.status is S.REFUNDED
    assert paid_back(out) == usd(GRAND_MINOR)
    assert out.ledger is not None and out.ledger.refunded_total == usd(GRAND_MINOR)
    assert out.order.refunded == usd(GRAND_MINOR)
    assert out.request.appeal is not None and out.request.appeal.for_buyer is True
    assert out.records[-1].comment == "photos show damage"

    # A return goes ahead as a return: the buyer ships the item back, then the refund follows.
    shop2, r2 = _appealed(RR)
    out2 = decide_appeal(
        shop2.at(r2, PLATFORM, ASKED + DAY), DecideAppeal(r2.id, True, "for buyer")
    )
    assert out2.request.status is S.AWAITING_BUYER_RETURN


def test_r6_appeal_decided_for_seller_closes() -> None:
    shop, r = _appealed(RR)
    out = decide_appeal(
        shop.at(r, PLATFORM, ASKED + DAY), DecideAppeal(r.id, False, "no defect visible")
    )
    assert out.request.status is S.DECIDED_FOR_SELLER
    assert out.request.tab is AfterSaleTab.CLOSED
    assert out.request.resolved_at == ASKED + DAY
    assert out.request.next_action is None
    assert out.order.refunded is None
    assert {n.recipient for n in out.notifications} == {Recipient.BUYER, Recipient.SHOP}
    shop.take(out)
    with pytest.raises(AfterSaleRefused) as refused:  # the mediator's word settles those units
        shop.ask(RR, {MUG: 1}, at=ASKED + 2 * DAY)
    assert refused.value.code == "QUANTITY_USED_UP"


def test_r6_appeal_after_rejection_on_receipt_refunds_without_a_second_return() -> None:
    shop = Shop()
    r = shop.ask(RR).request
    r = shop.take(
        approve(shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN))
    )
    r = shop.take(ship_return(shop.at(r, BUYER, ASKED + HOUR), ShipReturn(r.id, "UPS", "1Z1")))
    r = shop.take(
        reject(shop.at(r, SELLER, ASKED + DAY), RejectReturnOnReceipt(r.id, "DAMAGED_BY_BUYER"))
    )
    r = shop.take(
        appeal(shop.at(r, BUYER, ASKED + 2 * DAY), AppealAfterSale(r.id, "RETURNED_AS_ASKED"))
    )
    out = decide_appeal(
        shop.at(r, PLATFORM, ASKED + 3 * DAY), DecideAppeal(r.id, True, "item was fine")
    )
    assert out.request.status is S.REFUNDED


# --- R7 -------------------------------------------------------------------------------------


def test_r7_partial_refund_never_above_refundable() -> None:
    shop = Shop()
    r = shop.ask(RR, {MUG: 1}).request
    partial = DecisionType.APPROVE_REFUND  # with an amount: paid at once (an offer is R12)
    with pytest.raises(RefundExceedsRefundable) as above:
        approve(
            shop.at(r, SELLER, ASKED),
            ApproveAfterSale(r.id, partial, ApprovalTerms(partial_amount=usd(2501))),
        )
    assert above.value.refundable == usd(2500)
    for bad in (usd(0), usd(-1), Money(100, "EUR")):
        with pytest.raises(RefundAmountInvalid):
            approve(
                shop.at(r, SELLER, ASKED),
                ApproveAfterSale(r.id, partial, ApprovalTerms(partial_amount=bad)),
            )
    out = approve(
        shop.at(r, SELLER, ASKED),
        ApproveAfterSale(r.id, partial, ApprovalTerms(partial_amount=usd(700))),
    )
    assert out.request.status is S.REFUNDED
    assert out.request.refund == RefundBreakdown(
        usd(700), usd(0), out.request.refund.lines if out.request.refund else ()
    )
    assert out.request.decision is not None and out.request.decision.buyer_keeps_item
    shop.take(out)
    # The mug line has 43.00 left; the other mug is worth 25.00, so a full refund of it pays 25.00.
    assert shop.ledger.refundable_line(shop.order, MUG) == usd(4300)
    assert refund_quote(shop.order, shop.ledger, {MUG: 1}).items == usd(2500)
    with pytest.raises(RefundExceedsRefundable):
        refund_quote(shop.order, shop.ledger, {MUG: 1}, usd(2501))


def test_r7_refunds_never_exceed_paid_across_requests_and_the_ledger_guards_it() -> None:
    shop = Shop()
    a = shop.ask(RO, {MUG: 1}, "DAMAGED").request
    shop.take(
        approve(shop.at(a, SELLER, ASKED), ApproveAfterSale(a.id, DecisionType.APPROVE_REFUND))
    )
    b = shop.ask(RO, {MUG: 1, COASTER: 1}, "DAMAGED").request
    last = approve(shop.at(b, SELLER, ASKED), ApproveAfterSale(b.id, DecisionType.APPROVE_REFUND))
    shop.take(last)
    assert paid_back(last) == usd(2500 + 1000 + SHIPPING_MINOR)  # the last refund carries shipping
    assert shop.ledger.refunded_total == usd(GRAND_MINOR)
    assert shop.order.payment_state is PaymentState.REFUNDED
    assert refund_quote(shop.order, shop.ledger, {MUG: 2, COASTER: 1}).total == usd(0)

    # Two refunds decided on the same (stale) ledger: the second is refused by the ledger itself.
    fresh = Shop()
    one = refund_quote(fresh.order, fresh.ledger, {MUG: 2})
    booked = fresh.ledger.with_refund(fresh.order, "x", one, ASKED)
    with pytest.raises(RefundExceedsPaid):
        booked.with_refund(fresh.order, "y", one, ASKED)


def test_r7_partial_amount_is_split_exactly_over_lines() -> None:
    order = make_order()
    ledger = RefundLedger.for_order(order)
    quote = refund_quote(order, ledger, {MUG: 2, COASTER: 1}, usd(1001))
    assert quote.items == usd(1001)
    assert quote.shipping == usd(0)
    assert sum(r.amount.minor for r in quote.lines) == 1001
    assert {r.line_id: r.amount for r in quote.lines} == {MUG: usd(834), COASTER: usd(167)}


def test_r7_quote_is_what_the_refund_pays() -> None:
    shop = Shop()
    r = shop.ask(RO, {MUG: 1, COASTER: 1}, "DAMAGED").request
    promised = quote_for_request(r, shop.order, shop.ledger)
    assert promised == refund_quote(shop.order, shop.ledger, {MUG: 1, COASTER: 1})
    assert (promised.items, promised.shipping) == (usd(3500), usd(0))
    out = approve(shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_REFUND))
    assert out.request.refund == promised
    assert quote_for_request(out.request, out.order, out.ledger or shop.ledger) == promised


def test_r7_a_cancellation_refund_counts_in_the_ledger() -> None:
    cancelled, refund = make_order(FulfilmentState.AWAITING_SHIPMENT).cancelled(PLACED + HOUR)
    ledger = RefundLedger.for_order(cancelled)
    assert refund == usd(GRAND_MINOR)
    assert ledger.refunded_total == usd(GRAND_MINOR)
    assert ledger.refunded_shipping == usd(SHIPPING_MINOR)
    assert ledger.refundable_total(cancelled) == usd(0)
    assert refund_quote(cancelled, ledger, {MUG: 2, COASTER: 1}).total == usd(0)
    with pytest.raises(RefundExceedsPaid):
        ledger.with_cancellation(cancelled, "can-2", usd(1))


def test_r7_buyer_keeps_item_skips_return_shipping() -> None:
    shop = Shop()
    r = shop.ask(RR, {MUG: 1}).request
    out = approve(
        shop.at(r, SELLER, ASKED),
        ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN, ApprovalTerms(buyer_keeps_item=True)),
    )
    assert out.request.status is S.REFUNDED
    assert out.request.return_shipment is None
    assert [rec.action for rec in out.request.timeline] == [
        AfterSaleAction.REQUEST,
        AfterSaleAction.APPROVE,
    ]
    assert paid_back(out) == usd(2500)

    without = approve(
        shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN)
    )
    assert without.request.status is S.AWAITING_BUYER_RETURN
    assert without.ledger is None


def test_r7_approve_subset_of_lines() -> None:
    shop = Shop()
    r = shop.ask(RO, {MUG: 2, COASTER: 1}, "DAMAGED").request
    for wrong in ({MUG: 3}, {"nope": 1}, {MUG: 0}, {}):
        with pytest.raises(ValidationFailed):
            approve(
                shop.at(r, SELLER, ASKED),
                ApproveAfterSale(
                    r.id, DecisionType.APPROVE_REFUND, ApprovalTerms(lines=chosen_lines(wrong))
                ),
            )
    out = approve(
        shop.at(r, SELLER, ASKED),
        ApproveAfterSale(
            r.id, DecisionType.APPROVE_REFUND, ApprovalTerms(lines=chosen_lines({MUG: 1}))
        ),
    )
    assert out.request.covered == {MUG: 1}
    assert paid_back(out) == usd(2500)
    shop.take(out)
    # What was not approved is free again: the buyer may ask about it.
    assert shop.ask(RR, {MUG: 1, COASTER: 1}).request.status is S.PENDING_SELLER


def test_r7_decision_must_fit_the_request() -> None:
    shop = Shop()
    r = shop.ask(RR, {MUG: 1}).request
    with pytest.raises(DecisionNotAllowed):
        approve(
            shop.at(r, SELLER, ASKED),
            ApproveAfterSale(
                r.id, DecisionType.APPROVE_REPLACEMENT, ApprovalTerms(reason="GOODWILL")
            ),
        )
    with pytest.raises(ValidationFailed):
        approve(
            shop.at(r, SELLER, ASKED),
            ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN, ApprovalTerms(reason="GOODWILL")),
        )
    # A replacement request is settled with money only by its own decision (P4).
    rp = shop.ask(RP, {COASTER: 1}).request
    for money in (DecisionType.APPROVE_REFUND, DecisionType.APPROVE_RETURN):
        with pytest.raises(DecisionNotAllowed):
            approve(shop.at(rp, SELLER, ASKED), ApproveAfterSale(rp.id, money))


# --- R8 -------------------------------------------------------------------------------------


def test_r8_return_completes_after_receipt() -> None:
    shop = Shop()
    r = shop.ask(RR, {MUG: 1}).request
    r = shop.take(
        approve(shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN))
    )
    ship_by = ASKED + DEFAULT_POLICY.buyer_return_shipping_window
    assert (r.status, r.deadline) == (S.AWAITING_BUYER_RETURN, ship_by)
    assert r.next_action is not None and r.next_action.action == "SHIP_RETURN"
    assert r.refund is None and shop.ledger.refunded_total == usd(0)
    with pytest.raises(ValidationFailed):
        ship_return(shop.at(r, BUYER, ASKED + HOUR), ShipReturn(r.id, "UPS", "  "))
    with pytest.raises(InvalidTransition):
        confirm_receipt(shop.at(r, SELLER, ASKED + HOUR), ConfirmReturnReceived(r.id))

    r = shop.take(ship_return(shop.at(r, BUYER, ASKED + HOUR), ShipReturn(r.id, "UPS", "1Z999")))
    confirm_by = ASKED + HOUR + DEFAULT_POLICY.seller_receipt_window
    assert (r.status, r.deadline) == (S.RETURN_IN_TRANSIT, confirm_by)
    assert r.return_shipment is not None and r.return_shipment.tracking_number == "1Z999"

    out = confirm_receipt(shop.at(r, SELLER, ASKED + 2 * DAY), ConfirmReturnReceived(r.id))
    assert out.request.status is S.REFUNDED
    assert paid_back(out) == usd(2500)
    assert out.request.return_shipment is not None
    assert out.request.return_shipment.received_at == ASKED + 2 * DAY
    assert out.request.resolved_at == ASKED + 2 * DAY


def test_r8_deadlines_of_return_shipping() -> None:
    shop = Shop()
    r = shop.ask(RR).request
    r = shop.take(
        approve(shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN))
    )
    with pytest.raises(WindowClosed) as late:
        ship_return(shop.at(r, BUYER, r.deadline or ASKED), ShipReturn(r.id, "UPS", "1Z"))
    assert late.value.code == "RETURN_SHIPPING_WINDOW_CLOSED"
    expired = expire_return(shop.at(r, EXPIRY_WORKER, r.deadline or ASKED))
    assert expired.request.status is S.RETURN_EXPIRED
    assert expired.request.tab is AfterSaleTab.CLOSED

    shipped = ship_return(shop.at(r, BUYER, ASKED + HOUR), ShipReturn(r.id, "UPS", "1Z")).request
    confirm_by = shipped.deadline or ASKED
    with pytest.raises(WindowClosed):
        confirm_receipt(shop.at(shipped, SELLER, confirm_by), ConfirmReturnReceived(shipped.id))
    auto = auto_confirm_receipt(shop.at(shipped, EXPIRY_WORKER, confirm_by))
    assert auto.request.status is S.REFUNDED
    assert auto.records[-1].deadline == confirm_by
    assert paid_back(auto) == usd(GRAND_MINOR)


def test_r8_reject_on_receipt_is_appealable() -> None:
    shop = Shop()
    r = shop.ask(RR).request
    r = shop.take(
        approve(shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN))
    )
    r = shop.take(ship_return(shop.at(r, BUYER, ASKED + HOUR), ShipReturn(r.id, "UPS", "1Z")))
    with pytest.raises(ValidationFailed):
        reject(shop.at(r, SELLER, ASKED + DAY), RejectReturnOnReceipt(r.id, "NO_EVIDENCE"))
    out = reject(
        shop.at(r, SELLER, ASKED + DAY),
        RejectReturnOnReceipt(r.id, "WRONG_ITEM_RETURNED", "a sock"),
    )
    assert out.request.status is S.REJECTED
    assert out.request.rejection is not None and out.request.rejection.on_receipt
    assert out.request.deadline == ASKED + DAY + DEFAULT_POLICY.appeal_window
    assert out.request.seller_rejections == 1


# --- R9, R10 --------------------------------------------------------------------------------


def test_r9_seller_initiated_refund_needs_no_request() -> None:
    shop = Shop()
    adjusted = RefundOrder(
        shop.order.id, "PRICING_ERROR", "overcharged", chosen_lines({MUG: 2}), usd(500)
    )
    out = refund_without_request(
        AfterSalesCase(shop.order, shop.ledger, []),
        SELLER,
        adjusted,
        Opening(DEFAULT_POLICY, ASKED, "as-9"),
    )
    assert out.request.status is S.REFUNDED
    assert out.request.initiator is Initiator.SELLER
    assert out.request.timeline[0].from_status is None
    assert out.records[-1].action is AfterSaleAction.SELLER_REFUND
    assert paid_back(out) == usd(500)
    assert buyer_notes(out)
    shop.take(out)
    # A price adjustment leaves the units returnable, for what is still refundable.
    assert shop.ask(RR, {MUG: 2}).request.status is S.PENDING_SELLER

    with pytest.raises(ValidationFailed):
        refund_without_request(
            AfterSalesCase(shop.order, shop.ledger, []),
            SELLER,
            RefundOrder(shop.order.id, "CHANGED_MIND", None),
            Opening(DEFAULT_POLICY, ASKED, "x"),
        )
    with pytest.raises(InvalidTransition):
        refund_without_request(
            AfterSalesCase(shop.order, shop.ledger, []),
            BUYER,
            RefundOrder(shop.order.id, "PRICING_ERROR", None),
            Opening(DEFAULT_POLICY, ASKED, "x"),
        )
    waiting = Shop(make_order(FulfilmentState.AWAITING_SHIPMENT))
    with pytest.raises(AfterSaleRefused) as refused:
        refund_without_request(
            AfterSalesCase(waiting.order, waiting.ledger, []),
            SELLER,
            RefundOrder(waiting.order.id, "INVENTORY_SHORTAGE", None),
            Opening(DEFAULT_POLICY, ASKED, "x"),
        )
    assert refused.value.code == "NOT_SHIPPED"
    with pytest.raises(AfterSaleRefused) as open_:
        refund_without_request(
            shop.case(),
            SELLER,
            RefundOrder(shop.order.id, "PRICING_ERROR", None, lines=chosen_lines({MUG: 1})),
            Opening(DEFAULT_POLICY, ASKED, "x"),
        )
    assert open_.value.code == "ALREADY_REQUESTED"


def test_r9_full_seller_refund_takes_everything_left() -> None:
    shop = Shop()
    out = refund_without_request(
        AfterSalesCase(shop.order, shop.ledger, []),
        SELLER,
        RefundOrder(shop.order.id, "LOGISTICS_PROBLEM", None),
        Opening(DEFAULT_POLICY, ASKED, "as-1"),
    )
    assert paid_back(out) == usd(GRAND_MINOR)
    shop.take(out)
    with pytest.raises(AfterSaleRefused) as refused:
        refund_without_request(
            shop.case(),
            SELLER,
            RefundOrder(shop.order.id, "LOGISTICS_PROBLEM", None),
            Opening(DEFAULT_POLICY, ASKED, "as-2"),
        )
    assert refused.value.code == "QUANTITY_USED_UP"


def test_r10_instant_refund_category_completes_without_seller() -> None:
    instant = CategoryPolicy(instant_refund=True)
    shop = Shop(policy=instant)
    out = shop.ask(RO, {COASTER: 1}, "DAMAGED")
    assert out.request.status is S.REFUNDED
    assert [(r.action, r.actor_kind) for r in out.records] == [
        (AfterSaleAction.REQUEST, ActorKind.BUYER),
        (AfterSaleAction.INSTANT_REFUND, ActorKind.PLATFORM),
    ]
    assert out.records[1].reason == "INSTANT_REFUND_CATEGORY"
    assert ActorKind.SELLER_AGENT not in {r.actor_kind for r in out.request.timeline}
    assert paid_back(out) == usd(1000)
    assert shop_notes(out)  # the seller sees the final state
    # Only a refund only is instant; a return still goes to the seller.
    assert shop.ask(RR, {MUG: 1}).request.status is S.PENDING_SELLER


def test_r10_platform_refund_without_the_seller() -> None:
    shop = Shop()
    out = refund_without_request(
        AfterSalesCase(shop.order, shop.ledger, []),
        PLATFORM,
        PlatformRefund(shop.order.id, "POLICY_VIOLATION", None),
        Opening(DEFAULT_POLICY, ASKED, "as-1"),
    )
    assert out.request.status is S.REFUNDED
    assert out.request.initiator is Initiator.PLATFORM
    assert paid_back(out) == usd(GRAND_MINOR)
    assert {n.recipient for n in out.notifications} == {Recipient.BUYER, Recipient.SHOP}
    with pytest.raises(InvalidTransition):
        refund_without_request(
            AfterSalesCase(shop.order, shop.ledger, []),
            SELLER,
            PlatformRefund(shop.order.id, "POLICY_VIOLATION", None),
            Opening(DEFAULT_POLICY, ASKED, "x"),
        )


# --- R11 ------------------------------------------------------------------------------------


def _check_timeline(r: AfterSaleRequest) -> None:
    previous = None
    for record in r.timeline:
        edge = TRANSITIONS.step(record.action, record.from_status, record.to_status)
        assert edge is not None, record
        assert record.actor_kind in edge.actors
        assert r.kind in edge.kinds
        assert record.from_status is previous
        assert record.actor_id
        previous = record.to_status
    assert previous is r.status


def test_r11_every_transition_records_who_and_why() -> None:
    policy = CategoryPolicy(replacement_needs_item_back=True)
    shop = Shop(policy=policy)
    r = shop.ask(RP, {MUG: 1}, "DEFECTIVE", note="cracked").request
    r = shop.take(
        reject(
            shop.at(r, SELLER, ASKED + HOUR), RejectAfterSale(r.id, "NO_DEFECT_FOUND", "looks fine")
        )
    )
    r = shop.take(
        appeal(shop.at(r, BUYER, ASKED + 2 * HOUR), AppealAfterSale(r.id, "HAVE_EVIDENCE", "video"))
    )
    r = shop.take(
        decide_appeal(
            shop.at(r, PLATFORM, ASKED + DAY), DecideAppeal(r.id, True, "video shows crack")
        )
    )
    r = shop.take(
        ship_return(shop.at(r, BUYER, ASKED + 2 * DAY), ShipReturn(r.id, "DHL", "JD0001"))
    )
    r = shop.take(confirm_receipt(shop.at(r, SELLER, ASKED + 3 * DAY), ConfirmReturnReceived(r.id)))
    r = shop.take(
        ship_replacement(
            shop.at(r, SELLER, ASKED + 4 * DAY), ShipReplacement(r.id, "DHL", "JD0002")
        )
    )
    r = shop.take(
        replacement_delivered(
            shop.at(r, PLATFORM, ASKED + 6 * DAY), RecordReplacementDelivered(r.id)
        )
    )

    assert r.status is S.REPLACED
    assert r.tab is AfterSaleTab.COMPLETED
    _check_timeline(r)
    got = [(x.action, x.actor_kind, x.actor_id, x.reason, x.comment) for x in r.timeline]
    assert got == [
        (AfterSaleAction.REQUEST, ActorKind.BUYER, "buyer-1", "DEFECTIVE", "cracked"),
        (
            AfterSaleAction.REJECT,
            ActorKind.SELLER_AGENT,
            "agent-7",
            "NO_DEFECT_FOUND",
            "looks fine",
        ),
        (AfterSaleAction.APPEAL, ActorKind.BUYER, "buyer-1", "HAVE_EVIDENCE", "video"),
        (
            AfterSaleAction.DECIDE_FOR_BUYER,
            ActorKind.PLATFORM,
            "ops-1",
            "APPEAL_DECIDED_FOR_BUYER",
            "video shows crack",
        ),
        (AfterSaleAction.SHIP_RETURN, ActorKind.BUYER, "buyer-1", None, "DHL JD0001"),
        (AfterSaleAction.CONFIRM_RECEIPT, ActorKind.SELLER_AGENT, "agent-7", None, None),
        (AfterSaleAction.SHIP_REPLACEMENT, ActorKind.SELLER_AGENT, "agent-7", None, "DHL JD0002"),
        (
            AfterSaleAction.CONFIRM_REPLACEMENT_DELIVERED,
            ActorKind.PLATFORM,
            "ops-1",
            "REPLACEMENT_DELIVERED",
            None,
        ),
    ]
    assert [x.at for x in r.timeline] == sorted(x.at for x in r.timeline)
    assert r.refund is None and shop.ledger.refunded_total == usd(0)


def test_r11_a_refused_action_names_the_state_and_changes_nothing() -> None:
    shop = Shop()
    r = shop.ask(RO, reason="DAMAGED").request
    before = repr(r)
    with pytest.raises(InvalidTransition) as wrong:
        ship_return(shop.at(r, BUYER, ASKED), ShipReturn(r.id, "UPS", "1Z"))
    assert wrong.value.current_state == "PENDING_SELLER"
    with pytest.raises(InvalidTransition):
        ship_replacement(shop.at(r, SELLER, ASKED), ShipReplacement(r.id, "UPS", "1Z"))
    with pytest.raises(InvalidTransition):
        act_on_deadline(shop.at(replace(r, status=S.REFUNDED), EXPIRY_WORKER, ASKED))
    assert repr(r) == before
    assert len(TRANSITIONS.steps) == len({(t.action, t.source, t.target) for t in TRANSITIONS})


# --- P1-P3 ----------------------------------------------------------------------------------


def test_p1_replacement_within_window() -> None:
    end = DELIVERED + DEFAULT_POLICY.return_refund_window
    assert Shop().ask(RP, {MUG: 1}, "WRONG_ITEM", at=end - MS).request.status is S.PENDING_SELLER
    with pytest.raises(AfterSaleRefused) as late:
        Shop().ask(RP, {MUG: 1}, "WRONG_ITEM", at=end)
    assert late.value.code == "WINDOW_PASSED"
    assert set(profile_of(RP).request_reasons) == {"DAMAGED", "DEFECTIVE", "WRONG_ITEM"}


def test_p2_replacement_needs_item_back_by_policy() -> None:
    back = Shop(policy=CategoryPolicy(replacement_needs_item_back=True))
    r = back.ask(RP, {MUG: 1}).request
    with pytest.raises(ValidationFailed):  # P2: approving needs a reason type
        approve(back.at(r, SELLER, ASKED), ApproveAfterSale(r.id, DecisionType.APPROVE_REPLACEMENT))
    out = approve(
        back.at(r, SELLER, ASKED),
        ApproveAfterSale(
            r.id, DecisionType.APPROVE_REPLACEMENT, ApprovalTerms(reason="DEFECT_CONFIRMED")
        ),
    )
    assert out.request.status is S.AWAITING_BUYER_RETURN
    assert out.request.decision is not None and out.request.decision.reason == "DEFECT_CONFIRMED"
    r = back.take(out)
    with pytest.raises(InvalidTransition):
        ship_replacement(back.at(r, SELLER, ASKED + HOUR), ShipReplacement(r.id, "UPS", "1Z"))
    r = back.take(ship_return(back.at(r, BUYER, ASKED + HOUR), ShipReturn(r.id, "UPS", "1Z")))
    r = back.take(confirm_receipt(back.at(r, SELLER, ASKED + DAY), ConfirmReturnReceived(r.id)))
    assert r.status is S.AWAITING_REPLACEMENT_SHIPMENT
    assert quote_for_request(r, back.order, back.ledger).total == usd(0)

    keep = Shop(policy=CategoryPolicy(replacement_needs_item_back=False))
    r2 = keep.ask(RP, {MUG: 1}).request
    out2 = approve(
        keep.at(r2, SELLER, ASKED),
        ApproveAfterSale(r2.id, DecisionType.APPROVE_REPLACEMENT, ApprovalTerms(reason="GOODWILL")),
    )
    assert out2.request.status is S.AWAITING_REPLACEMENT_SHIPMENT
    assert out2.request.next_action is not None
    assert out2.request.next_action.action == "SHIP_REPLACEMENT"
    # Silence approves a replacement by the same policy.
    silent = auto_approve(keep.at(r2, EXPIRY_WORKER, ASKED + 48 * HOUR))
    assert silent.request.status is S.AWAITING_REPLACEMENT_SHIPMENT


def test_p3_reject_replacement_with_reason() -> None:
    shop = Shop()
    r = shop.ask(RP, {MUG: 1}).request
    with pytest.raises(ValidationFailed):
        reject(
            shop.at(r, SELLER, ASKED), RejectAfterSale(r.id, "OUT_OF_STOCK")
        )  # P3: a comment too
    with pytest.raises(ValidationFailed):
        reject(
            shop.at(r, SELLER, ASKED), RejectAfterSale(r.id, "NO_EVIDENCE", "x")
        )  # a refund reason
    out = reject(shop.at(r, SELLER, ASKED), RejectAfterSale(r.id, "OUT_OF_STOCK", "back in May"))
    assert out.request.status is S.REJECTED
    assert (out.records[-1].reason, out.records[-1].comment) == ("OUT_OF_STOCK", "back in May")
    assert set(profile_of(RP).reject_reasons) != set(profile_of(RR).reject_reasons)


# --- Y1 -------------------------------------------------------------------------------------


def test_y1_windows_come_from_the_policy_the_request_was_opened_under() -> None:
    short = CategoryPolicy(
        seller_response_window=2 * HOUR,
        return_refund_window=3 * DAY,
        buyer_return_shipping_window=DAY,
        seller_receipt_window=2 * DAY,
        appeal_window=5 * HOUR,
    )
    shop = Shop(policy=short)
    with pytest.raises(AfterSaleRefused):
        shop.ask(RR, at=DELIVERED + 3 * DAY)
    r = shop.ask(RR, {MUG: 1}).request
    assert r.policy == short
    assert r.deadline == ASKED + 2 * HOUR
    # The category's policy changes later; the request keeps the one it was opened under.
    r = shop.take(
        approve(
            shop.at(r, SELLER, ASKED + HOUR), ApproveAfterSale(r.id, DecisionType.APPROVE_RETURN)
        )
    )
    assert r.deadline == ASKED + HOUR + DAY
    r = shop.take(ship_return(shop.at(r, BUYER, ASKED + 2 * HOUR), ShipReturn(r.id, "UPS", "1Z")))
    assert r.deadline == ASKED + 2 * HOUR + 2 * DAY
    r = shop.take(
        reject(shop.at(r, SELLER, ASKED + DAY), RejectReturnOnReceipt(r.id, "PARTS_MISSING"))
    )
    assert r.deadline == ASKED + DAY + 5 * HOUR

    other = shop.ask(RR, {COASTER: 1}, policy=DEFAULT_POLICY).request
    assert other.deadline == ASKED + DEFAULT_POLICY.seller_response_window

    book = PolicyBook({"home": short})
    ends = {e.window_ends_at for e in line_eligibility(Shop().case(), book, ASKED)}
    assert ends == {DELIVERED + 3 * DAY}
    assert all(profile_of(k).reject_reasons for k in AfterSaleKind)

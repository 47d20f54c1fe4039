"""R12 (partial-refund offers) and P4 (replacement orders, refund instead), decided without I/O."""

from __future__ import annotations

import pytest

from models.actors import EXPIRY_WORKER
from models.after_sale_decisions import MAX_OFFERS, answer_offer, approve, offer_partial_refund
from models.after_sale_requests import OfferAnswer, Step
from models.after_sale_shipping import follow_replacement_order, issue_replacement_refund
from models.after_sales import act_on_deadline
from models.after_sales_case import quote_for_request
from models.after_sales_errors import (
    DeadlineNotReached,
    DecisionNotAllowed,
    RefundAmountInvalid,
    RefundExceedsRefundable,
    WindowClosed,
)
from models.after_sales_machine import TRANSITIONS, AfterSaleAction, AfterSaleTab, DecisionType
from models.cancellations import buyer_eligibility
from models.cancellations import request_by_buyer as cancellation_by_buyer
from models.commands import (
    AnswerOffer,
    ApprovalTerms,
    ApproveAfterSale,
    IssueReplacementRefund,
    OfferPartialRefund,
    RequestCancellation,
)
from models.errors import InvalidTransition, ValidationFailed
from models.orders import FulfilmentState, PaymentState
from models.policy import DAY, DEFAULT_POLICY, HOUR, CategoryPolicy
from models.requests import Opening
from tests.unit.cancellation_steps import on_order
from tests.unit.test_after_sales_rules import (
    ASKED,
    BUYER,
    COASTER,
    MS,
    MUG,
    PLATFORM,
    RO,
    RP,
    RR,
    SELLER,
    S,
    Shop,
    buyer_notes,
    shop_notes,
    usd,
)

A = AfterSaleAction
OFFERED = ASKED + HOUR


def offered(shop: Shop, amount: int = 700, kind=RR, at=OFFERED):  # type: ignore[no-untyped-def]
    r = shop.ask(kind, {MUG: 1}).request
    out = offer_partial_refund(shop.at(r, SELLER, at), OfferPartialRefund(r.id, usd(amount)))
    return shop.take(out), out


def _follows_the_table(r) -> None:  # type: ignore[no-untyped-def]
    previous = None
    for record in r.timeline:
        edge = TRANSITIONS.step(record.action, record.from_status, record.to_status)
        assert edge is not None, record
        assert record.actor_kind in edge.actors and r.kind in edge.kinds
        assert record.from_status is previous
        previous = record.to_status
    assert previous is r.status


# --- R12 ------------------------------------------------------------------------------------


def test_r12_an_offer_waits_for_the_buyer_with_the_policys_deadline() -> None:
    shop = Shop()
    r, out = offered(shop)
    assert (r.status, r.tab) == (S.AWAITING_BUYER_RESPONSE, AfterSaleTab.IN_PROCESS)
    respond_by = OFFERED + DEFAULT_POLICY.offer_response_window
    assert r.deadline == respond_by
    assert r.offer is not None and (r.offer.amount, r.offer.answer) == (usd(700), None)
    assert r.next_action is not None
    assert (r.next_action.actor_kind.value, r.next_action.action) == (
        "BUYER",
        "ACCEPT_OR_DECLINE_OFFER",
    )
    assert out.ledger is None and shop.ledger.refunded_total == usd(0)  # nothing paid yet
    assert quote_for_request(r, shop.order, shop.ledger).total == usd(700)  # what accepting pays
    [note] = buyer_notes(out)
    assert "7.00" in note.message
    _follows_the_table(r)


def test_r12_buyer_accepts_the_offer() -> None:
    shop = Shop()
    r, _ = offered(shop)
    out = answer_offer(shop.at(r, BUYER, OFFERED + HOUR), AnswerOffer(r.id, True))
    r = shop.take(out)
    assert (r.status, r.tab) == (S.REFUNDED, AfterSaleTab.COMPLETED)
    assert r.refund is not None and r.refund.total == usd(700)
    assert shop.ledger.refunded_total == usd(700)  # through the ledger, as any refund
    assert r.decision is not None and r.decision.buyer_keeps_item
    assert r.decision.type is DecisionType.OFFER_PARTIAL_REFUND
    assert r.offer is not None and r.offer.answer is OfferAnswer.ACCEPTED
    assert r.resolved_at == OFFERED + HOUR and r.deadline is None
    assert shop_notes(out) and buyer_notes(out)
    _follows_the_table(r)


def test_r12_buyer_declines_the_offer() -> None:
    shop = Shop()
    r, _ = offered(shop)
    declined_at = OFFERED + HOUR
    r = shop.take(answer_offer(shop.at(r, BUYER, declined_at), AnswerOffer(r.id, False)))
    assert (r.status, r.tab) == (S.PENDING_SELLER, AfterSaleTab.TO_PROCEED)
    assert r.deadline == declined_at + DEFAULT_POLICY.seller_response_window
    assert r.offer is not None and r.offer.answer is OfferAnswer.DECLINED
    assert shop.ledger.refunded_total == usd(0)
    # The seller decides again: another offer, a full approval or a rejection.
    again = offer_partial_refund(
        shop.at(r, SELLER, declined_at + HOUR), OfferPartialRefund(r.id, usd(1500))
    )
    assert again.request.status is S.AWAITING_BUYER_RESPONSE
    full = approve(
        shop.at(r, SELLER, declined_at + HOUR), ApproveAfterSale(r.id, DecisionType.APPROVE_REFUND)
    )
    assert full.request.refund is not None and full.request.refund.total == usd(2500)
    _follows_the_table(full.request)


def test_r12_the_offer_is_exact_money_at_most_what_is_refundable() -> None:
    shop = Shop()
    r = shop.ask(RR, {MUG: 1}).request
    with pytest.raises(RefundExceedsRefundable) as above:
        offer_partial_refund(shop.at(r, SELLER, OFFERED), OfferPartialRefund(r.id, usd(2501)))
    assert above.value.refundable == usd(2500)
    for bad in (usd(0), usd(-5)):
        with pytest.raises(RefundAmountInvalid):
            offer_partial_refund(shop.at(r, SELLER, OFFERED), OfferPartialRefund(r.id, bad))
    with pytest.raises(ValidationFailed):
        offer_partial_refund(shop.at(r, SELLER, OFFERED), OfferPartialRefund(r.id, None))
    whole = offer_partial_refund(shop.at(r, SELLER, OFFERED), OfferPartialRefund(r.id, usd(2500)))
    assert whole.request.status is S.AWAITING_BUYER_RESPONSE


def test_r12_at_most_two_offers_then_the_seller_approves_or_rejects() -> None:
    shop = Shop()
    r, _ = offered(shop)
    now = OFFERED
    for _ in range(MAX_OFFERS - 1):
        now += HOUR
        r = shop.take(answer_offer(shop.at(r, BUYER, now), AnswerOffer(r.id, False)))
        r = shop.take(
            offer_partial_refund(shop.at(r, SELLER, now), OfferPartialRefund(r.id, usd(900)))
        )
    r = shop.take(answer_offer(shop.at(r, BUYER, now + HOUR), AnswerOffer(r.id, False)))
    with pytest.raises(DecisionNotAllowed):
        offer_partial_refund(
            shop.at(r, SELLER, now + 2 * HOUR), OfferPartialRefund(r.id, usd(1000))
        )
    assert r.offers_made == MAX_OFFERS


def test_r12_buyer_silence_declines_by_default() -> None:
    shop = Shop()
    r, _ = offered(shop)
    due = r.deadline
    assert due is not None
    with pytest.raises(DeadlineNotReached):
        act_on_deadline(shop.at(r, EXPIRY_WORKER, due - MS))
    with pytest.raises(WindowClosed) as late:
        answer_offer(shop.at(r, BUYER, due), AnswerOffer(r.id, True))
    assert late.value.code == "OFFER_WINDOW_CLOSED"
    r = shop.take(act_on_deadline(shop.at(r, EXPIRY_WORKER, due)))
    assert r.status is S.PENDING_SELLER
    assert r.offer is not None and r.offer.answer is OfferAnswer.DECLINED_BY_SILENCE
    last = r.timeline[-1]
    assert (last.action, last.reason, last.deadline) == (
        A.EXPIRE_OFFER,
        "BUYER_OFFER_WINDOW_PASSED",
        due,
    )
    assert shop.ledger.refunded_total == usd(0)


def test_r12_buyer_silence_accepts_where_the_policy_says_so() -> None:
    shop = Shop(policy=CategoryPolicy(offer_silence_accepts=True, offer_response_window=DAY))
    r, _ = offered(shop)
    assert r.deadline == OFFERED + DAY
    r = shop.take(act_on_deadline(shop.at(r, EXPIRY_WORKER, OFFERED + DAY)))
    assert r.status is S.REFUNDED and r.refund is not None and r.refund.total == usd(700)
    assert r.offer is not None and r.offer.answer is OfferAnswer.ACCEPTED_BY_SILENCE
    assert shop.ledger.refunded_total == usd(700)
    _follows_the_table(r)


def test_r12_only_the_buyer_answers_and_only_an_offer() -> None:
    shop = Shop()
    r, _ = offered(shop)
    with pytest.raises(InvalidTransition):
        answer_offer(shop.at(r, SELLER, OFFERED + HOUR), AnswerOffer(r.id, True))
    pending = shop.ask(RO, {COASTER: 1}, "DAMAGED").request
    with pytest.raises(InvalidTransition):
        answer_offer(shop.at(pending, BUYER, OFFERED), AnswerOffer(pending.id, True))
    # An offer is its own step: approve does not take it, and a replacement gets no offer.
    with pytest.raises(DecisionNotAllowed):
        approve(
            shop.at(pending, SELLER, OFFERED),
            ApproveAfterSale(
                pending.id,
                DecisionType.OFFER_PARTIAL_REFUND,
                ApprovalTerms(partial_amount=usd(100)),
            ),
        )
    replacement = Shop().ask(RP, {MUG: 1}).request
    with pytest.raises(InvalidTransition):
        offer_partial_refund(
            Step(replacement, Shop().order, Shop().ledger, SELLER, OFFERED),
            OfferPartialRefund(replacement.id, usd(100)),
        )


# --- P4 -------------------------------------------------------------------------------------


def approved_replacement(shop: Shop):  # type: ignore[no-untyped-def]
    r = shop.ask(RP, {MUG: 1}, "DEFECTIVE").request
    out = approve(
        shop.at(r, SELLER, ASKED + HOUR),
        ApproveAfterSale(
            r.id,
            DecisionType.APPROVE_REPLACEMENT,
            ApprovalTerms(buyer_keeps_item=True, reason="DEFECT_CONFIRMED"),
        ),
    )
    return shop.take(out), out


def test_p4_an_approved_replacement_places_a_linked_replacement_order() -> None:
    shop = Shop()
    r, out = approved_replacement(shop)
    assert r.status is S.AWAITING_REPLACEMENT_SHIPMENT
    [placed] = out.new_orders
    assert r.replacement_order_id == placed.id == f"{shop.order.id}-R1"
    assert (placed.replacement_of, placed.replacement_request_id) == (shop.order.id, r.id)
    assert shop.order.replacement_order_ids == (placed.id,)
    assert placed.fulfilment_state is FulfilmentState.AWAITING_SHIPMENT
    assert [(x.line_id, x.quantity) for x in placed.lines] == [(MUG, 1)]
    assert placed.grand_total == usd(0) and placed.payment_state is PaymentState.PAID


def test_p4_replacement_delivered_closes_the_request() -> None:
    shop = Shop()
    r, out = approved_replacement(shop)
    [placed] = out.new_orders
    assert follow_replacement_order(shop.at(r, PLATFORM, ASKED + DAY, placed)) is None
    handed = placed.handed_to_carrier(ASKED + DAY, "UPS", "1Z1")
    r = shop.take(follow_replacement_order(shop.at(r, PLATFORM, ASKED + DAY, handed)))
    assert r.status is S.REPLACEMENT_SHIPPED
    assert r.deadline == ASKED + DAY + DEFAULT_POLICY.replacement_delivery_window
    assert r.replacement_shipment is not None and r.replacement_shipment.carrier == "UPS"
    delivered = handed.delivered(ASKED + 3 * DAY)
    r = shop.take(follow_replacement_order(shop.at(r, PLATFORM, ASKED + 3 * DAY, delivered)))
    assert (r.status, r.tab, r.deadline) == (S.REPLACED, AfterSaleTab.COMPLETED, None)
    _follows_the_table(r)


def test_p4_delivered_without_a_shipping_update_ships_then_replaces() -> None:
    shop = Shop()
    r, out = approved_replacement(shop)
    [placed] = out.new_orders
    delivered = placed.handed_to_carrier(ASKED + DAY, "UPS", "1Z1").delivered(ASKED + 2 * DAY)
    step = follow_replacement_order(shop.at(r, PLATFORM, ASKED + 2 * DAY, delivered))
    assert step is not None
    assert [x.action for x in step.records] == [A.SHIP_REPLACEMENT, A.CONFIRM_REPLACEMENT_DELIVERED]
    assert step.request.status is S.REPLACED
    _follows_the_table(step.request)


def test_p4_a_shipped_replacement_not_delivered_in_time_is_refunded_instead() -> None:
    shop = Shop()
    r, out = approved_replacement(shop)
    [placed] = out.new_orders
    handed = placed.handed_to_carrier(ASKED + DAY, "UPS", "1Z1")
    r = shop.take(follow_replacement_order(shop.at(r, PLATFORM, ASKED + DAY, handed)))
    due = r.deadline
    assert due is not None
    with pytest.raises(DeadlineNotReached):
        act_on_deadline(shop.at(r, EXPIRY_WORKER, due - MS))
    r = shop.take(act_on_deadline(shop.at(r, EXPIRY_WORKER, due)))
    assert r.status is S.REFUNDED and r.refund is not None and r.refund.total == usd(2500)
    assert (r.timeline[-1].action, r.timeline[-1].reason) == (
        A.ISSUE_REPLACEMENT_REFUND,
        "REPLACEMENT_NOT_DELIVERED",
    )
    assert shop.ledger.refunded_total == usd(2500)
    _follows_the_table(r)


def test_p4_refund_instead() -> None:
    # Before approving: the asked lines are refunded in full, the buyer keeps the item.
    shop = Shop()
    r = shop.ask(RP, {MUG: 1}, "DEFECTIVE").request
    out = issue_replacement_refund(
        shop.at(r, SELLER, ASKED), IssueReplacementRefund(r.id, "out of stock")
    )
    r = shop.take(out)
    assert r.status is S.REFUNDED and r.refund is not None and r.refund.total == usd(2500)
    assert r.decision is not None
    assert r.decision.type is DecisionType.ISSUE_REPLACEMENT_REFUND
    assert shop.ledger.refunded_total == usd(2500)
    _follows_the_table(r)
    # After approving: the unshipped replacement order is cancelled with it.
    shop = Shop()
    r, approved = approved_replacement(shop)
    [placed] = approved.new_orders
    out = issue_replacement_refund(
        shop.at(r, SELLER, ASKED + DAY, placed), IssueReplacementRefund(r.id)
    )
    [(before, after)] = out.moved_orders
    assert before == placed and after.fulfilment_state is FulfilmentState.CANCELLED
    assert out.request.status is S.REFUNDED
    # Only the seller, and only for a replacement.
    with pytest.raises(InvalidTransition):
        issue_replacement_refund(
            shop.at(r, BUYER, ASKED + DAY, placed), IssueReplacementRefund(r.id)
        )
    money = Shop()
    asked = money.ask(RO, {MUG: 1}, "DAMAGED").request
    with pytest.raises(InvalidTransition):
        issue_replacement_refund(money.at(asked, SELLER, ASKED), IssueReplacementRefund(asked.id))


def test_p4_approve_refund_refused_for_a_replacement() -> None:
    shop = Shop()
    r = shop.ask(RP, {MUG: 1}, "DEFECTIVE").request
    for decision in (DecisionType.APPROVE_REFUND, DecisionType.APPROVE_RETURN):
        with pytest.raises(DecisionNotAllowed) as refused:
            approve(shop.at(r, SELLER, ASKED), ApproveAfterSale(r.id, decision))
        assert "ISSUE_REPLACEMENT_REFUND" in str(refused.value)
        assert refused.value.code == "DECISION_NOT_ALLOWED"


def test_p4_a_replacement_order_is_not_cancelled_on_its_own() -> None:
    shop = Shop()
    _, out = approved_replacement(shop)
    [placed] = out.new_orders
    with pytest.raises(InvalidTransition) as refused:
        cancellation_by_buyer(
            Opening(DEFAULT_POLICY, ASKED + HOUR, "can-1"),
            on_order(placed, BUYER, ASKED + HOUR),
            RequestCancellation(placed.id, "CHANGED_MIND"),
        )
    assert refused.value.current_state == "REPLACEMENT_ORDER"
    shown = buyer_eligibility(placed, DEFAULT_POLICY, ASKED + HOUR)
    assert (shown.allowed, shown.code) == (False, "INVALID_STATE")

"""Status events built from domain outcomes, for every kind of request (pure)."""

from __future__ import annotations

from datetime import timedelta

from models import cancellations as cancel_domain
from models.actors import ActorKind
from models.after_sale_decisions import reject
from models.commands import RejectAfterSale, RejectCancellation
from models.events import RequestKind, of_outcome
from models.policy import CategoryPolicy
from tests.unit.cancellation_steps import on_order
from tests.unit.test_after_sales_rules import ASKED, BUYER, HOUR, MUG, RO, RR, SELLER, Shop
from tests.unit.test_cancellation_rules import PLACED, pending
from tests.unit.test_cancellation_rules import SELLER as AGENT


def test_h3_a_cancellation_decision_is_one_event_with_its_tabs() -> None:
    c, order = pending()
    outcome = cancel_domain.reject(
        c,
        on_order(order, AGENT, PLACED + timedelta(hours=3)),
        RejectCancellation(c.id, "OTHER", None),
    )
    [event] = of_outcome(outcome)
    assert event.kind is RequestKind.CANCELLATION
    assert (event.request_id, event.shop_id, event.buyer_id) == (c.id, c.shop_id, c.buyer_id)
    assert (event.from_status, event.to_status) == ("PENDING", "REJECTED")
    assert (event.from_tab, event.to_tab, event.moves_tab) == ("TO_PROCEED", "CLOSED", True)
    assert (event.actor_kind, event.reason, event.action) == (
        ActorKind.SELLER_AGENT,
        "OTHER",
        "REJECT",
    )


def test_h3_after_sale_steps_are_events_of_their_kind() -> None:
    shop = Shop()
    asked = shop.ask(RR, {MUG: 1})
    [event] = of_outcome(asked)
    assert event.kind is RequestKind.RETURN_AND_REFUND
    assert (event.from_status, event.to_status, event.to_tab) == (
        None,
        "PENDING_SELLER",
        "TO_PROCEED",
    )
    assert event.actor_kind is ActorKind.BUYER


def test_h3_a_second_request_also_reports_the_rejection_it_closed() -> None:
    shop = Shop()
    first = shop.ask(RR, {MUG: 2}).request
    shop.take(
        reject(shop.at(first, SELLER, ASKED + HOUR), RejectAfterSale(first.id, "NO_EVIDENCE"))
    )
    second = shop.ask(RR, {MUG: 1}, at=ASKED + 3 * HOUR)
    new, closed = of_outcome(second)
    assert (new.request_id, new.to_status) == (second.request.id, "PENDING_SELLER")
    assert (closed.request_id, closed.from_status, closed.to_status) == (
        first.id,
        "REJECTED",
        "CLOSED_FINAL",
    )
    assert closed.actor_kind is BUYER.kind


def test_h3_an_instant_refund_is_two_events_in_order() -> None:
    out = Shop(policy=CategoryPolicy(instant_refund=True)).ask(RO, {MUG: 1}, "DAMAGED")
    events = of_outcome(out)
    assert len(events) == len(out.records) >= 2
    assert [e.to_status for e in events] == [r.to_status.value for r in out.records]
    assert events[0].kind is RequestKind.REFUND_ONLY

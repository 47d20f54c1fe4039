"""Partial-refund offers (R12): instead of approving, the seller offers an amount; the buyer
accepts (that amount is refunded through the ledger, the buyer keeps the item, the request
closes) or declines (the seller decides again); the buyer's silence past the offer's window is
the policy's answer (`CategoryPolicy.offer_silence_accepts`).

Choices where the marketplace is silent (docs/decisions.md): at most `MAX_OFFERS` offers per
request; the offer is for money only (refund and return-and-refund requests; a replacement
settles with a refund instead, models/after_sale_replacements.py); a declined offer is not a
rejection, so there is nothing to appeal until the seller rejects (R5, R6 as always).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from models.actors import Actor
from models.after_sale_decisions import carry_out, decision_for
from models.after_sale_requests import (
    AfterSaleOutcome,
    AfterSaleRequest,
    Decision,
    Offer,
    OfferAnswer,
)
from models.after_sale_steps import at_deadline, before_deadline, moved_to, start_step
from models.after_sales_errors import DecisionNotAllowed
from models.after_sales_machine import (
    AfterSaleAction,
    AfterSaleNotificationKind,
    AfterSaleStatus,
    DecisionType,
)
from models.after_sales_reasons import BUYER_OFFER_WINDOW_PASSED
from models.money import Money
from models.orders import Order
from models.refund_ledger import RefundLedger
from models.requests import to_buyer, to_shop

_S = AfterSaleStatus
_A = AfterSaleAction
_N = AfterSaleNotificationKind

# Two offers, then the seller approves in full or rejects: an offer is a negotiation, not a
# way to keep the request from the seller's deadline for ever.
MAX_OFFERS = 2


def offer_partial_refund(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    amount: Money | None,
    now: datetime,
    *,
    lines: Mapping[str, int] | None = None,
    comment: str | None = None,
) -> AfterSaleOutcome:
    """R12: the seller offers `amount` (positive, at most what the lines can still refund)."""
    action = _A.OFFER_PARTIAL_REFUND
    start_step(r, order, action, actor)
    before_deadline(r, now)
    if r.offers_made >= MAX_OFFERS:
        raise DecisionNotAllowed(
            f"{r.id} had {r.offers_made} offers already (at most {MAX_OFFERS}): approve it in "
            "full or reject it"
        )
    offered = DecisionType.OFFER_PARTIAL_REFUND
    d = decision_for(
        r, order, ledger, actor, offered, now, lines=lines, partial_amount=amount, comment=comment
    )
    amount = d.partial_amount or amount  # decision_for refused an offer without one
    if amount is None:
        raise ValueError("an offer without an amount passed decision_for")
    offer = Offer(amount, d.lines, d.comment, now, now + r.policy.offer_response_window)
    text = (
        f"The seller offers a refund of {offer.amount} for order {r.order_id} (you keep the "
        f"item): accept or decline by {offer.respond_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_buyer(r, _N.OFFER_MADE, text, now),)
    step = {"reason": offered.value, "comment": d.comment, "deadline": offer.respond_by}
    target = _S.AWAITING_BUYER_RESPONSE
    return moved_to(r, order, action, target, actor, now, notes, **step, offer=offer)


def _answered(r: AfterSaleRequest, answer: OfferAnswer, now: datetime) -> Offer:
    if r.offer is None:
        raise ValueError(f"{r.id} is {r.status.value} without an offer")
    return replace(r.offer, answer=answer, answered_at=now)


def _accepted(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    action: AfterSaleAction,
    offer: Offer,
    now: datetime,
    **step: object,
) -> AfterSaleOutcome:
    # The refund goes through the same ledger and quote as any approval (carry_out -> pay).
    decision = Decision(
        DecisionType.OFFER_PARTIAL_REFUND,
        offer.lines,
        True,
        offer.amount,
        None,
        offer.comment,
        now,
        actor.kind,
    )
    outcome = carry_out(r, order, ledger, decision, action, actor, now, **step, offer=offer)
    paid = outcome.request.refund.total if outcome.request.refund else offer.amount
    text = (
        f"The offer of {offer.amount} on {r.id} (order {r.order_id}) was accepted; "
        f"{paid} was refunded."
    )
    note = to_shop(r, _N.OFFER_ANSWERED, text, now)
    return replace(outcome, notifications=(*outcome.notifications, note))


def _declined(
    r: AfterSaleRequest,
    order: Order,
    actor: Actor,
    action: AfterSaleAction,
    offer: Offer,
    now: datetime,
    **step: object,
) -> AfterSaleOutcome:
    respond_by = now + r.policy.seller_response_window  # the seller decides again (R3 holds)
    text = (
        f"The offer of {offer.amount} on {r.id} (order {r.order_id}) was declined: approve, "
        f"offer again or reject by {respond_by:%Y-%m-%d %H:%M} UTC."
    )
    notes = (to_shop(r, _N.OFFER_ANSWERED, text, now),)
    step |= {"deadline": respond_by, "offer": offer}
    return moved_to(r, order, action, _S.PENDING_SELLER, actor, now, notes, **step)


def answer_offer(
    r: AfterSaleRequest,
    order: Order,
    ledger: RefundLedger,
    actor: Actor,
    accept: bool,
    now: datetime,
) -> AfterSaleOutcome:
    """R12: the buyer accepts the offer (refunded that amount, keeps the item) or declines it."""
    action = _A.ACCEPT_OFFER if accept else _A.DECLINE_OFFER
    start_step(r, order, action, actor)
    before_deadline(r, now)
    if accept:
        offer = _answered(r, OfferAnswer.ACCEPTED, now)
        return _accepted(r, order, ledger, actor, action, offer, now)
    offer = _answered(r, OfferAnswer.DECLINED, now)
    return _declined(r, order, actor, action, offer, now)


def expire_offer(
    r: AfterSaleRequest, order: Order, ledger: RefundLedger, actor: Actor, now: datetime
) -> AfterSaleOutcome:
    """R12: the buyer did not answer in time; the request's policy says what silence means."""
    start_step(r, order, _A.EXPIRE_OFFER, actor)
    why = {"reason": BUYER_OFFER_WINDOW_PASSED, "acted_on": at_deadline(r, now)}
    if r.policy.offer_silence_accepts:
        offer = _answered(r, OfferAnswer.ACCEPTED_BY_SILENCE, now)
        return _accepted(r, order, ledger, actor, _A.EXPIRE_OFFER, offer, now, **why)
    offer = _answered(r, OfferAnswer.DECLINED_BY_SILENCE, now)
    return _declined(r, order, actor, _A.EXPIRE_OFFER, offer, now, **why)


__all__ = ["MAX_OFFERS", "answer_offer", "expire_offer", "offer_partial_refund"]

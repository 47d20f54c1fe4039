"""The stand-in marketplace's status moves under random interleavings of seller decisions and the
marketplace's own moves (pure: the Marketplace object, no HTTP)."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from devtools.tiktok_shop import statuses
from devtools.tiktok_shop.marketplace import Marketplace
from devtools.tiktok_shop.orders import Refused

CANCEL_STATUSES = {
    statuses.CANCEL_PENDING,
    statuses.CANCEL_SUCCESS,
    statuses.CANCEL_CLOSED,
    statuses.CANCEL_COMPLETE,
}
RETURN_STATUSES = {
    getattr(statuses, name)
    for name in dir(statuses)
    if name.startswith(("RETURN_", "REPLACEMENT_", "AWAITING_", "BUYER_SHIPPED", "REJECT_RECEIVE"))
    and isinstance(getattr(statuses, name), str)
}
FINAL = {
    statuses.CANCEL_CLOSED,
    statuses.CANCEL_COMPLETE,
    statuses.RETURN_COMPLETE,
    statuses.RETURN_CANCEL,
    statuses.REPLACEMENT_COMPLETE,
    statuses.REPLACEMENT_CANCEL,
    statuses.REPLACEMENT_REFUND_SUCCESS,
}

SELLER = [
    ("approve_cancel", None),
    ("reject_cancel", None),
    *[("approve_return", d) for d in sorted(statuses.APPROVE_DECISIONS)],
    *[("reject_return", d) for d in sorted(statuses.REJECT_DECISIONS)],
]
MARKET = [
    "withdraw_cancel",
    "auto_cancel",
    "ship",
    "accept_offer",
    "decline_offer",
    "withdraw_return",
    "auto_return",
    "arbitrate",
    "support_buyer",
    "support_seller",
    "close",
    "advance",
]


def fresh(return_type: str) -> tuple[Marketplace, str, str, list[tuple[int, dict[str, Any]]]]:
    sent: list[tuple[int, dict[str, Any]]] = []
    market = Marketplace(lambda shop, type_, data: sent.append((type_, data)))
    market.add_shop("s", "c", "t")
    waiting = market.add_order("s", {"status": "AWAITING_SHIPMENT"})
    cancel = market.buyer_cancels(waiting, "changed_mind", [])
    delivered = market.add_order("s", {"status": "DELIVERED"})
    request = market.buyer_requests_return(delivered, return_type, "defective", [])
    return market, cancel.cancel_id, request.return_id, sent


def step(market: Marketplace, cancel_id: str, return_id: str, move: Any) -> None:
    cancel, request = market.cancellations[cancel_id], market.returns[return_id]
    reason = "seller_reject_apply_product_has_been_packed"
    return_reason = (
        "reverse_reject_receive_reason_wrong_item"
        if move == ("reject_return", "REJECT_RECEIVED_PACKAGE")
        else "reverse_reject_request_reason_product_is_fine"
    )
    actions = {
        ("approve_cancel", None): lambda: market.approve_cancellation(cancel, None),
        ("reject_cancel", None): lambda: market.reject_cancellation(cancel, reason, "", None),
        "withdraw_cancel": lambda: market.buyer_withdraws_cancellation(cancel),
        "auto_cancel": lambda: market.system_approves_cancellation(cancel),
        "ship": lambda: market.buyer_ships(request),
        "accept_offer": lambda: market.buyer_answers_offer(request, True),
        "decline_offer": lambda: market.buyer_answers_offer(request, False),
        "withdraw_return": lambda: market.buyer_withdraws_return(request),
        "auto_return": lambda: market.system_approves_return(request),
        "arbitrate": lambda: market.open_arbitration(request),
        "support_buyer": lambda: market.close_arbitration(request, "SUPPORT_BUYER"),
        "support_seller": lambda: market.close_arbitration(request, "SUPPORT_SELLER"),
        "close": lambda: market.close_arbitration(request, "CLOSED"),
        "advance": lambda: market.advance(3 * 24 * 3600),
    }
    if isinstance(move, tuple) and move[0] in ("approve_return", "reject_return"):
        if move[0] == "approve_return":
            market.approve_return(
                request,
                move[1],
                buyer_keep_item=True,
                partial_refund={"amount": "1.00", "currency": "USD"},
                key=None,
            )
        else:
            market.reject_return(request, move[1], return_reason, "", None)
        return
    actions[move]()


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["REFUND", "RETURN_AND_REFUND", "REPLACEMENT"]),
    st.lists(st.sampled_from([*SELLER, *MARKET]), max_size=12),
)
# A withdrawal during an arbitration, then the arbitration's outcome (once found at random).
@example("REFUND", ["arbitrate", "withdraw_return", "support_buyer"])
def test_requests_move_only_through_tiktok_statuses_and_final_ones_stay(
    return_type: str, moves: list[Any]
) -> None:
    market, cancel_id, return_id, sent = fresh(return_type)
    for move in moves:
        before = (market.cancellations[cancel_id].status, market.returns[return_id].status)
        applied_before = len(market.applied)
        try:
            step(market, cancel_id, return_id, move)
            refused = False
        except Refused:
            refused = True
        after = (market.cancellations[cancel_id].status, market.returns[return_id].status)
        assert after[0] in CANCEL_STATUSES and after[1] in RETURN_STATUSES
        for was, now in zip(before, after, strict=True):
            assert was not in FINAL or now == was, f"{move} moved {was} to {now}"
        if refused:
            assert after == before and len(market.applied) == applied_before
        elif move in SELLER:
            # A seller decision that was applied is counted once and moved its request.
            assert len(market.applied) == applied_before + 1
            assert after != before
    # Every status change was announced: the last webhook of each request names its status.
    last_cancel = [d for t, d in sent if t == 11][-1]
    last_return = [d for t, d in sent if t == 12][-1]
    assert last_cancel["cancel_status"] == market.cancellations[cancel_id].status
    assert last_return["return_status"] == market.returns[return_id].status

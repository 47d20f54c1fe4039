"""GraphQL documents and helpers for after-sale tests: every mutation, with every error member."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.clock import SettableClock
from models.orders import FulfilmentState, Order
from services.after_sales import KIND
from storage import tab_counts
from storage.mongo import Database
from tests.support.api_client import GraphQLClient
from tests.support.factories import new_buyer_id, place_order

FIELDS = """
id orderId kind status tab followsId deadline requestedAt resolvedAt
reason { code displayText }
lines { lineId quantity }
nextAction { actorKind action dueAt }
decision { type buyerKeepsItem partialAmount { minorUnits } lines { lineId quantity } reason { code } }
rejection { reason { code displayText } comment onReceipt }
appeal { reason { code } forBuyer note decidedAt }
returnShipment { carrier trackingNumber receivedAt }
replacementShipment { carrier trackingNumber receivedAt }
refund { items { minorUnits } shipping { minorUnits } total { minorUnits amount }
         lines { lineId quantity amount { minorUnits } } }
timeline { at action actorKind actorId fromStatus toStatus reason { code displayText } comment deadline }
policy { returnRefundWindowSeconds instantRefund replacementNeedsItemBack }
order { refunded { minorUnits } paymentState }
offer { amount { minorUnits } lines { lineId quantity } comment madeAt respondBy answer answeredAt }
replacementOrderId
"""

ERRORS = """
... on UserError { code message field }
... on InvalidStateError { currentState }
... on NotPendingError { currentStatus }
... on AfterSaleRefusedError { lineIds existingRequestId windowEndsAt }
... on WindowClosedError { closedAt }
... on ResponseWindowClosedError { closedAt }
... on RefundExceedsRefundableError { refundableMinorUnits }
"""

INPUTS = {
    "requestAfterSale": "RequestAfterSaleInput",
    "withdrawAfterSale": "AfterSaleStepInput",
    "appealAfterSale": "ReasonedStepInput",
    "shipReturn": "ShipmentInput",
    "approveAfterSale": "ApproveAfterSaleInput",
    "rejectAfterSale": "ReasonedStepInput",
    "confirmReturnReceived": "AfterSaleStepInput",
    "rejectReturnOnReceipt": "ReasonedStepInput",
    "shipReplacement": "ShipmentInput",
    "refundOrder": "RefundOrderInput",
    "platformRefund": "RefundOrderInput",
    "decideAppeal": "DecideAppealInput",
    "recordReplacementDelivered": "AfterSaleStepInput",
    "answerOffer": "AnswerOfferInput",
}

VIEW = f"query($id: ID!) {{ afterSale(id: $id) {{ {FIELDS} }} }}"


async def mutate(
    api: GraphQLClient, name: str, input: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Run one after-sale mutation; the result (AfterSale or a typed error) with `__typename`."""
    doc = (
        f"mutation($input: {INPUTS[name]}!) {{ r: {name}(input: $input) {{ __typename "
        f"... on AfterSale {{ {FIELDS} }} {ERRORS} }} }}"
    )
    return (await api(doc, {"input": input}, actor))["r"]


async def ok(api: GraphQLClient, name: str, input: dict[str, Any], actor: str) -> dict[str, Any]:
    result = await mutate(api, name, input, actor)
    assert result["__typename"] == "AfterSale", result
    return result


async def view(api: GraphQLClient, request_id: str, actor: str) -> dict[str, Any]:
    return (await api(VIEW, {"id": request_id}, actor))["afterSale"]


async def delivered_order(
    db: Database, clock: SettableClock, shop_id: str, days_ago: float = 1, **kw: Any
) -> Order:
    """A paid order delivered `days_ago`: line 0 is 1 x 25.00, line 1 is 2 x 10.00, shipping 4.99."""
    return await place_order(
        db,
        shop_id,
        new_buyer_id(),
        clock.now() - timedelta(days=days_ago),
        state=FulfilmentState.DELIVERED,
        **kw,
    )


def ask(order: Order, kind: str, reason: str, lines: dict[int, int], **extra: Any) -> dict:
    return {
        "orderId": order.id,
        "kind": kind,
        "reason": reason,
        "lines": [{"lineId": order.lines[i].line_id, "quantity": q} for i, q in lines.items()],
        **extra,
    }


def seller_of(shop_id: str) -> Actor:
    return Actor(ActorKind.SELLER_AGENT, "agent-1", shop_id, frozenset({ADJUSTMENTS}))


async def recount(db: Database, shop_id: str) -> dict[str, int]:
    docs = await db.after_sales.find({"shop_id": shop_id, "tabs": "ALL"}, {"tabs": 1}).to_list(None)
    return dict(Counter(d["tabs"][1] for d in docs))


async def assert_counters_match(db: Database, shop_id: str) -> None:
    stored = {k: v for k, v in (await tab_counts.read(db, shop_id, KIND.section)).items() if v}
    assert stored == await recount(db, shop_id)

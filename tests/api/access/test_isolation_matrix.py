"""Shop isolation, field by field, read from the schema itself: every root field of Query,
Mutation and Subscription must have an entry in MATRIX, or its test fails.

A victim shop has orders, a waiting cancellation request and notifications. Each field is called
with the victim's ids by an agent of another shop (with the adjustments permission), by another
buyer, and anonymously; mutations also by every party of the victim's own order whose role may
not do it (a buyer never decides their own request). Reads must answer FORBIDDEN or NOT_FOUND or
without any of the victim's data, after the owner's call proved that the same document does reach
it; writes must answer FORBIDDEN or NOT_FOUND (a typed member) and change nothing; anonymous calls
are UNAUTHENTICATED. Public reference data answers everyone alike. An outsider's answer is the
answer to ids that do not exist (the victim's ids with a suffix), word for word: an outsider
holding an id learns nothing of it, not even that it exists.

The same reads run over the WebSocket too (the caller named by the connection_init payload),
and subscriptions only there: a `Live` case subscribes, makes a change to the victim's data
(`trigger`), and listens; the owner must hear of it, outsiders must get FORBIDDEN or nothing of
the victim's.

Adding a field: add its entry here (a `Read`, a `Write` or a `Live`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

import pytest
from graphql import build_schema

from api.settings import default_settings
from models.actors import Actor, ActorKind
from models.clock import SettableClock
from models.commands import AcceptCancellation, RequestCancellation
from models.notifications import Recipient
from models.order_intake import NewLine, PlaceOrder
from models.orders import FulfilmentState, PaymentMethod
from resolvers.schema import schema
from services.bootstrap import Services
from storage.mongo import Database
from storage.notifications import inbox_key
from tests.support.api_client import GraphQLClient, authorization
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller
from tests.support.notices import count_notices
from tests.support.served import serving, ws_operation


@dataclass(frozen=True)
class Victim:
    shop_id: str
    buyer_id: str
    order_id: str  # awaiting shipment, no request
    pending_order_id: str  # with a waiting cancellation request
    cancellation_id: str
    unpaid_order_id: str  # past its payment window
    # Made only when the schema has the features they belong to ("" otherwise).
    ticket_id: str = ""  # the helpdesk ticket of the waiting request
    rule_id: str = ""  # a helpdesk rule of the shop
    agent_id: str = ""  # an agent on the shop's team list
    delivered_order_id: str = ""  # delivered yesterday, with a waiting refund request
    after_sale_id: str = ""  # that refund request (REFUND_ONLY)
    webhook_id: str = ""  # an outbound webhook of the shop

    def secrets(self) -> set[str]:
        ids = {
            self.shop_id,
            self.buyer_id,
            self.order_id,
            self.pending_order_id,
            self.cancellation_id,
            self.unpaid_order_id,
            self.ticket_id,
            self.rule_id,
            self.agent_id,
            self.delivered_order_id,
            self.after_sale_id,
            self.webhook_id,
        }
        return ids - {""}

    def actor(self, role: str) -> str:
        return {
            "buyer": buyer(self.buyer_id),
            "seller": seller(self.shop_id),
            "reader": seller(self.shop_id, adjust=False),
            "platform": PLATFORM,
        }[role]


Vars = Callable[[Victim], dict[str, Any]]


@dataclass(frozen=True)
class Read:
    document: str
    variables: Vars = lambda v: {}
    owner: str = "seller"  # the victim-side role whose call proves the document reaches data
    public: bool = False  # reference data: the same for everyone, nobody's data
    # Whether an answer shows the victim's data; default: one of the victim's ids appears.
    shows: Callable[[Any, Victim], bool] | None = None


@dataclass(frozen=True)
class Write:
    document: str  # the field aliased `r`, selecting `... on UserError { code }`
    variables: Vars
    allowed: frozenset[str] = field(default_factory=frozenset)  # victim-side roles that may


async def new_request_in_victims_shop(services: Services, v: Victim) -> None:
    """A change a shop's feed reports, as often as needed: the victim's buyer asks to cancel a
    new order of the victim's shop."""
    placed = services.clock.now() - timedelta(hours=3)
    order = await place_order(services.db, v.shop_id, v.buyer_id, placed)
    await services.handle(
        Actor(ActorKind.BUYER, v.buyer_id), RequestCancellation(order.id, "CHANGED_MIND")
    )


async def new_order_in_victims_shop(services: Services, v: Victim) -> None:
    """The shop's integration places an order of the victim's buyer (an order event)."""
    placed = services.clock.now() - timedelta(minutes=5)
    line = NewLine("l1", "SKU-1", "Tent", 1, 1000, "outdoor")
    order = PlaceOrder(
        f"ext-{uuid.uuid4().hex[:8]}", v.buyer_id, "USD", (line,), 0, PaymentMethod.PREPAID, placed
    )
    integration = Actor(ActorKind.INTEGRATION, "orders-1", v.shop_id)
    [placed_order] = await services.orders.intake.place(integration, v.shop_id, [order])
    assert not isinstance(placed_order, Exception), placed_order


async def new_refund_in_victims_shop(services: Services, v: Victim) -> None:
    """The victim's shop, its payment system registered, accepts a new cancellation request:
    a refund instructed (a refund event)."""
    from services.refunds import RefundSettlements

    payments = Actor(ActorKind.INTEGRATION, "payments-1", v.shop_id)
    await RefundSettlements(services.db, services.clock).register(payments, v.shop_id)
    placed = services.clock.now() - timedelta(hours=3)
    order = await place_order(services.db, v.shop_id, v.buyer_id, placed)
    asked = await services.cancellations.handle(
        Actor(ActorKind.BUYER, v.buyer_id), RequestCancellation(order.id, "CHANGED_MIND")
    )
    agent = Actor(ActorKind.SELLER_AGENT, "agent-1", v.shop_id, frozenset({"adjustments"}))
    await services.cancellations.handle(agent, AcceptCancellation(asked.id))


@dataclass(frozen=True)
class Live:
    """A subscription: `trigger` changes the victim's data so that the owner hears of it."""

    document: str
    variables: Vars
    trigger: Callable[[Services, Victim], Awaitable[None]] = new_request_in_victims_shop
    owner: str = "seller"
    shows: Callable[[Any, Victim], bool] | None = None


def _write(field_name: str, input_type: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ r: {field_name}(input: $input) "
        "{ __typename ... on UserError { code message } } }"
    )


ORDER_FIELDS = "id shopId buyerId total { amount } lines { title } cancellations { id buyerId }"
CANCELLATION_FIELDS = "id shopId buyerId orderId note timeline { actorId } order { id buyerId }"


def _counts_above_zero(data: Any, _: Victim) -> bool:
    return any(c["count"] > 0 for c in data["cancellationTabCounts"])


def _tickets_counted(data: Any, _: Victim) -> bool:
    return data["ticketCounts"]["all"] > 0


TAG_RULE = {
    "name": "Frequent askers",
    "condition": {"buyerRequestsOver": 1},
    "action": {"kind": "TAG", "tag": "frequent-asker"},
}
TICKET_FIELDS = "id orderId buyerId notes { text } cancellation { id shopId } order { id }"


def _no_error(data: Any, _: Victim) -> bool:
    return data is not None


INTAKE_ORDER = {
    "externalId": "ext-intruder",
    "currency": "USD",
    "lines": [
        {"lineId": "l1", "sku": "S", "title": "T", "quantity": 1, "unitPriceMinor": 1,
         "category": "outdoor"}
    ],
    "shippingFeeMinor": 0,
    "paymentMethod": "PREPAID",
    "placedAt": "2026-01-01T00:00:00+00:00",
}  # fmt: skip
INTAKE_UPDATE = {"externalId": "ext-intruder", "step": "DELIVERED", "at": "2026-01-02T00:00:00Z"}

MATRIX: dict[str, Read | Write | Live] = {
    # ---- queries -----------------------------------------------------------------------------
    "Query.viewer": Read("{ viewer { kind id shopId permissions } }"),
    "Query.deadlineWorker": Read(
        "{ deadlineWorker { running totalMoves } }", owner="platform", shows=_no_error
    ),
    "Query.order": Read(
        f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}",
        lambda v: {"id": v.pending_order_id},
    ),
    "Query.orders": Read(
        f"query($shop: ID) {{ orders(shopId: $shop, first: 100) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }} }}",
        lambda v: {"shop": v.shop_id},
    ),
    "Query.cancellation": Read(
        f"query($id: ID!) {{ cancellation(id: $id) {{ {CANCELLATION_FIELDS} }} }}",
        lambda v: {"id": v.cancellation_id},
        owner="buyer",
    ),
    "Query.cancellations": Read(
        f"query($shop: ID, $buyer: ID) {{ cancellations(shopId: $shop, filter: {{buyerId: $buyer}}, first: 100) {{ edges {{ node {{ {CANCELLATION_FIELDS} }} }} }} }}",
        lambda v: {"shop": v.shop_id, "buyer": v.buyer_id},
    ),
    "Query.cancellationTabCounts": Read(
        "query($shop: ID) { cancellationTabCounts(shopId: $shop) { tab count } }",
        lambda v: {"shop": v.shop_id},
        shows=_counts_above_zero,
    ),
    "Query.cancellationRejectReasons": Read(
        "{ cancellationRejectReasons { code displayText } }", public=True
    ),
    "Query.buyerCancellationReasons": Read(
        "{ buyerCancellationReasons { code displayText } }", public=True
    ),
    "Query.sellerCancellationReasons": Read(
        "{ sellerCancellationReasons { code displayText } }", public=True
    ),
    "Query.notifications": Read(
        "{ notifications(first: 100) { edges { node { id orderId requestId message } } } }"
    ),
    # ---- the helpdesk: the shop's team only -------------------------------------------------
    "Query.tickets": Read(
        f"query($shop: ID) {{ tickets(shopId: $shop, first: 100) {{ edges {{ node {{ {TICKET_FIELDS} }} }} }} }}",
        lambda v: {"shop": v.shop_id},
    ),
    "Query.ticketCounts": Read(
        "query($shop: ID) { ticketCounts(shopId: $shop) { all open pending resolved } }",
        lambda v: {"shop": v.shop_id},
        shows=_tickets_counted,
    ),
    "Query.ticket": Read(
        f"query($id: ID!) {{ ticket(id: $id) {{ {TICKET_FIELDS} }} }}",
        lambda v: {"id": v.ticket_id},
    ),
    "Query.requestTicket": Read(
        f"query($id: ID!) {{ requestTicket(requestId: $id) {{ {TICKET_FIELDS} }} }}",
        lambda v: {"id": v.cancellation_id},
    ),
    "Query.ticketRules": Read(
        "query($shop: ID) { ticketRules(shopId: $shop) { id name } }",
        lambda v: {"shop": v.shop_id},
    ),
    "Query.shopAgents": Read(
        "query($shop: ID) { shopAgents(shopId: $shop) }", lambda v: {"shop": v.shop_id}
    ),
    # ---- mutations ---------------------------------------------------------------------------
    "Mutation.requestCancellation": Write(
        _write("requestCancellation", "RequestCancellationInput"),
        lambda v: {"input": {"orderId": v.order_id, "reason": "CHANGED_MIND"}},
        frozenset({"buyer"}),
    ),
    "Mutation.withdrawCancellation": Write(
        _write("withdrawCancellation", "DecideCancellationInput"),
        lambda v: {"input": {"cancellationId": v.cancellation_id}},
        frozenset({"buyer"}),
    ),
    "Mutation.acceptCancellation": Write(
        _write("acceptCancellation", "DecideCancellationInput"),
        lambda v: {"input": {"cancellationId": v.cancellation_id}},
        frozenset({"seller"}),
    ),
    "Mutation.rejectCancellation": Write(
        _write("rejectCancellation", "RejectCancellationInput"),
        lambda v: {"input": {"cancellationId": v.cancellation_id, "reason": "ALREADY_SHIPPED"}},
        frozenset({"seller"}),
    ),
    "Mutation.cancelOrder": Write(
        _write("cancelOrder", "CancelOrderInput"),
        lambda v: {"input": {"orderId": v.order_id, "reason": "OUT_OF_STOCK"}},
        frozenset({"seller"}),
    ),
    "Mutation.cancelOrderLines": Write(
        _write("cancelOrderLines", "CancelOrderLinesInput"),
        lambda v: {
            "input": {
                "orderId": v.order_id,
                "lines": [{"lineId": f"{v.order_id}-0", "quantity": 1}],
                "reason": "OUT_OF_STOCK",
            }
        },
        frozenset({"seller"}),
    ),
    "Mutation.cancelUnpaidOrder": Write(
        _write("cancelUnpaidOrder", "CancelUnpaidOrderInput"),
        lambda v: {"input": {"orderId": v.unpaid_order_id}},
        frozenset({"platform"}),
    ),
    "Mutation.recordPayment": Write(
        _write("recordPayment", "OrderInput"),
        lambda v: {"input": {"orderId": v.unpaid_order_id}},
        frozenset({"platform"}),
    ),
    "Mutation.handToCarrier": Write(
        _write("handToCarrier", "HandToCarrierInput"),
        lambda v: {"input": {"orderId": v.order_id, "carrier": "UPS", "trackingNumber": "1Z9"}},
        frozenset({"seller", "reader", "platform"}),
    ),
    "Mutation.recordDelivery": Write(
        _write("recordDelivery", "OrderInput"),
        lambda v: {"input": {"orderId": v.order_id}},
        frozenset({"platform"}),
    ),
    # The order intake: the shop's integration only, none of the victim-side roles.
    "Mutation.placeOrders": Write(
        _write("placeOrders", "PlaceOrdersInput"),
        lambda v: {
            "input": {"shopId": v.shop_id, "orders": [INTAKE_ORDER | {"buyerId": v.buyer_id}]}
        },
        frozenset(),
    ),
    "Mutation.updateOrders": Write(
        _write("updateOrders", "UpdateOrdersInput"),
        lambda v: {"input": {"shopId": v.shop_id, "updates": [INTAKE_UPDATE]}},
        frozenset(),
    ),
    # Working a ticket: any agent of its shop (no adjustments needed), not the platform.
    "Mutation.assignTicket": Write(
        _write("assignTicket", "AssignTicketInput"),
        lambda v: {"input": {"ticketId": v.ticket_id, "assignee": None}},
        frozenset({"seller", "reader"}),
    ),
    "Mutation.tagTicket": Write(
        _write("tagTicket", "TagTicketInput"),
        lambda v: {"input": {"ticketId": v.ticket_id, "tag": "intruder"}},
        frozenset({"seller", "reader"}),
    ),
    "Mutation.untagTicket": Write(
        _write("untagTicket", "TagTicketInput"),
        lambda v: {"input": {"ticketId": v.ticket_id, "tag": "intruder"}},
        frozenset({"seller", "reader"}),
    ),
    "Mutation.addTicketNote": Write(
        _write("addTicketNote", "AddTicketNoteInput"),
        lambda v: {"input": {"ticketId": v.ticket_id, "text": "intruder"}},
        frozenset({"seller", "reader"}),
    ),
    "Mutation.setTicketStatus": Write(
        _write("setTicketStatus", "SetTicketStatusInput"),
        lambda v: {"input": {"ticketId": v.ticket_id, "status": "RESOLVED"}},
        frozenset({"seller", "reader"}),
    ),
    # Deciding from a ticket: the request's own rule (an agent with adjustments).
    "Mutation.approveFromTicket": Write(
        _write("approveFromTicket", "ApproveFromTicketInput"),
        lambda v: {"input": {"ticketId": v.ticket_id}},
        frozenset({"seller"}),
    ),
    "Mutation.rejectFromTicket": Write(
        _write("rejectFromTicket", "RejectFromTicketInput"),
        lambda v: {"input": {"ticketId": v.ticket_id, "reason": "ALREADY_SHIPPED"}},
        frozenset({"seller"}),
    ),
    # Rules and the team list: an agent with adjustments, or the platform.
    "Mutation.createTicketRule": Write(
        _write("createTicketRule", "CreateTicketRuleInput"),
        lambda v: {"input": {"shopId": v.shop_id, "rule": TAG_RULE}},
        frozenset({"seller", "platform"}),
    ),
    "Mutation.updateTicketRule": Write(
        _write("updateTicketRule", "UpdateTicketRuleInput"),
        lambda v: {"input": {"ruleId": v.rule_id, "rule": TAG_RULE}},
        frozenset({"seller", "platform"}),
    ),
    "Mutation.deleteTicketRule": Write(
        _write("deleteTicketRule", "TicketRuleIdInput"),
        lambda v: {"input": {"ruleId": v.rule_id}},
        frozenset({"seller", "platform"}),
    ),
    "Mutation.dryRunTicketRule": Write(
        _write("dryRunTicketRule", "DryRunTicketRuleInput"),
        lambda v: {"input": {"shopId": v.shop_id, "rule": TAG_RULE}},
        frozenset({"seller", "platform"}),
    ),
    "Mutation.addShopAgent": Write(
        _write("addShopAgent", "ShopAgentInput"),
        lambda v: {"input": {"shopId": v.shop_id, "agentId": "intruder"}},
        frozenset({"seller", "platform"}),
    ),
    "Mutation.removeShopAgent": Write(
        _write("removeShopAgent", "ShopAgentInput"),
        lambda v: {"input": {"shopId": v.shop_id, "agentId": v.agent_id}},
        frozenset({"seller", "platform"}),
    ),
}

# Outbound webhooks and the feed's durable consumers: the shop's agents and the platform read;
# an agent with adjustments, or the platform, changes.
WEBHOOK_CASES: dict[str, Read | Write | Live] = {
    "Query.webhooks": Read(
        "query($shop: ID) { webhooks(shopId: $shop) { id shopId url cursor lastError } }",
        lambda v: {"shop": v.shop_id},
    ),
    "Query.webhookDeliveries": Read(
        "query($w: ID!) { webhookDeliveries(webhookId: $w) { id sequence } }",
        lambda v: {"w": v.webhook_id},
        shows=_no_error,  # a new webhook has no deliveries yet: the answer itself is the data
    ),
    "Query.eventConsumers": Read(
        "query($shop: ID) { eventConsumers(shopId: $shop) { name cursor lag } }",
        lambda v: {"shop": v.shop_id},
    ),
    "Mutation.createWebhook": Write(
        _write("createWebhook", "CreateWebhookInput"),
        lambda v: {
            "input": {
                "shopId": v.shop_id,
                "url": "https://intruder.example.com/hook",
                "eventTypes": ["TICKET_CHANGED"],
            }
        },
        frozenset({"seller", "platform"}),
    ),
    **{
        f"Mutation.{name}": Write(
            _write(name, "WebhookIdInput"),
            lambda v: {"input": {"webhookId": v.webhook_id}},
            frozenset({"seller", "platform"}),
        )
        for name in ("pauseWebhook", "resumeWebhook", "deleteWebhook")
    },
    "Mutation.replayWebhook": Write(
        _write("replayWebhook", "ReplayWebhookInput"),
        lambda v: {"input": {"webhookId": v.webhook_id, "fromSequence": 1}},
        frozenset({"seller", "platform"}),
    ),
}


# Refunds: the shop's agents and the platform read; only the shop's own integration registers
# its payment system and reports settlements (none of the victim-side roles).
REFUND_CASES: dict[str, Read | Write | Live] = {
    "Query.refunds": Read(
        "query($shop: ID) { refunds(shopId: $shop) { id shopId requestId } }",
        lambda v: {"shop": v.shop_id},
        shows=_no_error,  # the victim has no refund yet: the answer itself is the data
    ),
    "Subscription.refundEvents": Live(
        "subscription($shop: ID) { refundEvents(shopId: $shop) { __typename ... on RefundEvent { refundId requestId orderId shopId amount { minorUnits } } ... on UserError { code message } } }",
        lambda v: {"shop": v.shop_id},
        trigger=new_refund_in_victims_shop,
    ),
    "Mutation.registerPaymentIntegration": Write(
        "mutation($shop: ID!) { r: registerPaymentIntegration(shopId: $shop) "
        "{ __typename ... on UserError { code message } } }",
        lambda v: {"shop": v.shop_id},
        frozenset(),
    ),
    "Mutation.settleRefunds": Write(
        _write("settleRefunds", "SettleRefundsInput"),
        lambda v: {
            "input": {
                "shopId": v.shop_id,
                "settlements": [
                    {
                        "refundId": f"rfd_{v.cancellation_id}",
                        "outcome": "SETTLED",
                        "at": "2026-01-02T00:00:00Z",
                    }
                ],
            }
        },
        frozenset(),
    ),
}

# The live feed's subscriptions, checked against a scratch merge of the feed before it landed:
# both pass, and both fail when the feed's buyer filter or the tab counts'
# agent check is removed. They join MATRIX when those fields are in the schema.
LIVE_FEED_CASES: dict[str, Live] = {
    "Subscription.requestEvents": Live(
        "subscription($shop: ID) { requestEvents(shopId: $shop) { __typename ... on RequestEvent { requestId orderId shopId buyerId cancellation { note buyerId } } ... on UserError { code message } } }",
        lambda v: {"shop": v.shop_id},
    ),
    "Subscription.tabCounts": Live(
        "subscription($shop: ID) { tabCounts(shopId: $shop) { __typename ... on TabCountsUpdate { shopId cancellations { tab count } } ... on UserError { code message } } }",
        lambda v: {"shop": v.shop_id},
    ),
    # Ticket changes (H1 on the H3 feed): the team only; the victim's buyer is refused too
    # (test_live_feed_tickets.py). The default trigger's new request opens a ticket.
    # Order changes (the order intake's and the platform's order mutations): the shop's agents,
    # the platform, a buyer their own orders.
    "Subscription.orderEvents": Live(
        "subscription($shop: ID) { orderEvents(shopId: $shop) { __typename ... on OrderEvent { orderId shopId buyerId externalId order { buyerId lines { title } } } ... on UserError { code message } } }",
        lambda v: {"shop": v.shop_id},
        trigger=new_order_in_victims_shop,
    ),
    "Subscription.ticketEvents": Live(
        "subscription($shop: ID) { ticketEvents(shopId: $shop) { __typename ... on TicketEvent { ticketId requestId orderId shopId detail ticket { buyerId notes { text } } } ... on UserError { code message } } }",
        lambda v: {"shop": v.shop_id},
    ),
}


# Refunds, returns and replacements, checked against a scratch merge of their work before it
# landed. They join MATRIX when those fields are in the schema.
def _as_write(name: str, input_type: str, build: Vars, allowed: set[str]) -> Write:
    return Write(_write(name, input_type), lambda v: {"input": build(v)}, frozenset(allowed))


def _step(v: Victim, **more: Any) -> dict[str, Any]:
    return {"requestId": v.after_sale_id, **more}


AFTER_SALE_FIELDS = (
    "id orderId shopId buyerId lines { lineId } refund { lines { lineId } } order { id buyerId }"
)
AFTER_SALE_CASES: dict[str, Read | Write] = {
    "Query.afterSale": Read(
        f"query($id: ID!) {{ afterSale(id: $id) {{ {AFTER_SALE_FIELDS} }} }}",
        lambda v: {"id": v.after_sale_id},
    ),
    "Query.afterSales": Read(
        f"query($shop: ID) {{ afterSales(shopId: $shop, first: 100) {{ edges {{ node {{ {AFTER_SALE_FIELDS} }} }} }} }}",
        lambda v: {"shop": v.shop_id},
    ),
    "Query.lineEligibility": Read(
        "query($o: ID!) { lineEligibility(orderId: $o) { lineId eligible availableQuantity } }",
        lambda v: {"o": v.delivered_order_id},
        owner="buyer",
    ),
    "Query.refundQuote": Read(
        "query($r: ID) { refundQuote(requestId: $r) { total { minorUnits } lines { lineId } } }",
        lambda v: {"r": v.after_sale_id},
    ),
    "Query.refundLedger": Read(
        "query($o: ID!) { refundLedger(orderId: $o) { orderId paid { minorUnits } } }",
        lambda v: {"o": v.delivered_order_id},
    ),
    "Query.afterSaleReasons": Read(
        "{ afterSaleReasons(catalogue: REFUND_ONLY_REQUEST) { code displayText } }", public=True
    ),
    "Query.categoryPolicy": Read(
        '{ categoryPolicy(category: "general") { category returnRefundWindowSeconds } }',
        public=True,
    ),
    "Query.categoryPolicies": Read("{ categoryPolicies { category } }", public=True),
    "Query.businessCalendar": Read("{ businessCalendar { weekend holidays } }", public=True),
    "Mutation.requestAfterSale": _as_write(
        "requestAfterSale",
        "RequestAfterSaleInput",
        lambda v: {
            "orderId": v.delivered_order_id,
            "kind": "REFUND_ONLY",
            "reason": "DAMAGED",
            "lines": [{"lineId": f"{v.delivered_order_id}-1", "quantity": 1}],
        },
        {"buyer"},
    ),
    "Mutation.withdrawAfterSale": _as_write(
        "withdrawAfterSale", "AfterSaleStepInput", _step, {"buyer"}
    ),
    "Mutation.appealAfterSale": _as_write(
        "appealAfterSale",
        "ReasonedStepInput",
        lambda v: _step(v, reason="HAVE_EVIDENCE"),
        {"buyer"},
    ),
    "Mutation.answerOffer": _as_write(
        "answerOffer", "AnswerOfferInput", lambda v: _step(v, accept=True), {"buyer"}
    ),
    "Mutation.shipReturn": _as_write(
        "shipReturn",
        "ShipmentInput",
        lambda v: _step(v, carrier="UPS", trackingNumber="1Z1"),
        {"buyer"},
    ),
    "Mutation.approveAfterSale": _as_write(
        "approveAfterSale",
        "ApproveAfterSaleInput",
        lambda v: _step(v, decision="APPROVE_REFUND"),
        {"seller"},
    ),
    "Mutation.rejectAfterSale": _as_write(
        "rejectAfterSale",
        "ReasonedStepInput",
        lambda v: _step(v, reason="NO_EVIDENCE"),
        {"seller"},
    ),
    "Mutation.confirmReturnReceived": _as_write(
        "confirmReturnReceived", "AfterSaleStepInput", _step, {"seller"}
    ),
    "Mutation.rejectReturnOnReceipt": _as_write(
        "rejectReturnOnReceipt",
        "ReasonedStepInput",
        lambda v: _step(v, reason="OTHER"),
        {"seller"},
    ),
    "Mutation.shipReplacement": _as_write(
        "shipReplacement",
        "ShipmentInput",
        lambda v: _step(v, carrier="UPS", trackingNumber="1Z2"),
        {"seller"},
    ),
    "Mutation.refundOrder": _as_write(
        "refundOrder",
        "RefundOrderInput",
        lambda v: {"orderId": v.delivered_order_id, "reason": "OTHER"},
        {"seller"},
    ),
    "Mutation.platformRefund": _as_write(
        "platformRefund",
        "RefundOrderInput",
        lambda v: {"orderId": v.delivered_order_id, "reason": "POLICY_VIOLATION"},
        {"platform"},
    ),
    "Mutation.decideAppeal": _as_write(
        "decideAppeal",
        "DecideAppealInput",
        lambda v: _step(v, forBuyer=True, note="intruder"),
        {"platform"},
    ),
    "Mutation.recordReplacementDelivered": _as_write(
        "recordReplacementDelivered", "AfterSaleStepInput", _step, {"platform"}
    ),
    "Mutation.setCategoryPolicy": _as_write(
        "setCategoryPolicy",
        "CategoryPolicyInput",
        lambda v: {"category": f"intruder-{v.shop_id}", "instantRefund": True},
        {"platform"},
    ),
    "Mutation.setBusinessCalendar": Write(
        _write("setBusinessCalendar", "BusinessCalendarInput"),
        lambda v: {"input": {"weekend": [5, 6], "holidays": []}},
        frozenset({"platform"}),
    ),
}


def _root_fields() -> list[str]:
    """Every root field the schema serves, read from its SDL."""
    built = build_schema(schema.as_str())
    roots = (built.query_type, built.mutation_type, built.subscription_type)
    return [f"{root.name}.{name}" for root in roots if root is not None for name in root.fields]


ROOT_FIELDS = _root_fields()
MATRIX |= {name: case for name, case in LIVE_FEED_CASES.items() if name in ROOT_FIELDS}
MATRIX |= {name: case for name, case in AFTER_SALE_CASES.items() if name in ROOT_FIELDS}
MATRIX |= {name: case for name, case in WEBHOOK_CASES.items() if name in ROOT_FIELDS}
MATRIX |= {name: case for name, case in REFUND_CASES.items() if name in ROOT_FIELDS}
OUTSIDERS = {"another shop's agent": seller("shop-elsewhere"), "another buyer": buyer("buyer-x")}


def test_the_matrix_names_only_fields_the_schema_has() -> None:
    assert set(MATRIX) <= set(ROOT_FIELDS), set(MATRIX) - set(ROOT_FIELDS)


@pytest.fixture
async def victim(
    api: GraphQLClient, services: Services, db: Database, clock: SettableClock, shop_id: str
) -> Victim:
    buyer_id = new_buyer_id()
    placed = clock.now() - timedelta(hours=3)  # past the unconditional window: a request waits
    order = await place_order(db, shop_id, buyer_id, placed)
    pending = await place_order(db, shop_id, buyer_id, placed)
    unpaid = await place_order(
        db, shop_id, buyer_id, clock.now() - timedelta(hours=30), state=FulfilmentState.UNPAID
    )
    request = await services.handle(
        Actor(ActorKind.BUYER, buyer_id),
        RequestCancellation(pending.id, "CHANGED_MIND", "victim's note"),
    )
    victim = Victim(shop_id, buyer_id, order.id, pending.id, request.id, unpaid.id)
    if "Query.tickets" in ROOT_FIELDS:
        victim = await _with_helpdesk(api, victim)
    if "Query.afterSale" in ROOT_FIELDS:
        victim = await _with_after_sale(api, db, clock, victim)
    if "Query.webhooks" in ROOT_FIELDS:
        victim = await _with_webhook(api, victim)
    return victim


async def _with_webhook(api: GraphQLClient, v: Victim) -> Victim:
    made = await api(
        "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { ... on WebhookCreated { webhook { id } } } }",
        {"i": {"url": "https://victim.example.com/hook", "eventTypes": ["TICKET_CHANGED"]}},
        seller(v.shop_id),
    )
    return replace(v, webhook_id=made["createWebhook"]["webhook"]["id"])


async def _with_helpdesk(api: GraphQLClient, v: Victim) -> Victim:
    owner = seller(v.shop_id)
    [ticket] = (await api("{ tickets(first: 5) { edges { node { id } } } }", actor=owner))[
        "tickets"
    ]["edges"]
    rule = await api(
        "mutation($r: TicketRuleInput!) { createTicketRule(input: {rule: $r}) { ... on TicketRule { id } } }",
        {"r": TAG_RULE},
        owner,
    )
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    await api(
        "mutation($a: String!) { addShopAgent(input: {agentId: $a}) { __typename } }",
        {"a": agent_id},
        owner,
    )
    return replace(
        v,
        ticket_id=ticket["node"]["id"],
        rule_id=rule["createTicketRule"]["id"],
        agent_id=agent_id,
    )


async def _with_after_sale(
    api: GraphQLClient, db: Database, clock: SettableClock, v: Victim
) -> Victim:
    delivered = await place_order(
        db, v.shop_id, v.buyer_id, clock.now() - timedelta(days=1), state=FulfilmentState.DELIVERED
    )
    asked = await api(
        "mutation($i: RequestAfterSaleInput!) { requestAfterSale(input: $i) { __typename ... on AfterSale { id } } }",
        {
            "i": {
                "orderId": delivered.id,
                "kind": "REFUND_ONLY",
                "reason": "DAMAGED",
                "lines": [{"lineId": delivered.lines[0].line_id, "quantity": 1}],
            }
        },
        buyer(v.buyer_id),
    )
    request_id = asked["requestAfterSale"]["id"]
    return replace(v, delivered_order_id=delivered.id, after_sale_id=request_id)


def _leaks(body: dict[str, Any], victim: Victim, asked: dict[str, Any]) -> set[str]:
    """The victim's ids in an answer. A message may repeat an id the caller sent itself."""

    def strip_messages(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip_messages(v) for k, v in value.items() if k != "message"}
        if isinstance(value, list):
            return [strip_messages(v) for v in value]
        return value

    data = json.dumps(strip_messages(body.get("data")))
    everything = json.dumps(body)
    sent = json.dumps(asked)
    return {s for s in victim.secrets() if s in data or (s in everything and s not in sent)}


def _nothing(data: dict[str, Any] | None) -> bool:
    """No answer at all, or null for the (nullable) field."""
    return data is None or all(value is None for value in data.values())


def _codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code") for e in body.get("errors") or []}


async def _snapshot(db: Database, v: Victim) -> list[Any]:
    orders = await db.orders.find({"shop_id": v.shop_id}).sort("_id").to_list(None)
    requests = await db.cancellations.find({"shop_id": v.shop_id}).sort("_id").to_list(None)
    inbox = await count_notices(db, {"inboxes": inbox_key(Recipient.SHOP, v.shop_id)})
    team = [
        await db.db[name].find({"shop_id": v.shop_id}).sort("_id").to_list(None)
        for name in (
            "tickets",
            "ticket_rules",
            "shop_agents",
            "after_sales",
            "refunds",
            "webhooks",
            "event_consumers",
        )
    ]
    # A consumer's lease is renewed by whichever process delivers its webhook, on its own clock:
    # bookkeeping of the delivery, not something a caller wrote. Its cursor and errors stay.
    for consumer in team[-1]:
        for name in ("lease_owner", "lease_until", "updated_at"):
            consumer.pop(name, None)
    team.append(await db.db["payment_integrations"].find({"_id": v.shop_id}).to_list(None))
    return [orders, requests, inbox, *team]


@pytest.fixture(scope="module")
async def ws_url(services: Services) -> AsyncIterator[str]:
    async with serving(services, default_settings(rate_limit_cost=0)) as url:
        yield url


@pytest.mark.parametrize("coordinate", ROOT_FIELDS)
async def test_no_field_crosses_a_shop_or_a_role(
    coordinate: str,
    api: GraphQLClient,
    db: Database,
    services: Services,
    victim: Victim,
    ws_url: str,
) -> None:
    case = MATRIX.get(coordinate)
    assert case is not None, f"{coordinate} has no matrix entry: add one to MATRIX"
    variables = case.variables(victim)
    before = await _snapshot(db, victim)

    if isinstance(case, Live):
        await _check_live(ws_url, services, case, victim, variables)
        return  # its trigger changed the victim's data on purpose; anonymous: test_hardening
    if isinstance(case, Read):
        await _check_read(api, case, victim, variables)
        if not case.public:
            await _check_read_over_websocket(ws_url, case, victim, variables)
    else:
        await _check_write(api, case, victim, variables)
        assert await _snapshot(db, victim) == before, "a refused write changed the victim's data"

    anonymous = await api.raw(case.document, variables)
    if isinstance(case, Read) and case.public:
        assert "errors" not in anonymous
    else:
        assert _codes(anonymous) == {"UNAUTHENTICATED"}, anonymous
        assert _nothing(anonymous["data"])
    assert await _snapshot(db, victim) == before


async def _check_read(api: GraphQLClient, case: Read, v: Victim, variables: dict) -> None:
    shows = case.shows or (lambda data, victim: bool(_leaks({"data": data}, victim, {})))
    mine = await api.raw(case.document, variables, v.actor(case.owner))
    assert "errors" not in mine, mine
    if case.public:
        for who, outsider in OUTSIDERS.items():
            theirs = await api.raw(case.document, variables, outsider)
            assert theirs == mine, who  # reference data, the same for everyone
        return
    assert shows(mine["data"], v), f"the owner's call shows no victim data: {mine}"
    for who, outsider in OUTSIDERS.items():
        theirs = await api.raw(case.document, variables, outsider)
        if theirs.get("errors"):
            assert _codes(theirs) <= {"FORBIDDEN", "NOT_FOUND"}, (who, theirs)
            assert _nothing(theirs["data"])
        else:
            assert not shows(theirs["data"], v), (who, theirs)
        assert not _leaks(theirs, v, variables), (who, theirs)
        await _same_as_unknown_ids(api, case, v, outsider, theirs, who)


async def _check_write(api: GraphQLClient, case: Write, v: Victim, variables: dict) -> None:
    callers = dict(OUTSIDERS)
    for role in ("buyer", "seller", "reader", "platform"):
        if role not in case.allowed:
            callers[f"the victim's {role}"] = v.actor(role)
    for who, caller in callers.items():
        body = await api.raw(case.document, variables, caller)
        assert "errors" not in body, (who, body)
        refusal = (body["data"]["r"]["__typename"], body["data"]["r"]["code"])
        assert refusal in (("ForbiddenError", "FORBIDDEN"), ("NotFoundError", "NOT_FOUND")), (
            who,
            body,
        )
        assert not _leaks(body, v, variables), (who, body)
        if who in OUTSIDERS:
            await _same_as_unknown_ids(api, case, v, caller, body, who)


GHOST = "-ghost"


async def _same_as_unknown_ids(
    api: GraphQLClient, case: Read | Write, v: Victim, caller: str, theirs: Any, who: str
) -> None:
    """What an outsider got for the victim's ids is what they get for ids that do not exist."""
    ghost = replace(
        v, **{f.name: getattr(v, f.name) + GHOST for f in fields(v) if getattr(v, f.name)}
    )
    unknown = await api.raw(case.document, case.variables(ghost), caller)
    seen = json.loads(json.dumps(unknown).replace(GHOST, ""))
    assert _without_request_ids(seen) == _without_request_ids(theirs), (who, theirs, unknown)


def _without_request_ids(body: Any) -> Any:
    """Each error names its own HTTP request (`extensions.requestId`); the rest must match."""
    for error in body.get("errors") or []:
        error.get("extensions", {}).pop("requestId", None)
    return body


def _results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The execution results among a WebSocket's messages (an `error` message as errors)."""
    out = []
    for m in messages:
        if m["type"] == "next":
            out.append(m["payload"])
        elif m["type"] == "error":
            out.append({"data": None, "errors": m["payload"]})
        elif m["type"] == "closed":
            out.append({"data": None, "errors": [{"extensions": {"code": f"CLOSED_{m['code']}"}}]})
    return out


def _refused_or_blind(
    result: dict[str, Any], v: Victim, shows: Callable[[Any, Victim], bool]
) -> bool:
    if result.get("errors"):
        return _codes(result) <= {"FORBIDDEN", "NOT_FOUND"} and _nothing(result.get("data"))
    data = result.get("data") or {}
    refusals = ("FORBIDDEN", "NOT_FOUND")
    typed = [x for x in data.values() if isinstance(x, dict) and x.get("code") in refusals]
    return bool(typed) or not shows(data, v)


async def _check_read_over_websocket(url: str, case: Read, v: Victim, variables: dict) -> None:
    shows = case.shows or (lambda data, victim: bool(_leaks({"data": data}, victim, {})))
    mine = _results(
        await ws_operation(url, authorization(v.actor(case.owner)), case.document, variables)
    )
    assert mine and all("errors" not in r for r in mine), mine
    assert shows(mine[0]["data"], v), f"the owner's call over the socket shows nothing: {mine}"
    for who, outsider in OUTSIDERS.items():
        theirs = _results(
            await ws_operation(url, authorization(outsider), case.document, variables)
        )
        assert theirs, who
        for result in theirs:
            assert _refused_or_blind(result, v, shows), (who, result)
            assert not _leaks(result, v, variables), (who, result)


async def _check_live(url: str, services: Services, case: Live, v: Victim, variables: dict) -> None:
    """Outsiders listen first (the victim's change happens while they listen), then the owner
    listens for a second change, which proves the same document does report the victim's."""
    shows = case.shows or (lambda data, victim: bool(_leaks({"data": data}, victim, {})))

    async def trigger() -> None:
        await case.trigger(services, v)

    for who, outsider in OUTSIDERS.items():
        theirs = _results(
            await ws_operation(url, authorization(outsider), case.document, variables, trigger)
        )
        for result in theirs:
            assert _refused_or_blind(result, v, shows), (who, result)
            assert not _leaks(result, v, variables), (who, result)
    mine = _results(
        await ws_operation(
            url, authorization(v.actor(case.owner)), case.document, variables, trigger
        )
    )
    assert any(not r.get("errors") and shows(r["data"], v) for r in mine), (
        f"the owner heard nothing of the victim's change: {mine}"
    )

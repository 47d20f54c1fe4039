"""The order intake's changes reach the live feed: a seller subscribed to `orderEvents` hears an
order placed by the shop's integration and its move, in order, from the same transaction."""

from __future__ import annotations

from datetime import timedelta

from api.settings import default_settings
from models.actors import Actor, ActorKind
from models.order_intake import NewLine, OrderStep, OrderUpdate, PlaceOrder
from models.orders import PaymentMethod
from services.bootstrap import Services
from services.order_intake import ExternalUpdate
from tests.support.api_client import authorization
from tests.support.factories import seller
from tests.support.served import serving, ws_operation

DOCUMENT = """subscription($shop: ID) { orderEvents(shopId: $shop) { __typename
  ... on OrderEvent { cursor orderId externalId action fromStage toStage actorKind
                      order { fulfilmentState } }
  ... on UserError { code message } } }"""


async def test_an_order_the_intake_places_and_moves_reaches_a_subscriber(
    services: Services, shop_id: str
) -> None:
    integration = Actor(ActorKind.INTEGRATION, "orders-1", shop_id)
    placed_at = services.clock.now() - timedelta(minutes=10)
    line = NewLine("l1", "SKU-1", "Tent", 1, 1000, "outdoor")
    order = PlaceOrder("F-1", "buyer-1", "USD", (line,), 0, PaymentMethod.PREPAID, placed_at, True)

    async def feed_the_shop() -> None:
        await services.orders.intake.place(integration, shop_id, [order])
        hand = OrderUpdate(OrderStep.HANDED_TO_CARRIER, services.clock.now(), "UPS", "1Z")
        await services.orders.intake.move(integration, shop_id, [ExternalUpdate("F-1", hand)])

    async with serving(services, default_settings(rate_limit_cost=0)) as url:
        messages = await ws_operation(
            url, authorization(seller(shop_id)), DOCUMENT, {"shop": shop_id}, feed_the_shop
        )
    events = [m["payload"]["data"]["orderEvents"] for m in messages if m["type"] == "next"]
    assert [(e["externalId"], e["action"], e["fromStage"], e["toStage"]) for e in events] == [
        ("F-1", "PLACED", None, "PAID"),
        ("F-1", "HANDED_TO_CARRIER", "PAID", "HANDED_TO_CARRIER"),
    ]
    assert {e["actorKind"] for e in events} == {"INTEGRATION"}
    assert events[-1]["order"]["fulfilmentState"] == "IN_TRANSIT"

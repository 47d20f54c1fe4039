"""A shop held by a transaction that never finishes (what a process killed in the middle of a
write leaves: the database keeps its uncommitted writes until its transaction lifetime ends,
60 s on SecantusDB and by default on MongoDB). Other writers of the shop are told
SERVICE_UNAVAILABLE, retryable, within seconds instead of waiting out that lifetime, and write
again once it is gone."""

from __future__ import annotations

import asyncio

from models.clock import SettableClock
from storage.mongo import Database
from tests.support.after_sale_api import ask, delivered_order
from tests.support.api_client import GraphQLClient, authorization
from tests.support.factories import buyer

GUARD = 30  # without the check, the writer waited out the driver's 120 s of retries

ASK = (
    "mutation($input: RequestAfterSaleInput!) { r: requestAfterSale(input: $input) "
    "{ __typename ... on UserError { code } } }"
)


async def test_a_shop_held_by_an_unfinished_transaction_answers_service_unavailable_then_recovers(
    api: GraphQLClient, db: Database, clock: SettableClock, shop_id: str
) -> None:
    first = await delivered_order(db, clock, shop_id)
    second = await delivered_order(db, clock, shop_id)
    landed = await api(
        ASK, {"input": ask(first, "REFUND_ONLY", "DAMAGED", {0: 1})}, buyer(first.buyer_id)
    )
    assert landed["r"]["__typename"] == "AfterSale"

    # A writer that stops after moving the shop's counters, as a killed process does.
    async with db.client.start_session() as dead:
        await dead.start_transaction()
        await db.event_sequences.update_one({"_id": shop_id}, {"$inc": {"seq": 1}}, session=dead)
        asking = {"input": ask(second, "REFUND_ONLY", "DAMAGED", {0: 1})}
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(
                    api.http.post(
                        "/graphql",
                        json={"query": ASK, "variables": asking},
                        headers=authorization(buyer(second.buyer_id)),
                    )
                    for _ in range(3)
                )
            ),
            GUARD,
        )
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "5"
            [error] = answer.json()["errors"]
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
        assert await db.after_sales.count_documents({"order_id": second.id}) == 0
        await dead.abort_transaction()

    again = await api(ASK, asking, buyer(second.buyer_id))
    assert again["r"]["__typename"] == "AfterSale"

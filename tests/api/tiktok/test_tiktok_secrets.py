"""H4: a linked shop's secrets never leave the service. Every logger at DEBUG (the driver's
command log included) while a shop is linked through the route, a buyer's cancellation arrives
and the seller's decision goes to TikTok through a token refresh: no log record, GraphQL answer
or error, or answer of the link route carries the app secret or a token, and the database holds
them sealed."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from api.logs import JsonFormatter
from storage import tiktok_links
from storage import tiktok_requests as mirrors
from storage.mongo import Database
from tests.support.api_client import authorization
from tests.support.tiktok_linked import Linked, eventually, linked_service
from tests.support.tiktok_standin import APP_KEY, APP_SECRET

ACCEPT = """mutation($id: ID!) { acceptCancellation(input: {cancellationId: $id}) {
  __typename ... on Cancellation { status } ... on UserError { code message } } }"""
REJECT_ODD = """mutation($id: ID!) { rejectCancellation(input: {cancellationId: $id,
  reason: OTHER}) { __typename ... on UserError { code message field } } }"""
READ = """query($id: ID!) { cancellation(id: $id) { status
  marketplace { decision { state refusal { code message } } } } }"""
MISSING = """query { cancellation(id: "can_missing") { id } }"""


@pytest.fixture(scope="module")
async def linked(db: Database) -> AsyncIterator[Linked]:
    async with linked_service(db) as service:
        yield service


@contextlib.contextmanager
def every_record() -> Iterator[list[logging.LogRecord]]:
    """Every logger at DEBUG, every record made kept (read once the test is done, as the
    handlers saw it: after the loggers' filters)."""
    records: list[logging.LogRecord] = []
    make = logging.getLogRecordFactory()

    def keep(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        records.append(record)
        return record

    loggers = [logging.root, *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    levels = {logger: logger.level for logger in loggers}
    logging.setLogRecordFactory(keep)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logging.setLogRecordFactory(make)
        for logger, level in levels.items():
            logger.setLevel(level)


async def test_h4_secrets_stay_out_of_every_log_record_answer_and_error_with_debug_on(
    linked: Linked,
) -> None:
    tiktok_shop, shop_id = f"sealed-{linked.tiktok_shop}", f"{linked.shop_id}-sealed"
    first = await linked.authorized_shop(tiktok_shop, "ROW_sealed")
    agent = f"seller:agent-1@{shop_id}+adjustments"
    db = linked.services.db
    answers: list[str] = []

    with every_record() as records:
        route = f"/integrations/tiktok/shops/{shop_id}"
        body = {
            "tiktokShopId": tiktok_shop,
            "appKey": APP_KEY,
            "appSecret": APP_SECRET,
            "accessToken": first["access_token"],
            "refreshToken": first["refresh_token"],
            "shopCipher": "ROW_sealed",
            "apiBase": linked.standin.base,
        }
        for answer in (
            await linked.http.put(route, json=body, headers=authorization(agent)),
            await linked.http.get(route, headers=authorization(agent)),
            await linked.http.put(route, json=body, headers=authorization("buyer:b-1")),
            await linked.http.put(
                route, json=body | {"apiBase": "ftp://x"}, headers=authorization(agent)
            ),
        ):
            answers.append(answer.text)
        assert [len(a) > 0 for a in answers] == [True] * 4

        order = await linked.control(
            "POST",
            "/_standin/orders",
            {
                "shop_id": tiktok_shop,
                # A buyer of its own: another module's stand-in numbers its requests alike, and
                # a mirrored request is opened under the buyer's idempotency key.
                "buyer_user_id": f"buyer-{tiktok_shop}",
                "status": "AWAITING_SHIPMENT",
                "line_items": [{"product_name": "Mug", "sale_price": "12.50"}],
            },
        )
        cancel = await linked.control("POST", "/_standin/cancellations", {"order_id": order["id"]})

        async def mirrored() -> str | None:
            mirror = await mirrors.get(db, shop_id, "cancellation", cancel["cancel_id"])
            return mirror.local_id if mirror else None

        request_id = await eventually(mirrored, "the cancellation mirrored")
        # The decision's call finds the access token expired: refreshed, then sent again.
        await linked.control("POST", f"/_standin/shops/{tiktok_shop}/expire_token")
        for query, variables in (
            (REJECT_ODD, {"id": request_id}),
            (ACCEPT, {"id": request_id}),
            (MISSING, {}),
        ):
            answer = await linked.http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers=authorization(agent),
            )
            answers.append(answer.text)

        async def confirmed() -> bool:
            answer = await linked.http.post(
                "/graphql",
                json={"query": READ, "variables": {"id": request_id}},
                headers=authorization(agent),
            )
            answers.append(answer.text)
            state = answer.json()["data"]["cancellation"]["marketplace"]["decision"] or {}
            return state.get("state") == "CONFIRMED"

        await eventually(confirmed, "the decision confirmed after a token refresh")

    stored = await tiktok_links.get(linked.services.db, shop_id, linked.connection.sealer)
    assert stored is not None and stored.access_token != first["access_token"]  # refreshed
    secrets = [
        APP_SECRET,
        first["access_token"],
        first["refresh_token"],
        stored.access_token,
        stored.refresh_token,
    ]
    formatter = JsonFormatter()
    logged = [formatter.format(r) for r in records]
    # The check saw what it is about: the driver's commands on the links, the refresh's call.
    commands = [t for r, t in zip(records, logged, strict=True) if r.name == "pymongo.command"]
    assert any("tiktok_links" in line for line in commands)
    assert any("/api/v2/token/refresh" in line for line in logged)
    raw = await tiktok_links.collection(linked.services.db).find_one({"_id": shop_id})
    seen = "\n".join([*logged, *answers, repr(raw)])
    for secret in secrets:
        assert secret not in seen

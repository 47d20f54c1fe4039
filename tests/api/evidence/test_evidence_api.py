"""E1 through the API against a real uvicorn: files go up over POST /evidence, are attached by the
step's mutation, listed on the request with URLs signed for the viewer, and come down over GET."""

from __future__ import annotations

import contextlib
import gc
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from gridfs import AsyncGridFSBucket
from pymongo import monitoring

from api.settings import default_settings
from models.clock import SettableClock
from services.bootstrap import Services, build_services
from storage.mongo import Database, connect
from tests.support.after_sale_api import ask, delivered_order, mutate, ok
from tests.support.api_client import GraphQLClient, authorization
from tests.support.factories import PLATFORM, buyer, new_buyer_id, place_order, seller
from tests.support.served import serving

KIB = 1024
MIB = 1024 * KIB

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 40
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 30
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00" + bytes(range(256)) * 300
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00" + bytes(range(256)) * 10

EVIDENCE = """evidence { id kind contentType size step requestId uploadedAt
    uploadedBy { actorKind actorId } url urlExpiresAt }"""
VIEW = f"query($id: ID!) {{ afterSale(id: $id) {{ id {EVIDENCE} }} }}"


@contextlib.asynccontextmanager
async def served(services: Services, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app under a real uvicorn (small limits, the marketplace's reasons needing evidence)."""
    chosen = {
        "graphiql": False,
        "evidence_max_photo_bytes": 256 * KIB,
        "evidence_max_video_bytes": 1 * MIB,
        "evidence_required_reasons": "DAMAGED,NOT_AS_DESCRIBED,HAVE_EVIDENCE",
        **settings,
    }
    async with serving(services, default_settings(**chosen)) as ws_url:
        base = ws_url.replace("ws://", "http://").removesuffix("/graphql")
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield client


async def upload(
    http: httpx.AsyncClient, actor: str, order_id: str, content: Any, **headers: str
) -> httpx.Response:
    return await http.post(
        "/evidence",
        params={"orderId": order_id},
        content=content,
        headers={**authorization(actor), **headers},
    )


async def uploaded(http: httpx.AsyncClient, actor: str, order_id: str, content: Any) -> str:
    response = await upload(http, actor, order_id, content)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def listed(api: GraphQLClient, request_id: str, actor: str) -> list[dict[str, Any]]:
    return (await api(VIEW, {"id": request_id}, actor))["afterSale"]["evidence"]


async def test_e1_buyer_uploads_photo_and_video_and_attaches_them_to_a_request(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    async with served(services) as http:
        api = GraphQLClient(http)
        photo = await uploaded(http, b, order.id, JPEG)
        video = await uploaded(http, b, order.id, MP4)
        r = await ok(
            api,
            "requestAfterSale",
            ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, evidenceIds=[photo, video]),
            b,
        )
        files = await listed(api, r["id"], b)
        assert [(f["id"], f["kind"], f["contentType"], f["size"]) for f in files] == [
            (photo, "PHOTO", "image/jpeg", len(JPEG)),
            (video, "VIDEO", "video/mp4", len(MP4)),
        ]
        assert {(f["step"], f["requestId"]) for f in files} == {("REQUEST", r["id"])}
        assert files[0]["uploadedBy"] == {"actorKind": "BUYER", "actorId": order.buyer_id}

        got = await http.get(files[0]["url"])
        assert (got.status_code, got.headers["content-type"]) == (200, "image/jpeg")
        assert got.content == JPEG
        # A video player asks for ranges.
        part = await http.get(files[1]["url"], headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-1099/{len(MP4)}"
        assert part.content == MP4[100:1100]
        # The shop's agents (even without adjustments) and the platform see them too.
        for viewer in (seller(shop_id, adjust=False), PLATFORM):
            theirs = await listed(api, r["id"], viewer)
            assert (await http.get(theirs[1]["url"])).content == MP4


async def test_e1_type_is_read_from_the_content_not_the_name_or_the_declared_type(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    async with served(services) as http:
        # A PNG called clip.mp4 and declared as a video is a PNG.
        as_video = {
            "content-type": "video/mp4",
            "content-disposition": 'inline; filename="clip.mp4"',
        }
        png = await upload(http, b, order.id, PNG, **as_video)
        assert png.status_code == 201, png.text
        assert (png.json()["kind"], png.json()["contentType"]) == ("PHOTO", "image/png")
        mov = await upload(http, b, order.id, MOV, **{"content-type": "image/jpeg"})
        assert mov.json()["contentType"] == "video/quicktime"
        # A text file called photo.jpg and declared a JPEG is refused.
        as_jpeg = {"content-type": "image/jpeg", "content-disposition": 'inline; filename="a.jpg"'}
        text = await upload(http, b, order.id, b"just some text, not a photo\n" * 50, **as_jpeg)
        assert text.status_code == 415
        assert text.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_e1_a_file_over_its_limit_is_refused_while_streaming_in_constant_memory(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    total = 24 * MIB  # a "photo" 96 times its 256 KiB limit, sent without a Content-Length

    async def body() -> AsyncIterator[bytes]:
        yield PNG[:64]
        block = b"\x00" * (64 * KIB)
        for _ in range(total // len(block)):
            yield block

    chunks_before = await db.db["evidence.chunks"].count_documents({})
    async with served(services) as http:
        gc.collect()
        tracemalloc.start()
        try:
            response = await upload(http, b, order.id, body())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert response.status_code == 413, response.text
        assert response.json()["error"]["maxBytes"] == 256 * KIB
        # Client and server share this process: neither held the file (24 MiB).
        assert peak < 4 * MIB, peak
        # Declared too large: refused before a byte is stored.
        declared = await upload(http, b, order.id, PNG + b"\x00" * (2 * MIB))
        assert declared.status_code == 413
    # What was written before the limit was reached is deleted.
    assert await db.db["evidence.chunks"].count_documents({}) == chunks_before


async def test_e1_another_buyer_or_another_shops_agent_can_neither_list_nor_download(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    outsiders = [buyer(new_buyer_id()), seller("shop-elsewhere")]
    async with served(services) as http:
        api = GraphQLClient(http)
        photo = await uploaded(http, b, order.id, JPEG)
        r = await ok(
            api,
            "requestAfterSale",
            ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, evidenceIds=[photo]),
            b,
        )
        [mine] = await listed(api, r["id"], b)
        for outsider in outsiders:
            body = await api.raw(VIEW, {"id": r["id"]}, outsider)
            assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # as an unknown id
            # The buyer's URL with the outsider's token: the URL is the buyer's alone.
            sent = await http.get(mine["url"], headers=authorization(outsider))
            assert sent.status_code == 403
            # The buyer's URL rewritten to name the outsider: the signature no longer holds.
            parts = urlsplit(mine["url"])
            q = {k: v[0] for k, v in parse_qs(parts.query).items()}
            q["viewer"] = outsider.replace("buyer:", "b:").replace("seller:", "s:").split("+")[0]
            forged = await http.get(f"{parts.path}?{urlencode(q)}")
            assert forged.status_code == 403
        # No URL at all.
        assert (
            await http.get(f"/evidence/{photo}", headers=authorization(outsiders[0]))
        ).status_code == 403
        # Upload for someone else's order: answered as for an order that does not exist.
        for outsider in outsiders:
            other = await upload(http, outsider, order.id, JPEG)
            missing = await upload(http, outsider, "ord_no_such_order", JPEG)
            assert other.status_code == missing.status_code == 404
            assert other.json()["error"]["code"] == missing.json()["error"]["code"] == "NOT_FOUND"
        # The shop's agent who may only read, and the platform, see the order but upload nothing.
        for reader in (seller(shop_id, adjust=False), PLATFORM):
            refused = await upload(http, reader, order.id, JPEG)
            assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")


async def test_e1_an_expired_or_tampered_url_is_refused(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    async with served(services, evidence_url_ttl_seconds=600) as http:
        api = GraphQLClient(http)
        photo = await uploaded(http, b, order.id, JPEG)
        r = await ok(
            api,
            "requestAfterSale",
            ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, evidenceIds=[photo]),
            b,
        )
        [f] = await listed(api, r["id"], b)
        assert (await http.get(f["url"])).status_code == 200
        parts = urlsplit(f["url"])
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        for change in ({"sig": "0" * 64}, {"expires": str(int(q["expires"]) + 3600)}):
            tampered = await http.get(f"{parts.path}?{urlencode({**q, **change})}")
            assert tampered.status_code == 403, change
        clock.advance(timedelta(seconds=601))
        expired = await http.get(f["url"])
        assert expired.status_code == 403
        assert "expired" in expired.json()["error"]["message"]
        # Reading the request again gives a fresh URL.
        [fresh] = await listed(api, r["id"], b)
        assert (await http.get(fresh["url"])).content == JPEG


async def test_e1_a_reason_that_needs_evidence_is_refused_without_it_and_nothing_is_written(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    async with served(services) as http:
        api = GraphQLClient(http)
        bare = await mutate(
            api, "requestAfterSale", ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}), b
        )
        assert (bare["__typename"], bare["field"]) == ("ValidationError", "evidenceIds")
        assert await db.after_sales.count_documents({"order_id": order.id}) == 0
        # A reason that needs none goes through without files.
        r = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "OTHER", {0: 1}), b)
        await ok(api, "rejectAfterSale", {"requestId": r["id"], "reason": "OTHER"}, seller(shop_id))
        # An appeal saying "I have evidence" must bring it.
        appeal = {"requestId": r["id"], "reason": "HAVE_EVIDENCE"}
        refused = await mutate(api, "appealAfterSale", appeal, b)
        assert (refused["__typename"], refused["field"]) == ("ValidationError", "evidenceIds")
        video = await uploaded(http, b, order.id, MP4)
        appealed = await ok(api, "appealAfterSale", {**appeal, "evidenceIds": [video]}, b)
        assert appealed["status"] == "APPEALED"
        assert [(f["id"], f["step"]) for f in await listed(api, r["id"], PLATFORM)] == [
            (video, "APPEAL")
        ]


async def test_e1_seller_attaches_images_to_a_rejection_and_a_rejection_on_receipt(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b, s = buyer(order.buyer_id), seller(shop_id)
    async with served(services) as http:
        api = GraphQLClient(http)
        first = await ok(api, "requestAfterSale", ask(order, "REFUND_ONLY", "OTHER", {0: 1}), b)
        # Sellers attach images only.
        clip = await uploaded(http, s, order.id, MP4)
        video = await mutate(
            api,
            "rejectAfterSale",
            {"requestId": first["id"], "reason": "OTHER", "evidenceIds": [clip]},
            s,
        )
        assert (video["__typename"], video["field"]) == ("ValidationError", "evidenceIds")
        shot = await uploaded(http, s, order.id, PNG)
        await ok(
            api,
            "rejectAfterSale",
            {"requestId": first["id"], "reason": "OTHER", "evidenceIds": [shot]},
            s,
        )
        [f] = await listed(api, first["id"], b)
        assert (f["id"], f["step"], f["uploadedBy"]["actorKind"]) == (
            shot,
            "REJECTION",
            "SELLER_AGENT",
        )
        assert (await http.get(f["url"])).content == PNG  # the buyer sees the seller's proof

        ret = await ok(api, "requestAfterSale", ask(order, "RETURN_AND_REFUND", "OTHER", {1: 1}), b)
        await ok(api, "approveAfterSale", {"requestId": ret["id"], "decision": "APPROVE_RETURN"}, s)
        ship = {"requestId": ret["id"], "carrier": "UPS", "trackingNumber": "1Z999"}
        await ok(api, "shipReturn", ship, b)
        worn = await uploaded(http, s, order.id, JPEG)
        receipt = {"requestId": ret["id"], "reason": "DAMAGED_BY_BUYER", "evidenceIds": [worn]}
        await ok(api, "rejectReturnOnReceipt", receipt, s)
        assert [(x["id"], x["step"]) for x in await listed(api, ret["id"], b)] == [
            (worn, "RECEIPT_REJECTION")
        ]


async def test_e1_only_the_uploaders_own_pending_uploads_of_the_order_can_be_attached(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    other_order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    async with served(services, evidence_pending_ttl_seconds=60) as http:
        api = GraphQLClient(http)
        theirs = await uploaded(http, buyer(other_order.buyer_id), other_order.id, JPEG)
        for_other_order = await uploaded(http, b, order.id, JPEG)
        await db.db["evidence"].update_one(
            {"_id": for_other_order}, {"$set": {"order_id": other_order.id}}
        )
        stale = await uploaded(http, b, order.id, JPEG)
        clock.advance(timedelta(seconds=61))
        for ids in ([theirs], [for_other_order], [stale], ["evd_nothing"]):
            refused = await mutate(
                api,
                "requestAfterSale",
                ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, evidenceIds=ids),
                b,
            )
            assert (refused["__typename"], refused["field"]) == (
                "ValidationError",
                "evidenceIds",
            ), ids
        fresh = await uploaded(http, b, order.id, JPEG)
        r = await ok(
            api,
            "requestAfterSale",
            ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, evidenceIds=[fresh]),
            b,
        )
        # Attached once: a second step cannot take it again.
        await ok(api, "rejectAfterSale", {"requestId": r["id"], "reason": "OTHER"}, seller(shop_id))
        again = await mutate(
            api,
            "appealAfterSale",
            {"requestId": r["id"], "reason": "OTHER", "evidenceIds": [fresh]},
            b,
        )
        assert (again["__typename"], again["field"]) == ("ValidationError", "evidenceIds")


async def test_e1_each_caller_has_an_upload_budget(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    async with served(services, evidence_budget_bytes=len(MP4) * 2 + 10) as http:
        for _ in range(2):
            assert (await upload(http, b, order.id, MP4)).status_code == 201
        spent = await upload(http, b, order.id, MP4)
        assert (spent.status_code, spent.json()["error"]["code"]) == (429, "RATE_LIMITED")
        assert spent.headers["retry-after"]
        # Another caller's budget is their own.
        s = seller(shop_id)
        assert (await upload(http, s, order.id, JPEG)).status_code == 201


@pytest.mark.parametrize("actor", ["", "not-a-token"])
async def test_e1_upload_needs_a_valid_token(services: Services, actor: str) -> None:
    async with served(services) as http:
        response = await upload(http, actor, "ord-1", JPEG)
        assert response.status_code == 401


async def test_e1_an_accepted_video_is_stored_and_served_in_constant_memory(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    size = 16 * MIB
    block = bytes(range(256)) * 256

    async def body() -> AsyncIterator[bytes]:
        yield MP4[:16]
        for _ in range((size - 16) // len(block)):
            yield block
        yield block[: (size - 16) % len(block)]

    async with served(services, evidence_max_video_bytes=20 * MIB) as http:
        api = GraphQLClient(http)
        gc.collect()
        tracemalloc.start()
        try:
            video = await uploaded(http, b, order.id, body())
            _, upload_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        r = await ok(
            api,
            "requestAfterSale",
            ask(order, "REFUND_ONLY", "OTHER", {0: 1}, evidenceIds=[video]),
            b,
        )
        [f] = await listed(api, r["id"], b)
        gc.collect()
        tracemalloc.start()
        try:
            received = 0
            async with http.stream("GET", f["url"]) as got:
                async for chunk in got.aiter_raw():
                    received += len(chunk)
            _, download_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert received == f["size"] == size
    # Client and server share this process: what they held at once (a batch of chunks on its
    # way to the database, one on the socket) is a few MiB, never the 16 MiB file.
    assert upload_peak < 6 * MIB, upload_peak
    assert download_peak < 6 * MIB, download_peak
    # Stored as GridFS: any GridFS client reads it back.
    stored = await db.db["evidence"].find_one({"_id": video})
    assert stored is not None
    grid_out = await AsyncGridFSBucket(db.db, bucket_name="evidence").open_download_stream(
        stored["file_id"]
    )
    head = await grid_out.read(16)
    assert (head, grid_out.length) == (MP4[:16], size)


async def test_e1_unattached_uploads_expire_and_their_bytes_are_deleted(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    order = await delivered_order(db, clock, shop_id)
    b = buyer(order.buyer_id)
    async with served(services, evidence_pending_ttl_seconds=60) as http:
        left = await uploaded(http, b, order.id, MP4)
        stored = await db.db["evidence"].find_one({"_id": left})
        assert stored is not None
        assert await db.db["evidence.chunks"].count_documents({"files_id": stored["file_id"]}) > 0
        clock.advance(timedelta(seconds=61))
        await uploaded(http, b, order.id, JPEG)  # an upload sweeps what expired
    swept = await db.db["evidence"].find_one({"_id": left})
    assert swept is not None
    assert (swept["status"], swept["file_id"], swept["size"]) == ("EXPIRED", None, len(MP4))
    assert await db.db["evidence.chunks"].count_documents({"files_id": stored["file_id"]}) == 0
    assert await db.db["evidence.files"].count_documents({"_id": stored["file_id"]}) == 0


class _Finds(monitoring.CommandListener):
    """Counts the `find` commands sent to one collection."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command.get("find") == self.collection:
            self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_e1_a_page_of_requests_reads_its_evidence_in_one_query(
    mongodb_uri: str, db: Database, clock: SettableClock, shop_id: str
) -> None:
    finds = _Finds("evidence")
    own = connect(mongodb_uri, db.db.name, event_listeners=[finds])
    try:
        services = await build_services(own, clock)
        async with served(services) as http:
            api = GraphQLClient(http)
            for _ in range(5):
                order = await delivered_order(db, clock, shop_id)
                b = buyer(order.buyer_id)
                photos = [await uploaded(http, b, order.id, JPEG) for _ in range(2)]
                ask_ = ask(order, "REFUND_ONLY", "DAMAGED", {0: 1}, evidenceIds=photos)
                await ok(api, "requestAfterSale", ask_, b)
            page = f"query($shop: ID) {{ afterSales(shopId: $shop, first: 10) {{ nodes {{ id {EVIDENCE} }} }} }}"
            finds.count = 0
            nodes = (await api(page, {"shop": shop_id}, seller(shop_id)))["afterSales"]["nodes"]
            assert [len(n["evidence"]) for n in nodes] == [2] * 5
            assert finds.count == 1
    finally:
        await own.close()


CANCEL = """mutation($order: ID!) { requestCancellation(input: {orderId: $order, reason: CHANGED_MIND})
  { __typename ... on Cancellation { id status } } }"""
REJECT_CANCEL = f"""mutation($input: RejectCancellationInput!) {{ rejectCancellation(input: $input) {{
  __typename ... on Cancellation {{ id status {EVIDENCE} }} ... on UserError {{ code field }} }} }}"""
VIEW_CANCEL = f"query($id: ID!) {{ cancellation(id: $id) {{ id {EVIDENCE} }} }}"


async def test_e1_seller_attaches_images_to_a_cancellation_rejection(
    services: Services, db: Database, clock: SettableClock, shop_id: str
) -> None:
    buyer_id = new_buyer_id()
    order = await place_order(db, shop_id, buyer_id, clock.now() - timedelta(hours=5))
    b, s = buyer(buyer_id), seller(shop_id)
    async with served(services) as http:
        api = GraphQLClient(http)
        pending = (await api(CANCEL, {"order": order.id}, b))["requestCancellation"]
        assert pending["status"] == "PENDING"
        clip = await uploaded(http, s, order.id, MP4)
        reject = {"cancellationId": pending["id"], "reason": "ALREADY_SHIPPED"}
        video = (await api(REJECT_CANCEL, {"input": {**reject, "evidenceIds": [clip]}}, s))[
            "rejectCancellation"
        ]
        assert (video["__typename"], video["field"]) == ("ValidationError", "evidenceIds")
        label = await uploaded(http, s, order.id, PNG)
        done = (await api(REJECT_CANCEL, {"input": {**reject, "evidenceIds": [label]}}, s))[
            "rejectCancellation"
        ]
        assert done["status"] == "REJECTED"
        assert [(f["id"], f["step"]) for f in done["evidence"]] == [(label, "REJECTION")]
        [f] = (await api(VIEW_CANCEL, {"id": pending["id"]}, b))["cancellation"]["evidence"]
        assert (await http.get(f["url"])).content == PNG
        other = await api.raw(VIEW_CANCEL, {"id": pending["id"]}, buyer(new_buyer_id()))
        assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"

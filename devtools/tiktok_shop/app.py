"""The stand-in's HTTP face: TikTok Shop's signed Open API (Return and Refund 202309, the shops
and order reads), and the unsigned control API under /_standin/ that tests and demos drive."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devtools.tiktok_shop import auth, codes
from devtools.tiktok_shop.chaos import Chaos
from devtools.tiktok_shop.control import control_routes
from devtools.tiktok_shop.marketplace import Marketplace
from devtools.tiktok_shop.orders import Refused, Shop
from devtools.tiktok_shop.paging import page
from devtools.tiktok_shop.statuses import (
    BUYER_SHIPPED_ITEM,
    CANCEL_REJECT_REASONS,
    EVENT_TYPES,
    RECEIVE_REJECT_REASONS,
    RETURN_REJECT_REASONS,
)
from devtools.tiktok_shop.traffic import Traffic
from devtools.tiktok_shop.verify import expected_sign, sign_matches
from devtools.tiktok_shop.webhooks import WebhookSender

API = "/return_refund/202309"
# TikTok: a timestamp more than 5 minutes old, or ahead of the platform's clock, is refused.
TIMESTAMP_PAST_SECONDS = 300
TIMESTAMP_FUTURE_SECONDS = 30
MAX_IDEMPOTENCY_KEY = 255


@dataclass
class Settings:
    app_key: str
    app_secret: str
    webhook_url: str | None = None
    shop_id: str = "7495540735365777507"
    shop_cipher: str = "ROW_standin_cipher"
    access_token: str = "TTP_standin_access_token"
    seed: int = 0
    response_window_seconds: int = 2 * 24 * 3600
    retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)
    auto_complete: bool = True
    first_id: int = 1  # where the ids of orders, requests and webhooks start counting
    webhook_concurrency: int = 1  # deliveries under way at once (TikTok's: many)


def request_id() -> str:
    # TikTok's look: the time to the second, then random hex.
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


def envelope(code: int, message: str, data: Any = None, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "request_id": request_id(), "data": data},
        status_code=status,
    )


class Refusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Call:
    """What a signed handler gets: the shop, the query and the JSON body."""

    shop: Shop | None
    query: dict[str, str]
    body: dict[str, Any]
    path_params: dict[str, str]

    @property
    def shop_id(self) -> str:
        assert self.shop is not None
        return self.shop.shop_id

    def idempotency_key(self) -> str | None:
        return self.query.get("idempotency_key") or None


Handler = Callable[[Call], Any]


class StandIn:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.chaos = Chaos(seed=settings.seed)
        self.sender = WebhookSender(
            settings.app_key,
            settings.app_secret,
            settings.webhook_url,
            self.chaos,
            retry_delays=settings.retry_delays,
            first_id=settings.first_id,
            concurrency=settings.webhook_concurrency,
        )
        self.market = Marketplace(
            lambda shop, type_, data: self.sender.notify(shop, type_, data, self.market.now()),
            response_window_seconds=settings.response_window_seconds,
            auto_complete=settings.auto_complete,
            first_id=settings.first_id,
        )
        self.market.add_shop(settings.shop_id, settings.shop_cipher, settings.access_token)
        self.traffic: Traffic | None = None  # paced changes asked for by the control API
        # (shop, route, key) -> (fingerprint of the request, the answer's status and body)
        self.idempotent: dict[tuple[str, str, str], tuple[str, int, bytes]] = {}
        self.calls = {
            "total": 0,
            "refused_auth": 0,
            "throttled": 0,
            "server_error": 0,
            "timeout": 0,
        }

    # -- the signed Open API -------------------------------------------------------------------

    def signed(
        self, handler: Handler, *, write: bool = False, needs_shop: bool = True
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            self.calls["total"] += 1
            raw = await request.body()
            try:
                call = self._authenticate(request, raw, needs_shop)
            except Refusal as refusal:
                self.calls["refused_auth"] += 1
                return envelope(refusal.code, refusal.message, status=refusal.status)
            return await self._answer(request, call, raw, handler, write)

        return endpoint

    def _authenticate(self, request: Request, raw: bytes, needs_shop: bool) -> Call:
        query = dict(request.query_params)
        if query.get("app_key") != self.settings.app_key:
            raise Refusal(401, codes.INVALID_PARAMETER, "Invalid credentials. Invalid `app_key`.")
        wanted = expected_sign(
            self.settings.app_secret,
            request.url.path,
            request.url.query,
            raw,
            method=request.method,
            content_type=request.headers.get("content-type", ""),
        )
        if not sign_matches(query.get("sign", ""), wanted):
            raise Refusal(
                401, codes.BAD_SIGN, "Invalid credentials. The `sign` query parameter is invalid."
            )
        try:
            stamp = int(query.get("timestamp", ""))
        except ValueError:
            stamp = -1
        now = time.time()
        if not now - TIMESTAMP_PAST_SECONDS <= stamp <= now + TIMESTAMP_FUTURE_SECONDS:
            raise Refusal(
                401, codes.INVALID_PARAMETER, "Invalid timestamp. The `timestamp` is out of range."
            )
        token = request.headers.get("x-tts-access-token", "")
        shop: Shop | None = None
        if needs_shop:
            cipher = query.get("shop_cipher")
            if not cipher:
                raise Refusal(
                    200, codes.SHOP_CIPHER_MISSING, "Missing identifier. `shop_cipher` is required."
                )
            shop = self.market.shop_by_cipher(cipher)
            if shop is None:
                raise Refusal(200, codes.SHOP_CIPHER_INVALID, "Invalid `shop_cipher`.")
            tokens = {shop.access_token}
        else:
            tokens = {s.access_token for s in self.market.shops.values()}
        if not token or not any(sign_matches(token, t) for t in tokens):
            raise Refusal(
                401,
                codes.INVALID_PARAMETER,
                "Invalid credentials. The `x-tts-access-token` header is invalid.",
            )
        if shop is not None and shop.token_expired:
            raise Refusal(401, codes.TOKEN_EXPIRED, "Expired credentials. The token has expired.")
        body: dict[str, Any] = {}
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise Refusal(200, codes.INVALID_PARAMETER, "The body is not JSON.") from exc
            if not isinstance(body, dict):
                raise Refusal(200, codes.INVALID_PARAMETER, "The body is not a JSON object.")
        return Call(shop, query, body, dict(request.path_params))

    async def _answer(
        self, request: Request, call: Call, raw: bytes, handler: Handler, write: bool
    ) -> JSONResponse:
        knobs, rng = self.chaos.calls, self.chaos.call_rng
        throttle, fail, late, ambiguous = (rng.random() for _ in range(4))
        if throttle < knobs.throttle:
            self.calls["throttled"] += 1
            return envelope(
                codes.THROTTLED,
                "Too many requests. You've made too many requests in a short period of time.",
                status=429,
            )
        applies_anyway = write and ambiguous < knobs.applied_anyway
        if fail < knobs.server_error:
            self.calls["server_error"] += 1
            if applies_anyway:
                self._run(request, call, raw, handler, write)
            return envelope(codes.INTERNAL_ERROR, "Internal error. Please try again.", status=500)
        if late < knobs.timeout:
            self.calls["timeout"] += 1
            if applies_anyway:
                answer = self._run(request, call, raw, handler, write)
                await asyncio.sleep(knobs.timeout_seconds)
                return answer
            await asyncio.sleep(knobs.timeout_seconds)
        return self._run(request, call, raw, handler, write)

    def _run(
        self, request: Request, call: Call, raw: bytes, handler: Handler, write: bool
    ) -> JSONResponse:
        key = call.idempotency_key() if write else None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            return envelope(codes.INVALID_PARAMETER, "idempotency_key is over 255 characters")
        slot = (call.shop_id if call.shop else "", request.url.path, key or "")
        unsigned = sorted(
            (k, v)
            for k, v in call.query.items()
            if k not in ("sign", "timestamp", "access_token", "idempotency_key")
        )
        fingerprint = hashlib.sha256(json.dumps([unsigned, raw.decode()]).encode()).hexdigest()
        if key is not None and slot in self.idempotent:
            seen, status, body = self.idempotent[slot]
            if seen != fingerprint:
                return envelope(
                    codes.IDEMPOTENCY_KEY_REUSED,
                    "idempotency_key was used with a different request",
                )
            return JSONResponse(json.loads(body), status_code=status)
        try:
            answer = envelope(codes.OK, "Success", handler(call))
        except Refused as refused:
            answer = envelope(refused.code, refused.message)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            # A body of the wrong shape (a list where an object goes, a word for a number).
            answer = envelope(codes.INVALID_PARAMETER, f"Invalid parameter: {exc}")
        if key is not None:
            self.idempotent[slot] = (fingerprint, answer.status_code, bytes(answer.body))
        return answer

    # -- Open API handlers ---------------------------------------------------------------------

    def authorized_shops(self, call: Call) -> dict[str, Any]:
        return {
            "shops": [
                {
                    "id": s.shop_id,
                    "name": s.name,
                    "cipher": s.cipher,
                    "code": s.shop_id[-6:],
                    "region": "US",
                    "seller_type": "LOCAL",
                }
                for s in self.market.shops.values()
            ]
        }

    def get_orders(self, call: Call) -> dict[str, Any]:
        ids = [i for i in call.query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 50:
            raise Refused(codes.INVALID_PARAMETER, "ids: 1 to 50 order ids")
        found = [self.market.orders.get(i) for i in ids]
        return {"orders": [o.view() for o in found if o is not None and o.shop_id == call.shop_id]}

    def _page_args(self, call: Call) -> tuple[int, str, str, str]:
        try:
            size = int(call.query.get("page_size", ""))
        except ValueError:
            size = 0
        if not 1 <= size <= 50:
            raise Refused(codes.INVALID_PARAMETER, "page_size must be between 1 and 50")
        sort_field = call.query.get("sort_field", "create_time")
        if sort_field not in ("create_time", "update_time"):
            raise Refused(codes.INVALID_PARAMETER, "sort_field: create_time or update_time")
        sort_order = call.query.get("sort_order", "DESC").upper()
        if sort_order not in ("ASC", "DESC"):
            raise Refused(codes.INVALID_PARAMETER, "sort_order: ASC or DESC")
        return size, call.query.get("page_token", ""), sort_field, sort_order

    @staticmethod
    def _matches(item: dict[str, Any], body: dict[str, Any], filters: dict[str, str]) -> bool:
        for name, item_field in filters.items():
            wanted = body.get(name)
            if wanted and item[item_field] not in wanted:
                return False
        for bound, item_field in (("create_time", "create_time"), ("update_time", "update_time")):
            ge, lt = body.get(f"{bound}_ge"), body.get(f"{bound}_lt")
            if ge is not None and item[item_field] < int(ge):
                return False
            if lt is not None and item[item_field] >= int(lt):
                return False
        return True

    def search_cancellations(self, call: Call) -> dict[str, Any]:
        filters = {
            "cancel_ids": "cancel_id",
            "order_ids": "order_id",
            "buyer_user_ids": "buyer_user_id",
            "cancel_status": "cancel_status",
            "cancel_types": "cancel_type",
        }
        return self._search(call, self.market.cancellations, filters, "cancel_id", "cancellations")

    def search_returns(self, call: Call) -> dict[str, Any]:
        filters = {
            "return_ids": "return_id",
            "order_ids": "order_id",
            "buyer_user_ids": "buyer_user_id",
            "return_status": "return_status",
            "return_types": "return_type",
            "arbitration_status": "arbitration_status",
        }
        return self._search(call, self.market.returns, filters, "return_id", "return_orders")

    def _search(
        self,
        call: Call,
        by_id: Mapping[str, Any],
        filters: dict[str, str],
        id_field: str,
        key: str,
    ) -> dict[str, Any]:
        """One page of the shop's requests that match the body's filters, as TikTok answers.
        A search by ids looks them up rather than viewing every request the stand-in holds: a
        search of a load run's batch cost more the longer it ran (`benchmarks.ingest`)."""
        size, token, sort_field, sort_order = self._page_args(call)
        ids = call.body.get(f"{id_field}s")
        if isinstance(ids, list):
            items = [by_id[i] for i in dict.fromkeys(ids) if isinstance(i, str) and i in by_id]
        else:
            items = list(by_id.values())
        views = []
        for item in items:
            if item.shop_id != call.shop_id:
                continue
            order = self.market.orders[item.order_id]
            view = item.view(order) | {"buyer_user_id": order.buyer_user_id}
            if self._matches(view, call.body, filters):
                views.append(view)
        chunk, next_token = page(
            views,
            sort_field=sort_field,
            sort_order=sort_order,
            id_field=id_field,
            page_size=size,
            page_token=token,
        )
        return {key: chunk, "next_page_token": next_token, "total_count": len(views)}

    def approve_cancellation(self, call: Call) -> dict[str, Any]:
        cancel = self.market.cancellation(call.shop_id, call.path_params["cancel_id"])
        self.market.approve_cancellation(cancel, call.idempotency_key())
        return {}

    def reject_cancellation(self, call: Call) -> dict[str, Any]:
        cancel = self.market.cancellation(call.shop_id, call.path_params["cancel_id"])
        self.market.reject_cancellation(
            cancel,
            str(call.body.get("reject_reason", "")),
            str(call.body.get("comment", "")),
            call.idempotency_key(),
        )
        return {}

    def seller_cancel(self, call: Call) -> dict[str, Any]:
        order_id = call.body.get("order_id")
        reason = call.body.get("cancel_reason")
        if not order_id or not reason:
            raise Refused(codes.INVALID_PARAMETER, "order_id and cancel_reason are required")
        order = self.market.order(call.shop_id, str(order_id))
        line_ids = [str(i) for i in call.body.get("order_line_item_ids") or []]
        for sku in call.body.get("skus") or []:
            # A sku with a quantity names that many of the order's open lines of that sku.
            matching = [
                line.id
                for line in order.open_lines()
                if line.sku_id == str(sku.get("sku_id")) and line.id not in line_ids
            ]
            line_ids += matching[: int(sku.get("quantity", 1))]
        cancel = self.market.seller_cancels(order, str(reason), line_ids, call.idempotency_key())
        return {"cancel_id": cancel.cancel_id, "cancel_status": cancel.status}

    def approve_return(self, call: Call) -> dict[str, Any]:
        request = self.market.return_(call.shop_id, call.path_params["return_id"])
        self.market.approve_return(
            request,
            str(call.body.get("decision", "")),
            buyer_keep_item=bool(call.body.get("buyer_keep_item", False)),
            partial_refund=call.body.get("partial_refund"),
            key=call.idempotency_key(),
        )
        return {}

    def reject_return(self, call: Call) -> dict[str, Any]:
        request = self.market.return_(call.shop_id, call.path_params["return_id"])
        self.market.reject_return(
            request,
            str(call.body.get("decision", "")),
            str(call.body.get("reject_reason", "")),
            str(call.body.get("comment", "")),
            call.idempotency_key(),
        )
        return {}

    def return_records(self, call: Call) -> dict[str, Any]:
        request = self.market.return_(call.shop_id, call.path_params["return_id"])
        return {"records": [r.view() for r in request.records]}

    def reject_reasons(self, call: Call) -> dict[str, Any]:
        ident = call.query.get("return_or_cancel_id", "")
        if ident in self.market.cancellations:
            self.market.cancellation(call.shop_id, ident)
            reasons = CANCEL_REJECT_REASONS
        else:
            request = self.market.return_(call.shop_id, ident)
            reasons = (
                RECEIVE_REJECT_REASONS
                if request.status == BUYER_SHIPPED_ITEM
                else RETURN_REJECT_REASONS
            )
        return {"reasons": [{"name": name, "text": text} for name, text in reasons.items()]}

    def aftersale_eligibility(self, call: Call) -> dict[str, Any]:
        order = self.market.order(call.shop_id, call.path_params["order_id"])
        initiator = call.query.get("initiate_aftersale_user", "SELLER")
        if initiator not in ("SELLER", "BUYER"):
            raise Refused(codes.INVALID_PARAMETER, "initiate_aftersale_user: SELLER or BUYER")
        return {"line_items": self.market.eligibility(order, initiator)}

    def calculate_refund(self, call: Call) -> dict[str, Any]:
        kind = call.body.get("request_type")
        if kind not in ("CANCEL", "REFUND", "RETURN_AND_REFUND"):
            raise Refused(
                codes.INVALID_PARAMETER, "request_type: CANCEL, REFUND or RETURN_AND_REFUND"
            )
        order = self.market.order(call.shop_id, str(call.body.get("order_id", "")))
        line_ids = [str(i) for i in call.body.get("order_line_item_ids") or []]
        covered = line_ids or [line.id for line in order.open_lines()]
        return self.market._refund_for(order, covered).view()

    def _event_type(self, call: Call) -> int:
        name = call.body.get("event_type")
        if name not in EVENT_TYPES:
            raise Refused(codes.INVALID_PARAMETER, f"event_type: one of {sorted(EVENT_TYPES)}")
        return EVENT_TYPES[name]

    def shop_webhooks(self, call: Call) -> dict[str, Any]:
        registered = self.sender.registered
        return {
            "webhooks": [
                {"event_type": name, "address": registered[(call.shop_id, type_)]}
                for name, type_ in EVENT_TYPES.items()
                if (call.shop_id, type_) in registered
            ]
        }

    def update_shop_webhook(self, call: Call) -> dict[str, Any]:
        type_ = self._event_type(call)
        address = str(call.body.get("address", ""))
        if not address.startswith(("https://", "http://")):
            raise Refused(codes.INVALID_PARAMETER, "address: an http(s) URL")
        self.sender.registered[(call.shop_id, type_)] = address
        return {}

    def delete_shop_webhook(self, call: Call) -> dict[str, Any]:
        self.sender.registered.pop((call.shop_id, self._event_type(call)), None)
        return {}

    def token_call(self, grant: str) -> Callable[[Request], Awaitable[JSONResponse]]:
        exchange = auth.token_get if grant == "get" else auth.token_refresh

        async def endpoint(request: Request) -> JSONResponse:
            self.calls["total"] += 1
            query = dict(request.query_params)
            try:
                data = exchange(self.market, query, self.settings.app_key, self.settings.app_secret)
            except Refused as refused:
                return envelope(refused.code, refused.message)
            return envelope(codes.OK, "success", data)

        return endpoint

    # -- the control API -----------------------------------------------------------------------

    def routes(self) -> list[Route]:
        s = self.signed
        api = [
            Route("/api/v2/token/get", self.token_call("get")),
            Route("/api/v2/token/refresh", self.token_call("refresh")),
            Route("/authorization/202309/shops", s(self.authorized_shops, needs_shop=False)),
            Route("/order/202309/orders", s(self.get_orders)),
            Route("/event/202309/webhooks", s(self.shop_webhooks), methods=["GET"]),
            Route("/event/202309/webhooks", s(self.update_shop_webhook), methods=["PUT"]),
            Route("/event/202309/webhooks", s(self.delete_shop_webhook), methods=["DELETE"]),
            Route(f"{API}/cancellations/search", s(self.search_cancellations), methods=["POST"]),
            Route(
                f"{API}/cancellations/{{cancel_id}}/approve",
                s(self.approve_cancellation, write=True),
                methods=["POST"],
            ),
            Route(
                f"{API}/cancellations/{{cancel_id}}/reject",
                s(self.reject_cancellation, write=True),
                methods=["POST"],
            ),
            Route(f"{API}/cancellations", s(self.seller_cancel, write=True), methods=["POST"]),
            Route(f"{API}/returns/search", s(self.search_returns), methods=["POST"]),
            Route(
                f"{API}/returns/{{return_id}}/approve",
                s(self.approve_return, write=True),
                methods=["POST"],
            ),
            Route(
                f"{API}/returns/{{return_id}}/reject",
                s(self.reject_return, write=True),
                methods=["POST"],
            ),
            Route(f"{API}/returns/{{return_id}}/records", s(self.return_records)),
            Route(f"{API}/reject_reasons", s(self.reject_reasons)),
            Route(
                f"{API}/orders/{{order_id}}/aftersale_eligibility", s(self.aftersale_eligibility)
            ),
            Route(f"{API}/refunds/calculate", s(self.calculate_refund), methods=["POST"]),
        ]
        return api + control_routes(self)

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(_: Starlette) -> Any:
            await self.sender.start()
            yield
            if self.traffic is not None and self.traffic.task is not None:
                self.traffic.task.cancel()
            await self.sender.stop()

        return Starlette(routes=self.routes(), lifespan=lifespan)

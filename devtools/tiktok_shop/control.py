"""The unsigned control API under /_standin/: seed shops, orders and requests, make the
marketplace's own moves (buyers, the system, arbitration), read what was applied, set chaos.

A refusal answers HTTP 409 with `{code, message}`; a malformed body 400."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devtools.tiktok_shop import codes
from devtools.tiktok_shop.auth import new_auth_code
from devtools.tiktok_shop.orders import Refused
from devtools.tiktok_shop.traffic import Traffic, run

if TYPE_CHECKING:
    from devtools.tiktok_shop.app import StandIn

Body = dict[str, Any]
Action = Callable[[Request, Body], Any]


def _endpoint(action: Action) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return JSONResponse({"message": "the body is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"message": "the body is not a JSON object"}, status_code=400)
        try:
            return JSONResponse(action(request, body))
        except Refused as refused:
            return JSONResponse({"code": refused.code, "message": refused.message}, status_code=409)
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"message": f"bad request: {exc!r}"}, status_code=400)

    return endpoint


def control_routes(standin: StandIn) -> list[Route]:
    market = standin.market

    def health(request: Request, body: Body) -> Any:
        return {"ok": True, "now": market.now()}

    def add_shop(request: Request, body: Body) -> Any:
        shop = market.add_shop(
            str(body["shop_id"]), str(body["shop_cipher"]), str(body["access_token"])
        )
        return {"shop_id": shop.shop_id, "shop_cipher": shop.cipher}

    def expire_token(request: Request, body: Body) -> Any:
        market.shops[request.path_params["shop_id"]].token_expired = bool(body.get("expired", True))
        return {"ok": True}

    def auth_code(request: Request, body: Body) -> Any:
        return {"auth_code": new_auth_code(market.shops[request.path_params["shop_id"]])}

    def add_order(request: Request, body: Body) -> Any:
        shop_id = str(body.get("shop_id", standin.settings.shop_id))
        if "count" in body:
            # Many at once (for load): `count` orders of this spec, each with its own id.
            spec = {k: v for k, v in body.items() if k not in ("count", "order_id")}
            return {"ids": [market.add_order(shop_id, spec).order_id for _ in range(body["count"])]}
        return market.add_order(shop_id, body).view()

    def move_order(request: Request, body: Body) -> Any:
        order = market.orders[request.path_params["order_id"]]
        market.move_order(order, str(body["status"]))
        return order.view()

    def _order(body: Body) -> Any:
        order = market.orders.get(str(body["order_id"]))
        if order is None:
            raise KeyError(f"order {body['order_id']}")
        return order

    def buyer_cancels(request: Request, body: Body) -> Any:
        order = _order(body)
        cancel = market.buyer_cancels(
            order,
            str(body.get("cancel_reason", "buyer_changed_mind")),
            [str(i) for i in body.get("line_item_ids") or []],
        )
        return cancel.view(order)

    def cancellation_action(request: Request, body: Body) -> Any:
        cancel = market.cancellations[request.path_params["cancel_id"]]
        action = request.path_params["action"]
        moves = {
            "withdraw": market.buyer_withdraws_cancellation,
            "auto_approve": market.system_approves_cancellation,
            "complete": market.complete_cancellation,
        }
        if action not in moves:
            raise KeyError(f"action {action}; one of {sorted(moves)}")
        moves[action](cancel)
        return cancel.view(market.orders[cancel.order_id])

    def buyer_returns(request: Request, body: Body) -> Any:
        order = _order(body)
        request_ = market.buyer_requests_return(
            order,
            str(body.get("return_type", "REFUND")),
            str(
                body.get("return_reason", "ecom_order_delivered_refund_and_return_reason_defective")
            ),
            [str(i) for i in body.get("line_item_ids") or []],
        )
        return request_.view(order)

    def return_action(request: Request, body: Body) -> Any:
        found = market.returns[request.path_params["return_id"]]
        action = request.path_params["action"]
        moves: dict[str, Callable[[], None]] = {
            "ship": lambda: market.buyer_ships(found),
            "accept_offer": lambda: market.buyer_answers_offer(found, True),
            "decline_offer": lambda: market.buyer_answers_offer(found, False),
            "withdraw": lambda: market.buyer_withdraws_return(found),
            "auto_approve": lambda: market.system_approves_return(found),
            "complete": lambda: market.complete_return(found),
            "arbitrate": lambda: market.open_arbitration(found),
            "close_arbitration": lambda: market.close_arbitration(
                found, str(body.get("outcome", ""))
            ),
        }
        if action not in moves:
            raise KeyError(f"action {action}; one of {sorted(moves)}")
        moves[action]()
        return found.view(market.orders[found.order_id])

    def advance(request: Request, body: Body) -> Any:
        moved = market.advance(int(body["seconds"]))
        return {"now": market.now(), "moved": moved}

    def state(request: Request, body: Body) -> Any:
        return {
            "now": market.now(),
            "orders": [o.view() for o in market.orders.values()],
            "cancellations": [
                c.view(market.orders[c.order_id]) for c in market.cancellations.values()
            ],
            "returns": [r.view(market.orders[r.order_id]) for r in market.returns.values()],
        }

    def applied(request: Request, body: Body) -> Any:
        return {
            "applications": [a.view() for a in market.applied],
            "counts": market.applied_counts(),
        }

    def chaos(request: Request, body: Body) -> Any:
        if request.method == "PUT":
            standin.chaos.configure(body)
        return standin.chaos.view()

    def webhooks(request: Request, body: Body) -> Any:
        return {
            "idle": standin.sender.idle(),
            "notifications": [n.view() for n in standin.sender.log.values()],
        }

    def send(request: Request, body: Body) -> Any:
        """Any notification, signed: unknown statuses, other spellings, stale data."""
        shop_id = str(body.get("shop_id", standin.settings.shop_id))
        standin.sender.notify(shop_id, int(body["type"]), dict(body["data"]), market.now())
        return list(standin.sender.log.values())[-1].view()

    def resend(request: Request, body: Body) -> Any:
        return standin.sender.resend(request.path_params["notification_id"]).view()

    def refunds(request: Request, body: Body) -> Any:
        if request.method == "PUT":
            market.auto_complete = bool(body["auto_complete"])
        return {"auto_complete": market.auto_complete}

    def calls(request: Request, body: Body) -> Any:
        return dict(standin.calls)

    def traffic(request: Request, body: Body) -> Any:
        """POST starts paced changes (devtools/tiktok_shop/traffic.py); GET reads the last."""
        current = standin.traffic
        if request.method == "GET":
            return current.view() if current else {"done": True, "made": 0, "count": 0}
        if current is not None and current.task is not None and not current.task.done():
            raise Refused(codes.TRAFFIC_UNDER_WAY, "traffic is under way; wait until it is done")
        rate, count = float(body["rate"]), int(body["count"])
        if not 0 < rate <= 10_000 or not 0 <= count <= 1_000_000:
            raise ValueError("rate is in (0, 10000] a second, count in [0, 1000000]")
        made = Traffic(str(body.get("shop_id", standin.settings.shop_id)), rate, count)
        made.task = asyncio.get_running_loop().create_task(run(market, made))
        standin.traffic = made
        return made.view()

    table: list[tuple[str, Action, list[str]]] = [
        ("/_standin/health", health, ["GET"]),
        ("/_standin/shops", add_shop, ["POST"]),
        ("/_standin/shops/{shop_id}/expire_token", expire_token, ["POST"]),
        ("/_standin/shops/{shop_id}/auth_code", auth_code, ["POST"]),
        ("/_standin/orders", add_order, ["POST"]),
        ("/_standin/orders/{order_id}/status", move_order, ["POST"]),
        ("/_standin/cancellations", buyer_cancels, ["POST"]),
        ("/_standin/cancellations/{cancel_id}/{action}", cancellation_action, ["POST"]),
        ("/_standin/returns", buyer_returns, ["POST"]),
        ("/_standin/returns/{return_id}/{action}", return_action, ["POST"]),
        ("/_standin/clock/advance", advance, ["POST"]),
        ("/_standin/state", state, ["GET"]),
        ("/_standin/applied", applied, ["GET"]),
        ("/_standin/chaos", chaos, ["GET", "PUT"]),
        ("/_standin/webhooks", webhooks, ["GET"]),
        ("/_standin/webhooks", send, ["POST"]),
        ("/_standin/webhooks/{notification_id}/resend", resend, ["POST"]),
        ("/_standin/refunds", refunds, ["GET", "PUT"]),
        ("/_standin/calls", calls, ["GET"]),
        ("/_standin/traffic", traffic, ["GET", "POST"]),
    ]
    return [Route(path, _endpoint(action), methods=methods) for path, action, methods in table]

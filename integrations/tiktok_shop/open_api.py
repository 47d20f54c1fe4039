"""Calls to TikTok Shop's Open API for one linked shop: signed, in TikTok's envelope, with the
outcomes a caller must tell apart.

- `OpenApiRefused`: TikTok answered and said no (`code != 0` in the envelope, or a 4xx other
  than 429): final, carrying TikTok's code and message.
- `OpenApiUnavailable`: throttled (429, 36009002), a server error (5xx, 36009003) or no answer
  in time: retried by the caller with backoff. On a write it is ambiguous (the change may have
  been applied): a retry sends the same `idempotency_key`, so TikTok applies it once.
An expired access token (105002) is refreshed once with the refresh token and the call repeated.
Nothing here logs a secret or puts one in an error: the token travels in its header, and the
refresh's query (TikTok takes the app secret and the refresh token there) is masked in httpx's
own log line by `SecretParamsHidden`, which the connection installs.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from integrations.tiktok_shop.credentials import ShopLink
from integrations.tiktok_shop.signing import signed_query

API = "/return_refund/202309"
THROTTLED = 36009002
INTERNAL = 36009003
TOKEN_EXPIRED = 105002


class OpenApiRefused(Exception):
    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(f"TikTok refused ({code}): {message}")
        self.code = code
        self.message = message
        self.status = status


class OpenApiUnavailable(Exception):
    """No usable answer: throttled, a server error, or no answer in time."""


_SECRET_PARAM = re.compile(r"((?:app_secret|access_token|refresh_token|auth_code)=)[^&\s\"']*")


class SecretParamsHidden(logging.Filter):
    """Masks the secret query parameters in the URL of every record of the logger it is on
    (httpx's: `HTTP Request: GET <url> ...` at INFO), before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _SECRET_PARAM.search(text):
            record.msg, record.args = _SECRET_PARAM.sub(r"\1***", text), None
        return True


SECRET_PARAMS_HIDDEN = SecretParamsHidden()


# Stores the link's new tokens after a refresh (storage/tiktok_links.py).
OnRefresh = Callable[[ShopLink], Awaitable[None]]


class OpenApi:
    def __init__(
        self,
        link: ShopLink,
        http: httpx.AsyncClient,
        *,
        on_refresh: OnRefresh | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.link = link
        self.http = http
        self.on_refresh = on_refresh
        self.timeout = timeout

    async def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """The `data` of a successful answer."""
        try:
            return await self._call(method, path, params, body)
        except OpenApiRefused as refused:
            if refused.code != TOKEN_EXPIRED or not self.link.refresh_token:
                raise
        await self.refresh_token()
        return await self._call(method, path, params, body)

    async def _call(
        self, method: str, path: str, params: Mapping[str, str] | None, body: Any
    ) -> Any:
        link = self.link
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        query = {**(params or {}), "shop_cipher": link.shop_cipher}
        signed = signed_query(link.app_key, link.app_secret, path, query, raw, int(time.time()))
        headers = {"content-type": "application/json", "x-tts-access-token": link.access_token}
        try:
            answer = await self.http.request(
                method,
                link.api_base.rstrip("/") + path,
                params=signed,
                content=raw or None,
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise OpenApiUnavailable(f"{method} {path}: no answer in time") from exc
        except httpx.TransportError as exc:
            raise OpenApiUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        return _data_of(method, path, answer)

    async def refresh_token(self) -> None:
        link = self.link
        params = {
            "app_key": link.app_key,
            "app_secret": link.app_secret,
            "refresh_token": link.refresh_token,
            "grant_type": "refresh_token",
        }
        url = link.auth_host.rstrip("/") + "/api/v2/token/refresh"
        try:
            answer = await self.http.get(url, params=params, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise OpenApiUnavailable(f"token refresh: {type(exc).__name__}") from exc
        data = _data_of("GET", "/api/v2/token/refresh", answer)
        self.link = link.with_tokens(str(data["access_token"]), str(data["refresh_token"]))
        if self.on_refresh is not None:
            await self.on_refresh(self.link)

    # ---- the calls the connection makes ------------------------------------------------

    async def orders(self, order_ids: list[str]) -> list[dict[str, Any]]:
        data = await self.call("GET", "/order/202309/orders", {"ids": ",".join(order_ids)})
        return list(data.get("orders", []))

    async def search(
        self, kind: str, body: dict[str, Any], page_token: str = "", page_size: int = 50
    ) -> tuple[list[dict[str, Any]], str]:
        """One page of cancellations or returns (`kind`), oldest update first; the next token."""
        params = {"page_size": str(page_size), "sort_field": "update_time", "sort_order": "ASC"}
        if page_token:
            params["page_token"] = page_token
        data = await self.call("POST", f"{API}/{kind}/search", params, body)
        items = data.get("cancellations" if kind == "cancellations" else "return_orders", [])
        return list(items), str(data.get("next_page_token") or "")


def _data_of(method: str, path: str, answer: httpx.Response) -> Any:
    try:
        envelope = answer.json()
    except ValueError:
        envelope = None
    status = answer.status_code
    if status == 429 or status >= 500:
        raise OpenApiUnavailable(f"{method} {path}: HTTP {status}")
    if not isinstance(envelope, dict):
        raise OpenApiUnavailable(f"{method} {path}: HTTP {status}, not TikTok's envelope")
    code = int(envelope.get("code", -1))
    if code in (THROTTLED, INTERNAL):
        raise OpenApiUnavailable(f"{method} {path}: code {code}")
    if status != 200 or code != 0:
        raise OpenApiRefused(code, str(envelope.get("message", "")), status)
    return envelope.get("data") or {}

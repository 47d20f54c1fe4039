"""The auth host's token calls (`auth.tiktok-shops.com` at TikTok; the same port here): an auth
code for a token, a refresh token for a new one. Not signed: they carry `app_key` and
`app_secret` in the query. Success is `code: 0` in the body, whatever the HTTP status."""

from __future__ import annotations

import secrets
from typing import Any

from devtools.tiktok_shop import codes
from devtools.tiktok_shop.marketplace import Marketplace
from devtools.tiktok_shop.orders import Refused, Shop

ACCESS_TOKEN_SECONDS = 7 * 24 * 3600
REFRESH_TOKEN_SECONDS = 365 * 24 * 3600


def new_auth_code(shop: Shop) -> str:
    code = f"TTP_{secrets.token_urlsafe(12)}"
    shop.auth_codes.add(code)
    return code


def _check_app(query: dict[str, str], app_key: str, app_secret: str) -> None:
    if query.get("app_key") != app_key or not secrets.compare_digest(
        query.get("app_secret", ""), app_secret
    ):
        raise Refused(
            codes.INVALID_PARAMETER, "Invalid credentials. Invalid app_key or app_secret."
        )


def _issue(market: Marketplace, shop: Shop) -> dict[str, Any]:
    """A new access and refresh token; the shop's previous ones stop working."""
    shop.access_token = f"TTP_{secrets.token_urlsafe(24)}"
    shop.refresh_token = f"TTP_{secrets.token_urlsafe(18)}"
    shop.token_expired = False
    now = market.now()
    return {
        "access_token": shop.access_token,
        "access_token_expire_in": now + ACCESS_TOKEN_SECONDS,
        "refresh_token": shop.refresh_token,
        "refresh_token_expire_in": now + REFRESH_TOKEN_SECONDS,
        "open_id": f"open-{shop.shop_id}",
        "seller_name": shop.name,
        "seller_base_region": "US",
        "user_type": 0,
        "granted_scopes": ["seller.return_refund.basic", "seller.order.info"],
    }


def token_get(
    market: Marketplace, query: dict[str, str], app_key: str, app_secret: str
) -> dict[str, Any]:
    _check_app(query, app_key, app_secret)
    if query.get("grant_type") != "authorized_code":
        raise Refused(codes.INVALID_PARAMETER, "grant_type must be authorized_code")
    code = query.get("auth_code", "")
    for shop in market.shops.values():
        if code in shop.auth_codes:
            shop.auth_codes.discard(code)  # one use
            return _issue(market, shop)
    raise Refused(codes.GRANT_INVALID, "Invalid auth_code.")


def token_refresh(
    market: Marketplace, query: dict[str, str], app_key: str, app_secret: str
) -> dict[str, Any]:
    _check_app(query, app_key, app_secret)
    if query.get("grant_type") != "refresh_token":
        raise Refused(codes.INVALID_PARAMETER, "grant_type must be refresh_token")
    given = query.get("refresh_token", "")
    for shop in market.shops.values():
        if given and secrets.compare_digest(given, shop.refresh_token):
            return _issue(market, shop)
    raise Refused(codes.GRANT_INVALID, "Invalid refresh_token.")

"""A linked shop's credentials: what signs its calls and checks its webhooks. Pure: no I/O.

The secrets (app secret, access and refresh tokens) never print: they are left out of `repr`
and of `public()`, the one form the API, the logs and the errors may show.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from models.errors import ValidationFailed

MAX_TEXT = 512


@dataclass(frozen=True)
class ShopLink:
    shop_id: str  # this service's shop
    tiktok_shop_id: str  # TikTok's, as its webhooks name it
    app_key: str
    shop_cipher: str
    api_base: str  # https://open-api.tiktokglobalshop.com, or a stand-in
    app_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(default="", repr=False)
    auth_base: str = ""  # TikTok's auth host; empty: api_base (the stand-in serves both)
    version: int = 0

    def __post_init__(self) -> None:
        for name in ("shop_id", "tiktok_shop_id", "app_key", "shop_cipher", "api_base"):
            value = getattr(self, name)
            if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_TEXT:
                raise ValidationFailed(f"{name} is 1 to {MAX_TEXT} characters", field=name)
        for name in ("app_secret", "access_token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
                # The value never goes into the message: a secret may be what is wrong.
                raise ValidationFailed(f"{name} is 1 to {MAX_TEXT} characters", field=name)
        if not self.api_base.startswith(("http://", "https://")):
            raise ValidationFailed("api_base is an http(s) URL", field="api_base")

    @property
    def auth_host(self) -> str:
        return self.auth_base or self.api_base

    def with_tokens(self, access_token: str, refresh_token: str) -> ShopLink:
        return replace(self, access_token=access_token, refresh_token=refresh_token)

    def public(self) -> dict[str, Any]:
        """What may be shown: no secret, only a short fingerprint of the access token, so two
        answers can tell a refreshed token from the old one."""
        return {
            "shopId": self.shop_id,
            "tiktokShopId": self.tiktok_shop_id,
            "appKey": self.app_key,
            "shopCipher": self.shop_cipher,
            "apiBase": self.api_base,
            "tokenFingerprint": hashlib.sha256(self.access_token.encode()).hexdigest()[:8],
            "hasRefreshToken": bool(self.refresh_token),
        }

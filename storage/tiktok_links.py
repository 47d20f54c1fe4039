"""Linked TikTok shops: `tiktok_links`, one document per shop of this service,
`{_id: shop_id, tiktok_shop_id, app_key, app_secret, shop_cipher, api_base, auth_base,
access_token, refresh_token, version, linked_at, reconciled_to: {cancellations, returns}}`.

The secrets are stored because every call is signed with them, sealed
(integrations/tiktok_shop/sealing.py): `app_secret`, `access_token` and `refresh_token` hold
Fernet tokens, so the driver's command log, a reply or a backup never carries them. They leave
this module only inside a `ShopLink`, whose `repr` and `public()` leave them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel

from integrations.tiktok_shop.credentials import ShopLink
from integrations.tiktok_shop.sealing import Sealer
from storage.mongo import Database

LINK_INDEXES = [IndexModel([("tiktok_shop_id", ASCENDING)], name="tiktok_shop", unique=True)]


def collection(db: Database) -> Any:
    return db.db["tiktok_links"]


def _of(d: dict[str, Any], sealer: Sealer) -> ShopLink:
    return ShopLink(
        shop_id=d["_id"],
        tiktok_shop_id=d["tiktok_shop_id"],
        app_key=d["app_key"],
        shop_cipher=d["shop_cipher"],
        api_base=d["api_base"],
        app_secret=sealer.unseal(d["app_secret"]),
        access_token=sealer.unseal(d["access_token"]),
        refresh_token=sealer.unseal(d.get("refresh_token", "")),
        auth_base=d.get("auth_base", ""),
        version=int(d.get("version", 0)),
    )


async def put(db: Database, link: ShopLink, now: datetime, sealer: Sealer) -> ShopLink:
    """Links the shop, or replaces its credentials; the reconciler's marks are kept."""
    fields = {
        "tiktok_shop_id": link.tiktok_shop_id,
        "app_key": link.app_key,
        "app_secret": sealer.seal(link.app_secret),
        "shop_cipher": link.shop_cipher,
        "api_base": link.api_base,
        "auth_base": link.auth_base,
        "access_token": sealer.seal(link.access_token),
        "refresh_token": sealer.seal(link.refresh_token),
        "linked_at": now,
    }
    saved = await collection(db).find_one_and_update(
        {"_id": link.shop_id},
        {"$set": fields, "$inc": {"version": 1}},
        upsert=True,
        return_document=True,
    )
    return _of(saved, sealer)


async def save_tokens(db: Database, link: ShopLink, sealer: Sealer) -> None:
    tokens = {
        "access_token": sealer.seal(link.access_token),
        "refresh_token": sealer.seal(link.refresh_token),
    }
    await collection(db).update_one({"_id": link.shop_id}, {"$set": tokens})


async def get(db: Database, shop_id: str, sealer: Sealer) -> ShopLink | None:
    d = await collection(db).find_one({"_id": shop_id})
    return _of(d, sealer) if d else None


async def by_tiktok_shop(db: Database, tiktok_shop_id: str, sealer: Sealer) -> ShopLink | None:
    d = await collection(db).find_one({"tiktok_shop_id": tiktok_shop_id})
    return _of(d, sealer) if d else None


async def all_links(db: Database, sealer: Sealer) -> list[ShopLink]:
    return [_of(d, sealer) async for d in collection(db).find({}).sort("_id", ASCENDING)]


async def is_linked(db: Database, shop_id: str) -> bool:
    return await collection(db).count_documents({"_id": shop_id}, limit=1) > 0


async def reconciled_to(db: Database, shop_id: str, kind: str) -> int:
    d = await collection(db).find_one({"_id": shop_id}, {"reconciled_to": 1})
    return int(((d or {}).get("reconciled_to") or {}).get(kind, 0))


async def mark_reconciled(db: Database, shop_id: str, kind: str, update_time: int) -> None:
    """Moves the reconciler's mark forward only (two processes may reconcile at once)."""
    await collection(db).update_one(
        {"_id": shop_id}, {"$max": {f"reconciled_to.{kind}": update_time}}
    )

"""The agents of each shop: whom a ticket may be assigned to."""

from __future__ import annotations

from datetime import datetime

from storage.mongo import Database, Session


def _id(shop_id: str, agent_id: str) -> str:
    return f"{shop_id}:{agent_id}"


async def add(db: Database, shop_id: str, agent_id: str, now: datetime) -> None:
    await db.shop_agents.update_one(
        {"_id": _id(shop_id, agent_id)},
        {"$setOnInsert": {"shop_id": shop_id, "agent_id": agent_id, "added_at": now}},
        upsert=True,
    )


async def remove(db: Database, shop_id: str, agent_id: str) -> bool:
    result = await db.shop_agents.delete_one({"_id": _id(shop_id, agent_id)})
    return result.deleted_count == 1


async def is_agent(
    db: Database, shop_id: str, agent_id: str, session: Session | None = None
) -> bool:
    doc = await db.shop_agents.find_one({"_id": _id(shop_id, agent_id)}, session=session)
    return doc is not None


async def of_shop(db: Database, shop_id: str) -> list[str]:
    found = db.shop_agents.find({"shop_id": shop_id}, {"agent_id": 1}).sort([("agent_id", 1)])
    return [d["agent_id"] for d in await found.to_list(None)]

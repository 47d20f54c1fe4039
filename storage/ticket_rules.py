"""A shop's helpdesk rules (H2): one document each, listed in their stated order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from models.money import Money
from models.ticket_rules import Condition, Rule, RuleAction, RuleActionKind
from models.tickets import RequestInitiator, RequestKind
from storage.batch_writes import read_once
from storage.documents import Doc, money_doc, money_from
from storage.mongo import ConcurrentUpdate, Database, Session


def _money(m: Money | None) -> Doc | None:
    return money_doc(m) if m else None


def _money_from(d: Doc | None) -> Money | None:
    return money_from(d) if d else None


def rule_doc(r: Rule) -> Doc:
    c, a = r.condition, r.action
    return {
        "_id": r.id,
        "shop_id": r.shop_id,
        "name": r.name,
        "position": r.position,
        "k_order": f"{r.position:05d}|{r.id}",
        "enabled": r.enabled,
        "condition": {
            "kinds": sorted(k.value for k in c.kinds),
            "initiators": sorted(i.value for i in c.initiators),
            "reasons": sorted(c.reasons),
            "categories": sorted(c.categories),
            "amount_at_least": _money(c.amount_at_least),
            "amount_below": _money(c.amount_below),
            "buyer_requests_over": c.buyer_requests_over,
        },
        "action": {
            "kind": a.kind.value,
            "tag": a.tag,
            "assignee": a.assignee,
            "reason": a.reason,
            "comment": a.comment,
            "amount": _money(a.amount),
        },
        "created_by": r.created_by,
        "updated_at": r.updated_at,
        "version": r.version,
    }


def rule_from(d: Doc) -> Rule:
    c, a = d["condition"], d["action"]
    return Rule(
        id=d["_id"],
        shop_id=d["shop_id"],
        name=d["name"],
        position=d["position"],
        enabled=d["enabled"],
        condition=Condition(
            kinds=frozenset(RequestKind(k) for k in c["kinds"]),
            initiators=frozenset(RequestInitiator(i) for i in c["initiators"]),
            reasons=frozenset(c["reasons"]),
            categories=frozenset(c["categories"]),
            amount_at_least=_money_from(c.get("amount_at_least")),
            amount_below=_money_from(c.get("amount_below")),
            buyer_requests_over=c.get("buyer_requests_over"),
        ),
        action=RuleAction(
            kind=RuleActionKind(a["kind"]),
            tag=a.get("tag"),
            assignee=a.get("assignee"),
            reason=a.get("reason"),
            comment=a.get("comment"),
            amount=_money_from(a.get("amount")),
        ),
        created_by=d["created_by"],
        updated_at=d["updated_at"],
        version=d.get("version", 0),
    )


async def get(db: Database, rule_id: str, session: Session | None = None) -> Rule | None:
    doc = await db.ticket_rules.find_one({"_id": rule_id}, session=session)
    return rule_from(doc) if doc else None


async def for_shop(db: Database, shop_id: str, session: Session | None = None) -> list[Rule]:
    """Every rule of the shop in its stated order (position, then id)."""
    found = db.ticket_rules.find({"shop_id": shop_id}, session=session).sort([("k_order", 1)])
    return [rule_from(d) for d in await found.to_list(None)]


async def shops_with_rules(db: Database, shop_ids: list[str], session: Session) -> set[str]:
    """Which of these shops have a rule at all (one read on the shop index)."""
    if not shop_ids:
        return set()
    query = {"shop_id": shop_ids[0] if len(shop_ids) == 1 else {"$in": shop_ids}}

    async def read() -> set[str]:
        found = db.ticket_rules.find(query, {"shop_id": 1}, session=session)
        return {d["shop_id"] for d in await found.to_list(None)}

    return await read_once(db, session, ("shops_with_rules", *shop_ids), read)


async def count(db: Database, shop_id: str, session: Session) -> int:
    return await db.ticket_rules.count_documents({"shop_id": shop_id}, session=session)


async def insert(db: Database, rule: Rule, session: Session) -> Rule:
    await db.ticket_rules.insert_one(rule_doc(rule), session=session)
    return rule


async def replace_rule(db: Database, before: Rule, after: Rule, session: Session) -> Rule:
    saved = replace(after, version=before.version + 1)
    doc: dict[str, Any] = rule_doc(saved)
    result = await db.ticket_rules.replace_one({"_id": before.id}, doc, session=session)
    if result.matched_count != 1:
        raise ConcurrentUpdate(before.id)
    return saved


async def delete(db: Database, rule_id: str, session: Session) -> bool:
    result = await db.ticket_rules.delete_one({"_id": rule_id}, session=session)
    return result.deleted_count == 1

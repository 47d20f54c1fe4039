"""How a mirrored return reaches the status TikTok shows: the shortest way through this
service's after-sale machine (models/after_sales_machine.py), using only the steps a person or
the marketplace takes (not the local deadlines' steps: TikTok keeps the deadlines). Pure.

The way only goes forward through the machine, so a status TikTok reports that the mirror has
already passed has no way to it and nothing moves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from integrations.tiktok_shop.statuses import RETURN_STATUSES
from models.after_sales_machine import (
    TRANSITIONS,
    AfterSaleAction,
    AfterSaleKind,
    AfterSaleStatus,
)

_A = AfterSaleAction
_S = AfterSaleStatus

# The steps a mirror takes; the deadline worker's and the opening steps are left out.
MIRROR_ACTIONS = frozenset(
    {
        _A.APPROVE,
        _A.REJECT,
        _A.WITHDRAW,
        _A.APPEAL,
        _A.DECIDE_FOR_BUYER,
        _A.DECIDE_FOR_SELLER,
        _A.SHIP_RETURN,
        _A.CONFIRM_RECEIPT,
        _A.REJECT_ON_RECEIPT,
        _A.SHIP_REPLACEMENT,
        _A.CONFIRM_REPLACEMENT_DELIVERED,
    }
)

KIND_OF_RETURN_TYPE: Mapping[str, AfterSaleKind] = {
    "REFUND": AfterSaleKind.REFUND_ONLY,
    "RETURN_AND_REFUND": AfterSaleKind.RETURN_AND_REFUND,
    "REPLACEMENT": AfterSaleKind.REPLACEMENT,
}

Step = tuple[AfterSaleAction, AfterSaleStatus]


def target_of(view: Mapping[str, Any]) -> AfterSaleStatus | None:
    """This service's status for TikTok's view of a return (arbitration included); None for a
    status the table does not know."""
    arbitration = str(view.get("arbitration_status") or "")
    status = RETURN_STATUSES.get(str(view.get("return_status") or ""))
    if status is None:
        return None
    if arbitration == "IN_PROGRESS":
        return _S.APPEALED
    if arbitration == "SUPPORT_SELLER" and status is _S.REJECTED:
        return _S.DECIDED_FOR_SELLER
    return status


def way(kind: AfterSaleKind, start: AfterSaleStatus, goal: AfterSaleStatus) -> list[Step]:
    """The fewest steps from `start` to `goal` for a request of this kind; [] when none (or
    already there)."""
    if start is goal:
        return []
    table = TRANSITIONS.for_kind(kind)
    came: dict[AfterSaleStatus, tuple[AfterSaleStatus, AfterSaleAction]] = {}
    queue = deque([start])
    while queue:
        at = queue.popleft()
        for t in table:
            if t.source is not at or t.action not in MIRROR_ACTIONS or t.target in came:
                continue
            if t.target is start:
                continue
            came[t.target] = (at, t.action)
            if t.target is goal:
                steps: list[Step] = []
                node = goal
                while node is not start:
                    prev, action = came[node]
                    steps.append((action, node))
                    node = prev
                return steps[::-1]
            queue.append(t.target)
    return []

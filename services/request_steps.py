"""What the services of every kind of request do the same way around the one write path
(services/request_writes.py): who may take a step, who may open a request on an order, and the
record of what a batch of steps decided."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from models import access
from models.actors import Actor, ActorKind
from models.commands import Command
from models.errors import NotFound
from models.events import StatusEvent
from models.notifications import Notification
from models.orders import Order
from services.request_writes import RequestWrites
from storage.mongo import Session

R = TypeVar("R")


# Who may take a step, by the kind of actor whose step it is (models/commands.py, `sender`).
_PERMITS = {
    ActorKind.BUYER: access.permit_buyer,
    ActorKind.SELLER_AGENT: access.permit_seller,
    ActorKind.PLATFORM: access.permit_platform,
}


def permit_of(actor: Actor, command: Command) -> access.Permit:
    """Who may take this step on a request or an order: checked on what the step reads, and
    again on the outcome a repeated key recalls (services/request_writes.py)."""
    return _PERMITS[command.sender](actor)


def admit(actor: Actor, order: Order, permit: access.Permit) -> None:
    """Who may open a request on this order: an order the actor may not know of is not found."""
    missing = NotFound(f"no order {order.id}", field="orderId")
    access.require_known(actor, order.shop_id, order.buyer_id, missing)
    permit(order.shop_id, order.buyer_id)


async def record_decided(
    writes: RequestWrites[Any],
    session: Session,
    actor: Actor,
    decided: Sequence[tuple[R | None, R]],
    notes: Sequence[Notification],
    status_events: Sequence[StatusEvent],
    closed: Sequence[tuple[R, R]] = (),
) -> list[R]:
    """The requests a batch decided (as read, None for a new one; as decided), and those it
    `closed` on the way, recorded with their effects; the decided ones as saved, in order."""
    created = [after for before, after in decided if before is None]
    moved = [(before, after) for before, after in decided if before is not None]
    saved = await writes.record(session, actor, created, [*moved, *closed], notes, status_events)
    return [saved[after.id] for _, after in decided]  # type: ignore[attr-defined]

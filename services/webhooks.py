"""Webhooks of a shop, as the API sees them: register, list, pause and resume, replay, delete,
and the deliveries and durable consumers behind them.

Who: the shop's agents and the platform read (models/access.py `team_shop`); an agent with the
adjustments permission, or the platform, changes (`rules_shop`, `require_rules_writer`). The
secret is given or generated here, returned once by `create`, and never again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from models import access
from models.actors import Actor, ActorKind
from models.clock import Clock
from models.errors import CursorExpired, Forbidden, NotFound, ValidationFailed
from storage import event_consumers, event_retention
from storage import events as event_log
from storage import webhooks as store
from storage.mongo import Database, Session
from storage.webhooks import Delivery, DeliveryStatus, Webhook, WebhookStatus
from webhooks import targets
from webhooks.event_types import EventType

MAX_EVENT_TYPES = len(EventType)


@dataclass(frozen=True)
class WebhookState:
    """A webhook with its consumer's place in the shop's feed."""

    webhook: Webhook
    cursor: int
    head: int
    last_error: str | None
    last_error_at: datetime | None

    @property
    def lag(self) -> int:
        return max(0, self.head - self.cursor)


@dataclass(frozen=True)
class ConsumerState:
    consumer: event_consumers.Consumer
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.consumer.cursor)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookService:
    def __init__(self, db: Database, clock: Clock, *, production: bool = False) -> None:
        self.db = db
        self.clock = clock
        self.production = production

    async def create(
        self,
        actor: Actor,
        shop_id: str | None,
        url: str,
        event_types: list[EventType],
        secret: str | None,
        subscription: str | None = None,
    ) -> tuple[WebhookState, str]:
        """The new webhook, delivering events after the shop's current last one, and its secret
        (the only time it is shown). `subscription`: a document its resolver validated, which
        gave `event_types`."""
        shop = access.team_shop(actor, shop_id)
        _require_adjustments(actor)
        targets.check_url(url, production=self.production)
        if not event_types:
            raise ValidationFailed("eventTypes: name at least one", field="eventTypes")
        if len(set(event_types)) != len(event_types):
            raise ValidationFailed("eventTypes: each type once", field="eventTypes")
        key = targets.check_secret(secret) if secret is not None else new_secret()
        now = self.clock.now()
        webhook = Webhook(
            id=f"wh_{ObjectId()}",
            shop_id=shop,
            url=url,
            event_types=frozenset(event_types),
            secret=key,
            status=WebhookStatus.ACTIVE,
            paused_reason=None,
            failed_in_a_row=0,
            created_at=now,
            created_by=f"{actor.kind.value}:{actor.id}",
            subscription=subscription,
        )

        async def work(session: Session) -> int:
            head = await _head_in(self.db, shop, session)
            await store.insert(self.db, webhook, session)
            await event_consumers.register(self.db, shop, webhook.consumer, head, now, session)
            return head

        head = await self.db.transaction(work)
        return WebhookState(webhook, head, head, None, None), key

    async def list(self, actor: Actor, shop_id: str | None) -> list[WebhookState]:
        shop = access.team_shop(actor, shop_id)
        head = await event_log.head(self.db, shop)
        return [await self._state(w, head) for w in await store.of_shop(self.db, shop)]

    async def get(self, actor: Actor, webhook_id: str) -> WebhookState:
        webhook = await self._find(actor, webhook_id, write=False)
        return await self._state(webhook, await event_log.head(self.db, webhook.shop_id))

    async def deliveries(
        self,
        actor: Actor,
        webhook_id: str,
        first: int,
        before_sequence: int | None,
        status: DeliveryStatus | None,
    ) -> list[Delivery]:
        if not 1 <= first <= 100:
            raise ValidationFailed("first: 1 to 100", field="first")
        webhook = await self._find(actor, webhook_id, write=False)
        return await store.of_webhook(self.db, webhook.id, first, before_sequence, status)

    async def consumers(self, actor: Actor, shop_id: str | None) -> list[ConsumerState]:
        shop = access.team_shop(actor, shop_id)
        head = await event_log.head(self.db, shop)
        return [ConsumerState(c, head) for c in await event_consumers.of_shop(self.db, shop)]

    async def pause(self, actor: Actor, webhook_id: str) -> WebhookState:
        webhook = await self._find(actor, webhook_id, write=True)
        await store.set_status(self.db, webhook.id, WebhookStatus.PAUSED, reason="paused by hand")
        return await self.get(actor, webhook_id)

    async def resume(self, actor: Actor, webhook_id: str) -> WebhookState:
        """Delivery starts again at the cursor: the event it stopped on, then what followed."""
        webhook = await self._find(actor, webhook_id, write=True)
        await store.set_status(self.db, webhook.id, WebhookStatus.ACTIVE, failed_in_a_row=0)
        return await self.get(actor, webhook_id)

    async def replay(self, actor: Actor, webhook_id: str, from_sequence: int) -> WebhookState:
        """Deliver again every event from `from_sequence` on (same delivery ids: a receiver that
        has one already dedupes it), and resume the webhook if it was paused."""
        webhook = await self._find(actor, webhook_id, write=True)
        head = await event_log.head(self.db, webhook.shop_id)
        if not 1 <= from_sequence <= head + 1:
            raise ValidationFailed(
                f"fromSequence: 1 to {head + 1} (the shop's next event)", field="fromSequence"
            )
        oldest = await event_retention.oldest_kept(self.db, webhook.shop_id)
        if from_sequence <= head and (oldest is None or oldest > from_sequence):
            raise CursorExpired(
                f"events before {oldest or head + 1} are no longer kept", field="fromSequence"
            )
        now = self.clock.now()
        await event_consumers.rewind(
            self.db, webhook.shop_id, webhook.consumer, from_sequence - 1, now
        )
        await store.set_status(self.db, webhook.id, WebhookStatus.ACTIVE, failed_in_a_row=0)
        return await self.get(actor, webhook_id)

    async def delete(self, actor: Actor, webhook_id: str) -> str:
        """The webhook, its deliveries and its consumer (so the log no longer keeps events for
        it)."""
        webhook = await self._find(actor, webhook_id, write=True)

        async def work(session: Session) -> None:
            await store.delete(self.db, webhook.id, session)
            await event_consumers.remove(self.db, webhook.shop_id, webhook.consumer, session)

        await self.db.transaction(work)
        return webhook.id

    async def _find(self, actor: Actor, webhook_id: str, *, write: bool) -> Webhook:
        webhook = await store.get(self.db, webhook_id)
        if webhook is None:
            raise NotFound(f"no webhook {webhook_id}", field="webhookId")
        access.require_team_view(actor, webhook.shop_id, f"webhook {webhook_id}", "webhookId")
        if write:
            _require_adjustments(actor)
        return webhook

    async def _state(self, webhook: Webhook, head: int) -> WebhookState:
        consumer = await event_consumers.get(self.db, webhook.shop_id, webhook.consumer)
        cursor = consumer.cursor if consumer else head
        return WebhookState(
            webhook,
            cursor,
            head,
            consumer.last_error if consumer else None,
            consumer.last_error_at if consumer else None,
        )


def _require_adjustments(actor: Actor) -> None:
    """A webhook sends the shop's data out of the service: as with rules, an agent needs the
    adjustments permission to change one (the platform may)."""
    if actor.kind is ActorKind.SELLER_AGENT and not actor.can_adjust:
        raise Forbidden("changing webhooks needs the adjustments permission")


async def _head_in(db: Database, shop_id: str, session: Session) -> int:
    counter = await db.event_sequences.find_one({"_id": shop_id}, session=session)
    return int(counter["seq"]) if counter else 0

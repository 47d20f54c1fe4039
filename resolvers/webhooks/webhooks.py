"""GraphQL for outbound webhooks and the event log's durable consumers.

Resolvers check the input's shape, call one WebhookService method and map the outcome; the rules
live in webhooks/ (URL, secret, retry schedule) and services/webhooks.py (who may).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models.errors import ValidationFailed
from resolvers.context import Context, actor_of, services_of
from resolvers.errors import (
    CursorExpiredError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
    outcome,
)
from resolvers.inputs import well_formed_id
from resolvers.webhooks.documents import event_types_of
from services import read_types
from services.webhooks import ConsumerState, WebhookService, WebhookState
from webhooks import event_types

WebhookEventType = strawberry.enum(
    event_types.EventType,
    name="WebhookEventType",
    description="What a webhook is told about; a delivery's `type` is the lower-case dotted "
    "name (`cancellation.status_changed`).",
)
WebhookStatus = strawberry.enum(
    read_types.WebhookStatus,
    name="WebhookStatus",
    description="PAUSED: by hand, or after deliveries kept failing; resume to go on.",
)
WebhookDeliveryStatus = strawberry.enum(read_types.DeliveryStatus, name="WebhookDeliveryStatus")


def _service(info: Info[Context, Any]) -> WebhookService:
    given = info.context.webhooks
    if given is not None:
        return given
    services = services_of(info)
    return WebhookService(services.db, services.clock)


@strawberry.type(description="A signed outbound webhook of a shop. Its secret is never shown.")
class Webhook:
    id: strawberry.ID
    shop_id: strawberry.ID
    url: str
    event_types: list[WebhookEventType]  # type: ignore[valid-type]
    status: WebhookStatus  # type: ignore[valid-type]
    paused_reason: str | None
    failed_in_a_row: int = strawberry.field(description="FAILED deliveries since the last one.")
    created_at: datetime
    cursor: int = strawberry.field(description="The last event of the shop's feed handled.")
    head: int = strawberry.field(description="The shop's last event.")
    lag: int = strawberry.field(description="Events after the cursor: head minus cursor.")
    last_error: str | None
    last_error_at: datetime | None
    subscription: str | None = strawberry.field(
        description="The document shaping its deliveries' `data`, if it was registered with one."
    )

    @classmethod
    def of(cls, s: WebhookState) -> Webhook:
        w = s.webhook
        return cls(
            id=strawberry.ID(w.id),
            shop_id=strawberry.ID(w.shop_id),
            url=w.url,
            event_types=sorted(w.event_types, key=lambda t: t.name),
            subscription=w.subscription,
            status=w.status,
            paused_reason=w.paused_reason,
            failed_in_a_row=w.failed_in_a_row,
            created_at=w.created_at,
            cursor=s.cursor,
            head=s.head,
            lag=s.lag,
            last_error=s.last_error,
            last_error_at=s.last_error_at,
        )


@strawberry.type(description="A new webhook and its signing secret: shown this once only.")
class WebhookCreated:
    webhook: Webhook
    secret: str


@strawberry.type
class WebhookDeliveryAttempt:
    at: datetime
    status_code: int | None = strawberry.field(description="None: no answer (see error).")
    body_excerpt: str | None = strawberry.field(description="The answer's first 200 characters.")
    error: str | None
    duration_ms: float


@strawberry.type(description="One event sent to one webhook, with every attempt (the last 20).")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The `Webhook-Id` header: dedupe on it.")
    sequence: int
    event_type: WebhookEventType  # type: ignore[valid-type]
    status: WebhookDeliveryStatus  # type: ignore[valid-type]
    attempts: list[WebhookDeliveryAttempt]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: read_types.Delivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(d.id),
            sequence=d.seq,
            event_type=d.event_type,
            status=d.status,
            attempts=[
                WebhookDeliveryAttempt(
                    at=a.at,
                    status_code=a.status_code,
                    body_excerpt=a.excerpt,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in d.attempts
            ],
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


@strawberry.type(description="A durable reader of the shop's event feed (a webhook is one).")
class EventConsumer:
    name: str
    cursor: int
    head: int
    lag: int
    last_error: str | None
    last_error_at: datetime | None
    updated_at: datetime
    delivering: bool = strawberry.field(description="A service process holds its lease.")

    @classmethod
    def of(cls, s: ConsumerState, now: datetime) -> EventConsumer:
        c = s.consumer
        return cls(
            name=c.name,
            cursor=c.cursor,
            head=s.head,
            lag=s.lag,
            last_error=c.last_error,
            last_error_at=c.last_error_at,
            updated_at=c.updated_at,
            delivering=c.lease_owner is not None
            and c.lease_until is not None
            and c.lease_until > now,
        )


@strawberry.type
class DeletedWebhook:
    id: strawberry.ID


@strawberry.input
class CreateWebhookInput:
    shop_id: strawberry.ID | None = strawberry.field(
        default=None, description="An agent's own shop when not given; the platform names it."
    )
    url: str = strawberry.field(description="https (http in development only).")
    event_types: list[WebhookEventType] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list,
        description="What it is told about; none when `subscription` says it.",
    )
    subscription: str | None = strawberry.field(
        default=None,
        description="A GraphQL subscription document (one root field: requestEvents, "
        "ticketEvents, orderEvents or refundEvents; no arguments or variables) that gives "
        "the event types and shapes each delivery's `data`, as the shop's agent sees it.",
    )
    secret: str | None = strawberry.field(
        default=None,
        description="24 to 128 of A-Z a-z 0-9 _ - . ~ + / =; none: one is generated.",
    )


@strawberry.input
class WebhookIdInput:
    webhook_id: strawberry.ID


@strawberry.input
class ReplayWebhookInput:
    webhook_id: strawberry.ID
    from_sequence: int = strawberry.field(
        description="Deliver again from this event of the shop's feed on (same delivery ids)."
    )


_COMMON = NotFoundError | ForbiddenError | ValidationError
CreateWebhookResult = Annotated[WebhookCreated | _COMMON, strawberry.union("CreateWebhookResult")]
WebhookResult = Annotated[Webhook | CursorExpiredError | _COMMON, strawberry.union("WebhookResult")]
DeleteWebhookResult = Annotated[DeletedWebhook | _COMMON, strawberry.union("DeleteWebhookResult")]


def _webhook_id(value: str) -> str:
    return well_formed_id(value, "webhookId")


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The shop's webhooks (its agents and the platform).")
    async def webhooks(
        self, info: Info[Context, Any], shop_id: strawberry.ID | None = None
    ) -> list[Webhook]:
        found = await _service(info).list(actor_of(info), well_formed_id(shop_id, "shopId"))
        return [Webhook.of(s) for s in found]

    @strawberry.field(description="A webhook's deliveries, newest event first.")
    async def webhook_deliveries(
        self,
        info: Info[Context, Any],
        webhook_id: strawberry.ID,
        first: int = 20,
        before_sequence: int | None = None,
        status: WebhookDeliveryStatus | None = None,  # type: ignore[valid-type]
    ) -> list[WebhookDelivery]:
        found = await _service(info).deliveries(
            actor_of(info), _webhook_id(webhook_id), first, before_sequence, status
        )
        return [WebhookDelivery.of(d) for d in found]

    @strawberry.field(description="The durable consumers of the shop's event feed.")
    async def event_consumers(
        self, info: Info[Context, Any], shop_id: strawberry.ID | None = None
    ) -> list[EventConsumer]:
        svc = _service(info)
        found = await svc.consumers(actor_of(info), well_formed_id(shop_id, "shopId"))
        now = svc.clock.now()
        return [EventConsumer.of(s, now) for s in found]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="A signed webhook for the shop's events from now on (agent with "
        "adjustments, or the platform). The answer carries the secret, this once."
    )
    async def create_webhook(
        self, info: Info[Context, Any], input: CreateWebhookInput
    ) -> CreateWebhookResult:
        svc = _service(info)

        async def call() -> Any:
            types = list(input.event_types)
            if input.subscription is not None:
                if types:
                    raise ValidationFailed(
                        "eventTypes: leave out with a subscription, which gives them",
                        field="eventTypes",
                    )
                types = event_types_of(input.subscription)
            return await svc.create(
                actor_of(info),
                well_formed_id(input.shop_id, "shopId"),
                input.url,
                types,
                input.secret,
                input.subscription,
            )

        return await outcome(
            call(), lambda r: WebhookCreated(webhook=Webhook.of(r[0]), secret=r[1])
        )

    @strawberry.mutation(description="Stop delivering; the cursor stays where it is.")
    async def pause_webhook(self, info: Info[Context, Any], input: WebhookIdInput) -> WebhookResult:
        svc = _service(info)

        async def call() -> Any:
            return await svc.pause(actor_of(info), _webhook_id(input.webhook_id))

        return await outcome(call(), Webhook.of)

    @strawberry.mutation(description="Deliver again from where it stopped.")
    async def resume_webhook(
        self, info: Info[Context, Any], input: WebhookIdInput
    ) -> WebhookResult:
        svc = _service(info)

        async def call() -> Any:
            return await svc.resume(actor_of(info), _webhook_id(input.webhook_id))

        return await outcome(call(), Webhook.of)

    @strawberry.mutation(description="Move the cursor back and deliver again from an event on.")
    async def replay_webhook(
        self, info: Info[Context, Any], input: ReplayWebhookInput
    ) -> WebhookResult:
        svc = _service(info)

        async def call() -> Any:
            return await svc.replay(
                actor_of(info), _webhook_id(input.webhook_id), input.from_sequence
            )

        return await outcome(call(), Webhook.of)

    @strawberry.mutation(description="The webhook, its deliveries and its cursor, gone.")
    async def delete_webhook(
        self, info: Info[Context, Any], input: WebhookIdInput
    ) -> DeleteWebhookResult:
        svc = _service(info)

        async def call() -> Any:
            return await svc.delete(actor_of(info), _webhook_id(input.webhook_id))

        return await outcome(call(), lambda i: DeletedWebhook(id=strawberry.ID(i)))

"""Subscriptions: the live feed of request status changes, of helpdesk ticket changes and of a
shop's tab counts (H3). Requests and tickets share one log and one numbering per shop
(storage/events.py): `requestEvents` skips ticket events, `ticketEvents` (the team only) request
events, so a cursor from either resumes either.

Over WebSocket at /graphql (graphql-transport-ws; legacy graphql-ws unless turned off). The caller
is named in the connection_init payload (api/identity.py) and sees what the queries let them
see: an agent their shop, a buyer their own requests, the platform any one shop.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from feed.live_feed import SubscriberTooSlow
from models import access
from models import events as event_domain
from models.actors import Actor
from models.after_sales_machine import AfterSaleTab as DomainAfterSaleTab
from models.cancellation_states import CancellationTab as DomainCancellationTab
from models.errors import DomainError, Forbidden, ValidationFailed
from resolvers.after_sales.types import AfterSale
from resolvers.cancellations.types import Cancellation
from resolvers.context import Context, actor_of, services_of
from resolvers.errors import CursorExpiredError, ForbiddenError, ValidationError, to_user_error
from resolvers.feed.reading import closer_of, decode_cursor, encode_cursor, feed_of
from resolvers.helpdesk.types import Ticket, TicketAction, TicketStatus
from resolvers.requests.types import (
    Request,
    RequestAction,
    RequestStatus,
    RequestTab,
    TabCount,
    action_of,
    status_of,
    tab_counts,
)
from resolvers.values import ActorKind, Reason, RequestKind
from services.read_types import StoredEvent


@strawberry.type(description="One status change: who moved the request, from where to where.")
class StatusChange:
    action: RequestAction
    from_status: RequestStatus | None = strawberry.field(
        description="Null when the request was created."
    )
    to_status: RequestStatus
    from_tab: RequestTab | None
    to_tab: RequestTab
    actor_kind: ActorKind
    actor_id: str
    reason: Reason | None
    at: datetime


@strawberry.type(description="A request changed status. `cursor` resumes the feed after it.")
class RequestEvent:
    _stored: strawberry.Private[StoredEvent]
    cursor: str
    kind: RequestKind
    request_id: strawberry.ID
    order_id: strawberry.ID
    shop_id: strawberry.ID
    buyer_id: strawberry.ID
    change: StatusChange

    @classmethod
    def of(cls, stored: StoredEvent) -> RequestEvent:
        e = stored.event
        assert isinstance(e, event_domain.StatusEvent)
        return cls(
            _stored=stored,
            cursor=encode_cursor(e.shop_id, stored.seq),
            kind=e.kind,
            request_id=strawberry.ID(e.request_id),
            order_id=strawberry.ID(e.order_id),
            shop_id=strawberry.ID(e.shop_id),
            buyer_id=strawberry.ID(e.buyer_id),
            change=StatusChange(
                action=action_of(e.action),
                from_status=status_of(e.from_status) if e.from_status else None,
                to_status=status_of(e.to_status),
                from_tab=RequestTab[e.from_tab] if e.from_tab else None,
                to_tab=RequestTab[e.to_tab],
                actor_kind=e.actor_kind,
                actor_id=e.actor_id,
                reason=Reason.of(e.reason) if e.reason else None,
                at=e.at,
            ),
        )

    @strawberry.field(description="The request as it now is, of whichever kind.")
    async def request(self, info: Info[Context, Any]) -> Request | None:
        if self._stored.event.kind is event_domain.RequestKind.CANCELLATION:
            return await self._cancellation(info)
        return await self._after_sale(info)

    @strawberry.field(
        description="The cancellation as it now is (null for refunds, returns, replacements)."
    )
    async def cancellation(self, info: Info[Context, Any]) -> Cancellation | None:
        if self._stored.event.kind is not event_domain.RequestKind.CANCELLATION:
            return None
        return await self._cancellation(info)

    @strawberry.field(
        description="The refund, return or replacement request as it now is (null for "
        "cancellations)."
    )
    async def after_sale(self, info: Info[Context, Any]) -> AfterSale | None:
        if self._stored.event.kind is event_domain.RequestKind.CANCELLATION:
            return None
        return await self._after_sale(info)

    # One read per event, shared by every subscriber that asks (the feed's reads).
    async def _cancellation(self, info: Info[Context, Any]) -> Cancellation | None:
        e = self._stored.event
        lookups = services_of(info).lookups
        key = ("cancellation", e.request_id, self._stored.seq)
        c = await feed_of(info).reads.get(key, lambda: lookups.cancellation(e.request_id))
        return Cancellation.of(c) if c else None

    async def _after_sale(self, info: Info[Context, Any]) -> AfterSale | None:
        e = self._stored.event
        lookups = services_of(info).lookups
        key = ("after_sale", e.request_id, self._stored.seq)
        r = await feed_of(info).reads.get(key, lambda: lookups.after_sale(e.request_id))
        return AfterSale.of(r) if r else None


@strawberry.type(
    description="A helpdesk ticket changed (H1): opened, followed its request, assigned, tagged, "
    "noted, set. `cursor` resumes the feed after it. For the shop's team only."
)
class TicketEvent:
    _stored: strawberry.Private[StoredEvent]
    cursor: str
    ticket_id: strawberry.ID
    kind: RequestKind
    request_id: strawberry.ID
    order_id: strawberry.ID
    shop_id: strawberry.ID
    action: TicketAction  # type: ignore[valid-type]
    detail: str | None = strawberry.field(
        description="What changed: the tag, the assignee, the request's move (a note's text "
        "is on `ticket`)."
    )
    status: TicketStatus = strawberry.field(  # type: ignore[valid-type]
        description="The ticket's status after this change."
    )
    assignee: str | None
    tags: list[str]
    actor_kind: ActorKind
    actor_id: str
    rule_id: strawberry.ID | None = strawberry.field(description="Set when a rule did it (H2).")
    rule_name: str | None
    at: datetime

    @classmethod
    def of(cls, stored: StoredEvent) -> TicketEvent:
        e = stored.event
        assert isinstance(e, event_domain.TicketEvent)
        return cls(
            _stored=stored,
            cursor=encode_cursor(e.shop_id, stored.seq),
            ticket_id=strawberry.ID(e.ticket_id),
            kind=e.kind,
            request_id=strawberry.ID(e.request_id),
            order_id=strawberry.ID(e.order_id),
            shop_id=strawberry.ID(e.shop_id),
            action=TicketAction(e.action),
            detail=e.detail,
            status=TicketStatus(e.status),
            assignee=e.assignee,
            tags=list(e.tags),
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            rule_id=strawberry.ID(e.rule_id) if e.rule_id else None,
            rule_name=e.rule_name,
            at=e.at,
        )

    @strawberry.field(description="The ticket as it now is.")
    async def ticket(self, info: Info[Context, Any]) -> Ticket | None:
        e = self._stored.event
        assert isinstance(e, event_domain.TicketEvent)
        lookups = services_of(info).lookups
        key = ("ticket", e.ticket_id, self._stored.seq)
        t = await feed_of(info).reads.get(key, lambda: lookups.ticket(e.ticket_id))
        return Ticket.of(t) if t else None


@strawberry.type(description="A shop's tab counts, as they are now.")
class TabCountsUpdate:
    shop_id: strawberry.ID
    cancellations: list[TabCount]
    after_sales: list[TabCount] = strawberry.field(
        description="Manage Returns/Refunds: refunds, returns and replacements."
    )


RequestEventsMessage = Annotated[
    RequestEvent | CursorExpiredError | ForbiddenError | ValidationError,
    strawberry.union("RequestEventsMessage"),
]
TicketEventsMessage = Annotated[
    TicketEvent | CursorExpiredError | ForbiddenError | ValidationError,
    strawberry.union("TicketEventsMessage"),
]
TabCountsMessage = Annotated[
    TabCountsUpdate | ForbiddenError | ValidationError, strawberry.union("TabCountsMessage")
]


def _shop_scope(actor: Actor, shop_id: str | None) -> access.Scope:
    scope = access.list_scope(actor, shop_id)
    if scope.shop_id is None:
        raise ValidationFailed("name the shop (shopId) whose feed you want", field="shopId")
    return scope


def _wanted(
    e: event_domain.StatusEvent,
    scope: access.Scope,
    kinds: list[event_domain.RequestKind] | None,
    tabs: set[str] | None,
    request_id: str | None,
) -> bool:
    if scope.buyer_id is not None and e.buyer_id != scope.buyer_id:
        return False
    if kinds and e.kind not in kinds:
        return False
    if tabs and e.to_tab not in tabs and e.from_tab not in tabs:
        return False
    return request_id is None or e.request_id == request_id


async def _counts(info: Info[Context, Any], shop_id: str, key: Any | None) -> TabCountsUpdate:
    """The shop's counts now; with a key (an event), one read shared by every subscriber."""
    lookups = services_of(info).lookups

    async def read(section: str) -> dict[str, int]:
        if key is None:
            return await lookups.tab_counters(shop_id, section)
        return await feed_of(info).reads.get(
            (*key, section), lambda: lookups.tab_counters(shop_id, section)
        )

    stored = await read("cancellations")
    cancellations = {t: max(0, stored.get(t.value, 0)) for t in DomainCancellationTab}
    stored = await read("after_sales")
    after_sales = {t: max(0, stored.get(t.value, 0)) for t in DomainAfterSaleTab}
    return TabCountsUpdate(
        shop_id=strawberry.ID(shop_id),
        cancellations=tab_counts(cancellations),
        after_sales=tab_counts(after_sales),
    )


@strawberry.type
class FeedSubscriptions:
    @strawberry.subscription(
        description="Every status change of the requests you may see in one shop, filtered; "
        "pass the last `cursor` you received as `after` to get what you missed, then the "
        "live ones. Sellers: their shop (shopId optional); buyers: their own requests in the "
        "shop named; the platform: the shop named."
    )
    async def request_events(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        kinds: list[RequestKind] | None = None,
        tabs: list[RequestTab] | None = None,
        request_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[RequestEventsMessage, None]:
        try:
            scope = _shop_scope(actor_of(info), shop_id)
            assert scope.shop_id is not None
            position = decode_cursor(after, scope.shop_id) if after is not None else None
            # ALL, or no tab named: every tab.
            tab_names = {t.value for t in tabs} if tabs and RequestTab.ALL not in tabs else None
            feed = feed_of(info).read(scope.shop_id, position, on_too_slow=closer_of(info))
            async for stored in feed:
                e = stored.event
                if isinstance(e, event_domain.StatusEvent) and _wanted(
                    e, scope, kinds, tab_names, request_id
                ):
                    yield RequestEvent.of(stored)
        except DomainError as err:
            yield to_user_error(err)  # type: ignore[misc]
        except SubscriberTooSlow:
            return  # the connection is being closed with the reason

    @strawberry.subscription(
        description="Every change to the shop's helpdesk tickets (H1), by agents, rules and "
        "the requests they follow; optionally one ticket. For the shop's team: agents their "
        "shop (shopId optional), the platform the shop named; never buyers. Cursors are those "
        "of requestEvents (one numbering per shop): pass the last you received as `after`."
    )
    async def ticket_events(
        self,
        info: Info[Context, Any],
        shop_id: strawberry.ID | None = None,
        ticket_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[TicketEventsMessage, None]:
        try:
            shop = access.team_shop(actor_of(info), shop_id)
            position = decode_cursor(after, shop) if after is not None else None
            async for stored in feed_of(info).read(shop, position, on_too_slow=closer_of(info)):
                e = stored.event
                if isinstance(e, event_domain.TicketEvent) and (
                    ticket_id is None or e.ticket_id == ticket_id
                ):
                    yield TicketEvent.of(stored)
        except DomainError as err:
            yield to_user_error(err)  # type: ignore[misc]
        except SubscriberTooSlow:
            return

    @strawberry.subscription(
        description="The count of every tab of a shop: once now, then whenever one changes."
    )
    async def tab_counts(
        self, info: Info[Context, Any], shop_id: strawberry.ID | None = None
    ) -> AsyncGenerator[TabCountsMessage, None]:
        try:
            scope = _shop_scope(actor_of(info), shop_id)
            if scope.buyer_id is not None:
                raise Forbidden("tab counts are for the shop's agents", field="shopId")
            shop = scope.shop_id
            assert shop is not None
            # The position first, then the counts (which reflect at least that position);
            # events after it re-read the counts, and an unchanged count is not sent again.
            head = await services_of(info).lookups.feed_head(shop)
            last = await _counts(info, shop, None)
            yield last
            async for stored in feed_of(info).read(shop, head, on_too_slow=closer_of(info)):
                e = stored.event
                if not isinstance(e, event_domain.StatusEvent) or not e.moves_tab:
                    continue
                counts = await _counts(info, shop, ("tabs", shop, stored.seq))
                if counts != last:
                    last = counts
                    yield counts
        except DomainError as err:
            yield to_user_error(err)  # type: ignore[misc]
        except SubscriberTooSlow:
            return

"""Subscriptions: the live feed of request status changes, of helpdesk ticket changes and of a
shop's tab counts (H3). Requests and tickets share one log and one numbering per shop
(storage/events.py): `requestEvents` skips ticket events, `ticketEvents` (the team only) request
events, so a cursor from either resumes either.

Over WebSocket at /graphql (graphql-transport-ws; legacy graphql-ws unless turned off). The caller
is named in the connection_init payload (api/identity.py) and sees what the queries let them
see: an agent their shop, a buyer their own requests, the platform any one shop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from feed.live_feed import LiveFeed, SubscriberTooSlow
from models import access
from models import events as event_domain
from models.actors import Actor
from models.after_sales_machine import AfterSaleTab as DomainAfterSaleTab
from models.errors import DomainError, Forbidden, ValidationFailed
from resolvers.after_sale_types import AfterSale, AfterSaleTab, AfterSaleTabCount
from resolvers.context import Context, actor_of, services_of
from resolvers.errors import CursorExpiredError, ForbiddenError, ValidationError, to_user_error
from resolvers.tickets import Ticket, TicketAction, TicketStatus
from resolvers.types import ActorKind, Cancellation, CancellationTab, Reason, RequestKind, TabCount
from storage import after_sales as after_sale_store
from storage import cancellations as cancellation_store
from storage import events as event_log
from storage import tab_counts
from storage import tickets as ticket_store
from storage.events import StoredEvent

# The close code for a subscriber that cannot keep up: "try again later" (RFC 6455), which
# clients such as graphql-ws retry; the reason says why and how to resume.
TOO_SLOW_CLOSE_CODE = 1013
_closing: set[asyncio.Future[None]] = set()  # closes under way (a task needs a reference)


@strawberry.enum(description="The tabs of Manage Cancellations and Manage Returns/Refunds.")
class RequestTab(Enum):
    TO_PROCEED = "TO_PROCEED"
    IN_PROCESS = "IN_PROCESS"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


@strawberry.type(description="One status change: who moved the request, from where to where.")
class StatusChange:
    action: str
    from_status: str | None = strawberry.field(description="Null when the request was created.")
    to_status: str
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
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                from_tab=RequestTab(e.from_tab) if e.from_tab else None,
                to_tab=RequestTab(e.to_tab),
                actor_kind=e.actor_kind,
                actor_id=e.actor_id,
                reason=Reason.of(e.reason) if e.reason else None,
                at=e.at,
            ),
        )

    @strawberry.field(
        description="The cancellation as it now is (null for refunds, returns, replacements)."
    )
    async def cancellation(self, info: Info[Context, Any]) -> Cancellation | None:
        e = self._stored.event
        if e.kind is not event_domain.RequestKind.CANCELLATION:  # (a request event: see `of`)
            return None
        db = services_of(info).db
        key = ("cancellation", e.request_id, self._stored.seq)
        c = await _feed(info).reads.get(key, lambda: cancellation_store.get(db, e.request_id))
        return Cancellation.of(c) if c else None

    @strawberry.field(
        description="The refund, return or replacement request as it now is (null for "
        "cancellations)."
    )
    async def after_sale(self, info: Info[Context, Any]) -> AfterSale | None:
        e = self._stored.event
        if e.kind is event_domain.RequestKind.CANCELLATION:
            return None
        db = services_of(info).db
        key = ("after_sale", e.request_id, self._stored.seq)
        r = await _feed(info).reads.get(key, lambda: after_sale_store.get(db, e.request_id))
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
        db = services_of(info).db
        key = ("ticket", e.ticket_id, self._stored.seq)
        t = await _feed(info).reads.get(key, lambda: ticket_store.get(db, e.ticket_id))
        return Ticket.of(t) if t else None


@strawberry.type(description="A shop's tab counts, as they are now.")
class TabCountsUpdate:
    shop_id: strawberry.ID
    cancellations: list[TabCount]
    after_sales: list[AfterSaleTabCount] = strawberry.field(
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


def encode_cursor(shop_id: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{shop_id}:{seq}".encode()).decode().rstrip("=")


# A feed position is an event number: at most 18 ASCII digits (it is stored as a 64-bit int).
_SEQ = re.compile(r"[0-9]{1,18}")


def decode_cursor(cursor: str, shop_id: str) -> int:
    not_ours = ValidationFailed("not a cursor of this feed", field="after")
    if len(cursor) > 256:  # a shop id of at most 64 characters and a number, in base64
        raise not_ours
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        shop, seq = raw.rsplit(":", 1)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise not_ours from None
    if not _SEQ.fullmatch(seq):  # int() would take "+1", " 1", "1_0" and other scripts' digits
        raise not_ours
    position = int(seq)
    if shop != shop_id:
        raise ValidationFailed("this cursor is from another shop's feed", field="after")
    return position


def _feed(info: Info[Context, Any]) -> LiveFeed:
    feed = info.context.feed
    assert feed is not None, "the app wires a live feed into every context"
    return feed


def _shop_scope(actor: Actor, shop_id: str | None) -> access.Scope:
    scope = access.list_scope(actor, shop_id)
    if scope.shop_id is None:
        raise ValidationFailed("name the shop (shopId) whose feed you want", field="shopId")
    return scope


def _closer(info: Info[Context, Any]) -> Callable[[str], None]:
    """Close this subscriber's connection with the reason, now (its sender may be stuck)."""
    if info.context.on_too_slow is not None:
        return info.context.on_too_slow
    websocket = info.context.response

    def close(reason: str) -> None:
        task = asyncio.ensure_future(websocket.close(code=TOO_SLOW_CLOSE_CODE, reason=reason))
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    return close


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
    db = services_of(info).db

    async def read(section: str) -> dict[str, int]:
        if key is None:
            return await tab_counts.read(db, shop_id, section)
        return await _feed(info).reads.get(
            (*key, section), lambda: tab_counts.read(db, shop_id, section)
        )

    stored = await read("cancellations")
    cancellations = [
        TabCount(tab=CancellationTab(t), count=max(0, stored.get(t, 0)))
        for t in ("TO_PROCEED", "COMPLETED", "CLOSED")
    ]
    stored = await read("after_sales")
    after_sales = [
        AfterSaleTabCount(tab=AfterSaleTab(t.value), count=max(0, stored.get(t.value, 0)))
        for t in DomainAfterSaleTab
    ]
    return TabCountsUpdate(
        shop_id=strawberry.ID(shop_id),
        cancellations=[
            TabCount(tab=CancellationTab.ALL, count=sum(t.count for t in cancellations)),
            *cancellations,
        ],
        after_sales=[
            AfterSaleTabCount(tab=AfterSaleTab.ALL, count=sum(t.count for t in after_sales)),
            *after_sales,
        ],
    )


@strawberry.type
class Subscription:
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
            tab_names = {t.value for t in tabs} if tabs else None
            feed = _feed(info).read(scope.shop_id, position, on_too_slow=_closer(info))
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
            async for stored in _feed(info).read(shop, position, on_too_slow=_closer(info)):
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
            db = services_of(info).db
            # The position first, then the counts (which reflect at least that position);
            # events after it re-read the counts, and an unchanged count is not sent again.
            head = await event_log.head(db, shop)
            last = await _counts(info, shop, None)
            yield last
            async for stored in _feed(info).read(shop, head, on_too_slow=_closer(info)):
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

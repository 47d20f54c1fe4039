"""The request vocabulary of the API: the `Request` interface that cancellations and after-sale
requests implement, and what every kind shares (one timeline record, one next action, one
initiator, one refund breakdown, one eligibility, one tab count).

The status, action and next-action enums are the union of the kinds' own, read from the registry
(models/request_kinds.py), so a kind's new status or step reaches the API with its table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from enum import Enum
from types import new_class
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from graphql_runtime.execution_plans import serve_from
from models import access
from models import refund_ledger as ledger
from models.actors import Actor, ActorKind  # ActorKind: the API enum (resolvers/values.py)
from models.after_sale_requests import APPEAL_OR_REQUEST_AGAIN, LineEligibility
from models.after_sales_machine import AfterSaleNotificationKind, AfterSaleTab
from models.cancellations import CancellationTab, Eligibility
from models.notifications import NotificationKind as CancellationNotificationKind
from models.request_kinds import PROFILES
from models.requests import NextAction as DomainNextAction
from models.requests import TimelineRecord as DomainRecord
from resolvers.context import Context, actor_of, services_of
from resolvers.evidence.types import Evidence, evidence_of
from resolvers.inputs import well_formed_id
from resolvers.requests.marketplace import MarketplaceRequest, marketplace_of
from resolvers.values import Connection, LineItem, Lines, Money, Node, Reason, RequestKind, copied
from services.marketplace_views import may_be_mirrored
from services.read_types import TabPage
from services.request_reads import RequestReads

if TYPE_CHECKING:
    from resolvers.helpdesk.types import Ticket
    from resolvers.orders.types import Order
    from resolvers.refunds.settlement import Refund


T = TypeVar("T")


def api_enum(name: str, members: Iterable[str], description: str | None = None) -> Any:
    """An API enum whose members are named as their values (each domain enum's are), each
    once, in their order: a reason catalogue's codes, a kind's tabs, the kinds' statuses."""
    return strawberry.enum(Enum(name, {m: m for m in members}), description=description)  # type: ignore[misc]


def _members(enums: Iterable[type[Enum]]) -> list[str]:
    """The members of several domain enums, each enum once, in their order."""
    return [member.value for enum in dict.fromkeys(enums) for member in enum]


RequestStatus: Any = api_enum(
    "RequestStatus",
    _members(type(t.target) for p in PROFILES.values() for t in p.table),
    "The status of a request of any kind: a cancellation's (PENDING, CANCELLED, REJECTED, "
    "WITHDRAWN) or an after-sale request's.",
)
RequestAction: Any = api_enum(
    "RequestAction",
    _members(type(t.action) for p in PROFILES.values() for t in p.table),
    "A step of a request of any kind, as its timeline records it.",
)
NextActionKind: Any = api_enum(
    "NextActionKind",
    # The next actions the kinds' deadline rules name (models/request_kinds.py), and R5's: a
    # first rejection's, chosen by the request rather than by a rule.
    [
        *(rule.action for p in PROFILES.values() for rule in p.deadlines.values()),
        APPEAL_OR_REQUEST_AGAIN,
    ],
    "What the actor named by a request's next action does: ACCEPT_OR_REJECT a "
    "cancellation, APPROVE_OR_REJECT an after-sale request, SHIP_RETURN, ...",
)
NotificationKind: Any = api_enum(
    "NotificationKind",
    _members([CancellationNotificationKind, AfterSaleNotificationKind]),
    "What a notification tells its recipient.",
)

# A domain member's API member by its value (each kind's value is its name): a str key hashes
# in C, an Enum member in Python, and Enum's call by value costs ~1 us, many times a page.
_STATUS = {m.value: m for m in RequestStatus}
_ACTION = {m.value: m for m in RequestAction}
_NEXT = {m.value: m for m in NextActionKind}
_KIND = {m.value: m for m in RequestKind}


def status_of(status: Enum | str) -> Any:
    """The API's member for a kind's status, or for its value (as the feed stores it)."""
    return _STATUS[status._value_ if isinstance(status, Enum) else status]


def action_of(action: Enum | str) -> Any:
    return _ACTION[action._value_ if isinstance(action, Enum) else action]


def kind_of(kind: Enum) -> RequestKind:
    """The request kind of an after-sale kind (the same name) or of a request kind."""
    return _KIND[kind._value_]


@strawberry.enum(
    description="Who opened a request, in TikTok Shop's words: the buyer, the seller (C7, R9), "
    "or SYSTEM, the marketplace itself (a system cancellation C8, a platform refund R10).",
)
class RequestInitiator(Enum):
    BUYER = "BUYER"
    SELLER = "SELLER"
    SYSTEM = "SYSTEM"
    PLATFORM = strawberry.enum_value(
        "PLATFORM", deprecation_reason="Say SYSTEM. Accepted in inputs as SYSTEM; never returned."
    )


# The domain says PLATFORM where TikTok Shop says SYSTEM; the API says SYSTEM, and reads both.
_INITIATOR = {m.value: m for m in RequestInitiator} | {"PLATFORM": RequestInitiator.SYSTEM}


def initiator_of(initiator: Enum) -> RequestInitiator:
    """The API's word for a domain initiator (the domain says PLATFORM for SYSTEM)."""
    return _INITIATOR[initiator._value_]


def domain_initiator(initiator: RequestInitiator, domain: type[Enum]) -> Any:
    """The member of a domain initiator enum that an input's initiator names."""
    return domain("PLATFORM" if initiator is RequestInitiator.SYSTEM else initiator.value)


def kind_tabs(domain_tabs: type[Enum], description: str) -> Any:
    """A kind's tab enum, named as its domain enum: ALL, then the tabs of its page in order."""
    return api_enum(domain_tabs.__name__, ["ALL", *_members([domain_tabs])], description)


RequestTab: Any = api_enum(
    "RequestTab",
    ["ALL", *_members([AfterSaleTab, CancellationTab])],
    "The tabs of Manage Cancellations and Manage Returns/Refunds; ALL is every request (Manage "
    "Cancellations has no IN_PROCESS).",
)

# The order a kind's list takes when none is asked, from its tab and its filter.
DefaultSort = Callable[[Enum, Any], str]


@strawberry.type(description="The count of one tab under a list's filters.")
class TabCount:
    tab: RequestTab
    count: int


def tab_counts(counts: Mapping[Enum, int]) -> list[TabCount]:
    """ALL first, then each tab of the kind's page in its order."""
    tabs = [TabCount(tab=RequestTab[t.name], count=n) for t, n in counts.items()]
    return [TabCount(tab=RequestTab.ALL, count=sum(counts.values())), *tabs]


@strawberry.type
class RequestConnection(Connection[Node]):
    """A page of one kind's requests, with the counts of its tabs."""

    # Counts the list's tabs for the caller, under its shop and filter (the kind's service).
    count_tabs: strawberry.Private[Callable[[Actor], Awaitable[Mapping[Enum, int]]]]

    @strawberry.field(description="The count of every tab (ALL included) under the same filter.")
    async def tab_counts(self, info: Info[Context, Any]) -> list[TabCount]:
        return tab_counts(await self.count_tabs(actor_of(info)))


class KindQueries:
    """The queries every kind has: one request by id and a tab of its page, for the kind whose
    requests `service` (`Services.<service>`) reads and `node` presents (its `of`), with the
    tabs `tabs` (ALL: every one)."""

    def __init__(self, service: str, node: Any, tabs: Any) -> None:
        self.service = service
        self.node = node
        self.tabs = tabs
        name = node.__name__
        self.connection = strawberry.type(
            new_class(f"{name}Connection", (RequestConnection[node],))
        )
        # A list's orders: the same for every kind, each kind's enum under its own name.
        self.sorts = api_enum(f"{name}Sort", ["NEWEST", "OLDEST", "DEADLINE_SOONEST"])

    def reads(self, info: Info[Context, Any]) -> RequestReads[Any, Any, Any]:
        return getattr(services_of(info), self.service)  # type: ignore[no-any-return]

    def one(self) -> Any:
        """One request, to whoever may see it; a malformed id refused."""

        async def one(info: Info[Context, Any], id: strawberry.ID) -> Any:
            found = await self.reads(info).get(actor_of(info), well_formed_id(id, "id"))
            return self.node.of(found)

        return strawberry.field(one, graphql_type=self.node)  # the kind's type

    def page(
        self, filter_input: type, description: str, default_sort: DefaultSort | None = None
    ) -> Any:
        """A tab's page: filtered (`filter_input`), sorted (NEWEST unless asked; with
        `default_sort`, the sort may be left out and it decides from the tab and the filter),
        paged; its tabs counted when asked, under the same shop and filter."""

        async def page(
            info: Info[Context, Any],
            shop_id: strawberry.ID | None = None,
            tab: Enum = self.tabs.ALL,
            filter: Any = None,
            sort: Enum | None = None if default_sort else self.sorts.NEWEST,
            first: int = 20,
            after: str | None = None,
        ) -> Any:
            reads = self.reads(info)
            f = list_filter(filter, type(reads.whole_shop))
            order = sort.value if sort is not None else default_sort(tab, f)  # type: ignore[misc]
            domain_tab = None if tab.name == "ALL" else reads.tabs[tab.name]
            asked = TabPage(domain_tab, f, order, first, after)
            found, page = await reads.page(actor_of(info), shop_id, asked)
            return self.connection.of(
                found, page, self.node.of, count_tabs=lambda a: reads.tab_counts(a, shop_id, f)
            )

        # Strawberry reads the arguments and the result from the resolver: the kind's own types.
        page.__annotations__ |= {
            "tab": self.tabs,
            "filter": filter_input | None,
            "sort": self.sorts | None if default_sort else self.sorts,
            "return": self.connection,
        }
        return strawberry.field(page, description=description)


@strawberry.type(description="One change of a request (R11): who, when, from what to what, why.")
class TimelineRecord:
    at: datetime
    actor_kind: ActorKind
    actor_id: str
    action: RequestAction
    from_status: RequestStatus | None
    to_status: RequestStatus
    reason: Reason | None
    comment: str | None
    deadline: datetime | None = strawberry.field(
        description="For a move made because time ran out: the deadline it acted on."
    )

    @classmethod
    def of(cls, t: DomainRecord[Any, Any], reason: Callable[[str], Reason]) -> TimelineRecord:
        return cls(
            at=t.at,
            actor_kind=t.actor_kind,
            actor_id=t.actor_id,
            action=_ACTION[t.action._value_],
            from_status=_STATUS[t.from_status._value_] if t.from_status is not None else None,
            to_status=_STATUS[t.to_status._value_],
            reason=reason(t.reason) if t.reason else None,
            comment=t.comment,
            deadline=t.deadline,
        )


@strawberry.type(description="Who must act next, what they do, and by when (null: no deadline).")
class NextAction:
    actor_kind: ActorKind
    action: NextActionKind
    # A plain field, so a page's plan (graphql_runtime/execution_plans.py) reads it in place.
    due_at: datetime | None = strawberry.field(
        description="By when (null: no deadline). H4: on a request mirrored from TikTok Shop "
        "the local window, which never acts: TikTok's deadline is `marketplace.deadline`."
    )
    request_id: strawberry.Private[str]
    mirrored: strawberry.Private[bool]  # may be: TikTok's side is looked up only then

    @classmethod
    def of(cls, n: DomainNextAction | None, request_id: str, lines: Lines) -> NextAction | None:
        if n is None:
            return None
        return cls(
            actor_kind=n.actor_kind,
            action=_NEXT[n.action],
            due_at=n.due_at,
            request_id=request_id,
            mirrored=may_be_mirrored(lines),
        )

    @strawberry.field(
        description="H4: true when the seller must answer before TikTok's deadline "
        "(`marketplace.deadline`), which falls within the warning window (12 hours), and no "
        "decision from here is on its way to TikTok; false otherwise, and always for a shop not "
        "linked."
    )
    def deadline_soon(self, info: Info[Context, Any]) -> bool:
        # Not a coroutine function: a local request (nearly every one) costs no awaitable;
        # graphql-core awaits the one a mirrored request returns.
        if not self.mirrored or self.actor_kind is not ActorKind.SELLER_AGENT:
            return False
        return self._deadline_soon(info)  # type: ignore[return-value]

    async def _deadline_soon(self, info: Info[Context, Any]) -> bool:
        view = await info.context.marketplace.load(self.request_id)
        return view is not None and view.deadline_soon


@strawberry.type
class LineRefund:
    line_id: strawberry.ID
    quantity: int
    amount: Money


@strawberry.type(description="How a refund is made up: per line, the items, the shipping, total.")
class RefundBreakdown:
    items: Money
    shipping: Money
    total: Money
    lines: list[LineRefund]


RefundSource = strawberry.enum(ledger.LedgerSource, name="RefundSource")


@strawberry.type(description="One refund paid on the order, by a request or a cancellation.")
class RefundLedgerEntry:
    source: RefundSource
    source_id: strawberry.ID
    at: datetime
    items: Money
    shipping: Money
    total: Money
    lines: list[LineRefund]


@strawberry.type(description="Every refund on an order, and what is left (never below zero).")
class RefundLedger:
    order_id: strawberry.ID
    paid: Money
    refunded: Money
    refundable: Money
    entries: list[RefundLedgerEntry]


# Served as they are: the domain's refund values have these types' attribute names.
serve_from(LineRefund, ledger.LineRefund)
serve_from(RefundBreakdown, ledger.RefundBreakdown)
serve_from(RefundLedgerEntry, ledger.LedgerEntry)


@strawberry.type(
    description="What the buyer may ask for now: to cancel the order (C1, C2, C3; `lineId` "
    "null), or a refund, a return or a replacement of one line (R1, R5, P1)."
)
class RequestEligibility:
    kind: RequestKind
    line_id: strawberry.ID | None = strawberry.field(description="Null: the whole order.")
    allowed: bool
    at_once: bool = strawberry.field(
        description="True: cancelled at once, no seller step (C1); false for after-sale lines."
    )
    code: str | None = strawberry.field(
        description="Why not, when not allowed: ORDER_IN_TRANSIT, WINDOW_PASSED, "
        "ALREADY_REQUESTED..."
    )
    message: str
    available_quantity: int | None = strawberry.field(
        description="After-sale lines: how many of the line may still be asked about; null for "
        "a cancellation."
    )
    window_ends_at: datetime | None = strawberry.field(
        description="A cancellation: the end of the unconditional window; a line: of the kind's."
    )
    eligible: bool = strawberry.field(deprecation_reason="Use `allowed`.")

    @classmethod
    def of_cancellation(cls, e: Eligibility) -> RequestEligibility:
        kind = RequestKind.CANCELLATION
        return copied(cls, e, kind=kind, line_id=None, available_quantity=None, eligible=e.allowed)

    @classmethod
    def of_line(cls, e: LineEligibility) -> RequestEligibility:
        return copied(cls, e, kind=kind_of(e.kind), allowed=e.eligible, at_once=False)


def list_filter(given: Any, filter_type: Callable[..., T]) -> T:
    """A request list's filter as its service takes it (the same field names), ids checked;
    none given: no filter."""
    if given is None:
        return filter_type()
    order_id = well_formed_id(given.order_id, "filter.orderId")
    buyer_id = well_formed_id(given.buyer_id, "filter.buyerId")
    return copied(filter_type, given, order_id=order_id, buyer_id=buyer_id)


def request_of(
    api_type: Callable[..., T],
    r: Any,
    kind: RequestKind,
    reason: Callable[[str], Reason],
    next_action: DomainNextAction | None,
    **given: Any,
) -> T:
    """A request of any kind as its API type, filled once: the `Request` interface's fields
    from the domain request (its reasons displayed by `reason`, its next action as the caller
    read it once), and the kind's own `given`. Named one by one, not copied by name: a page makes
    50, and the copy cost ~0.2 ms more CPU a page (benchmarks/tab_query.py, --sizes 1000)."""
    return api_type(
        id=r.id,
        kind=kind,
        order_id=r.order_id,
        shop_id=r.shop_id,
        buyer_id=r.buyer_id,
        initiator=initiator_of(r.initiator),
        status=status_of(r.status),
        reason=reason(r.reason),
        note=r.note,
        requested_at=r.requested_at,
        resolved_at=r.resolved_at,
        next_action=NextAction.of(next_action, r.id, r.lines),
        refund=r.refund,
        lines=r.lines,
        timeline=[TimelineRecord.of(t, reason) for t in r.timeline],
        **given,
    )


# An order, a refund and a ticket as the API serves them; their modules import the request types.
LazyOrder = Annotated["Order", strawberry.lazy("resolvers.orders.types")]
LazyRefund = Annotated["Refund", strawberry.lazy("resolvers.refunds.settlement")]
LazyTicket = Annotated["Ticket", strawberry.lazy("resolvers.helpdesk.types")]


async def order_of(info: Info[Context, Any], order_id: str | None) -> LazyOrder | None:
    """The order a request names, to whoever sees the request (same shop, same buyer)."""
    from resolvers.orders.types import Order

    order = await info.context.orders.load(order_id) if order_id else None
    return Order.of(order) if order else None


@strawberry.interface(
    description="A request about an order: a cancellation (`Cancellation`) or a refund, a return "
    "or a replacement (`AfterSale`). The fields every kind has; `kind` says which."
)
class Request:
    id: strawberry.ID
    kind: RequestKind
    order_id: strawberry.ID
    shop_id: strawberry.ID
    buyer_id: strawberry.ID
    initiator: RequestInitiator
    status: RequestStatus
    reason: Reason
    note: str | None
    requested_at: datetime
    resolved_at: datetime | None
    deadline: datetime | None = strawberry.field(
        description="The current step's deadline: the platform acts then if nobody did."
    )
    next_action: NextAction | None
    refund: RefundBreakdown | None = strawberry.field(description="What was refunded, if paid.")
    lines: Lines = strawberry.field(graphql_type=list[LineItem])
    timeline: list[TimelineRecord]

    @strawberry.field
    async def order(self, info: Info[Context, Any]) -> LazyOrder | None:
        return await order_of(info, self.order_id)

    @strawberry.field(
        description="Where the refund's money is (INSTRUCTED: refund pending; SETTLED: "
        "refunded); null when the request refunds nothing."
    )
    async def refund_settlement(self, info: Info[Context, Any]) -> LazyRefund | None:
        from resolvers.refunds.settlement import refund_of  # it imports the request types

        return await refund_of(info, self.id)

    @strawberry.field(description="H4: TikTok's side, for a request of a linked shop.")
    async def marketplace(self, info: Info[Context, Any]) -> MarketplaceRequest | None:
        return await marketplace_of(info, self.id)

    @strawberry.field(
        description="The helpdesk ticket the request opened (null: none), for the shop's team "
        "(batched across a list of requests)."
    )
    async def ticket(self, info: Info[Context, Any]) -> LazyTicket | None:
        from resolvers.helpdesk.types import Ticket  # it imports the request types

        t = await info.context.tickets.load(self.id)
        if t is None:
            return None
        access.require_team_view(actor_of(info), t.shop_id, f"the ticket of {self.id}")
        return Ticket.of(t)

    @strawberry.field(description="E1: the photos and videos attached to its steps, oldest first.")
    async def evidence(self, info: Info[Context, Any]) -> list[Evidence]:
        return await evidence_of(info, self.id)  # visible to whoever sees the request

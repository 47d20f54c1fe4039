"""GraphQL value types every feature serves: money, reasons, order lines, pages, actor kinds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, Generic, Protocol, Self, TypeVar

import strawberry

from graphql_runtime.execution_plans import serve_from
from models.actors import ActorKind as DomainActorKind
from models.money import Money as DomainMoney
from models.orders import LineItem as DomainLineItem
from models.reasons import display_text
from models.requests import RequestKind as DomainRequestKind

Node = TypeVar("Node")
T = TypeVar("T")

ActorKind = strawberry.enum(DomainActorKind, name="ActorKind")
RequestKind = strawberry.enum(DomainRequestKind, name="RequestKind")


@strawberry.type(description="Exact money: `amount` is a decimal string, never a float.")
class Money:
    # The attribute names are the domain Money's, so a domain Money is served as it is where a
    # domain value holds one (a line's unit price and subtotal); `of` copies one elsewhere.
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code.")
    minor: int = strawberry.field(
        name="minorUnits", description="The amount in the currency's minor unit."
    )

    @classmethod
    def of(cls, m: DomainMoney) -> Money:
        return cls(amount=m.amount, currency=m.currency, minor=m.minor)


@strawberry.type
class Reason:
    code: str
    display_text: str

    @classmethod
    @lru_cache(maxsize=1024)
    def of(cls, code: str) -> Reason:
        # One object per code, shared: nothing changes a Reason once made, and a tab page shows
        # ~100 of a few codes.
        return cls(code=code, display_text=display_text(code))


def reasons_in(catalogue: Mapping[str, str]) -> list[Reason]:
    """A reason catalogue (code -> display text) as the API lists it."""
    return [Reason(code=code, display_text=text) for code, text in catalogue.items()]


@strawberry.type
class LineItem:
    """The shape of the domain's line item (models/orders.py), which resolvers serve as it is:
    an immutable value, so a page of requests needs no copy of its lines, and `subtotal` (the
    domain's own property) is computed only when a document asks for it."""

    line_id: strawberry.ID
    sku: str
    title: str
    quantity: int
    unit_price: Money
    subtotal: Money
    category: str


def copied(api_type: Callable[..., T], value: Any, **given: Any) -> T:
    """An API value filled from a domain value's attributes of the same names, with `given`
    for those that differ (a reason's code shown as a Reason)."""
    names = _field_names(api_type)
    return api_type(**{n: getattr(value, n) for n in names if n not in given}, **given)


@lru_cache(maxsize=256)
def _field_names(api_type: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(api_type) if f.init)


serve_from(LineItem, DomainLineItem)
serve_from(Money, DomainMoney)
Lines = tuple[DomainLineItem, ...]  # served as [LineItem!]!


class _Page(Protocol):
    """A page of results as the services return it (storage/pagination.py)."""

    has_next: bool
    cursors: Sequence[str]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, page: _Page) -> PageInfo:
        return cls(
            has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None
        )


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    """A page of a list. Strawberry names `Connection[Order]` OrderConnection, its edges
    OrderEdge; a subclass adds what one list has besides (a request list's `tabCounts`)."""

    edges: list[Edge[Node]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Node]:
        return [e.node for e in self.edges]

    @classmethod
    def of(
        cls, found: Iterable[Any], page: _Page, present: Callable[[Any], Node], **more: Any
    ) -> Self:
        """The page of what a service found, each presented as a node, with its cursor; `more`:
        the fields a subclass adds."""
        edges = [
            Edge(cursor=cur, node=present(x)) for x, cur in zip(found, page.cursors, strict=True)
        ]
        return cls(edges=edges, page_info=PageInfo.of(page), **more)

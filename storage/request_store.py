"""One collection of requests, whatever their kind: the reads and writes every kind shares.

A request is one document, its timeline embedded. Every list query is an equality prefix (the
order, or the shop and the buyer; the `tabs` value) plus one range on one sort key
(storage/keys.py); a kind's filter adds its own to `RequestFilter.query` (storage/after_sales.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from models.access import Scope
from models.after_sale_requests import AfterSaleRequest
from models.cancellations import Cancellation
from models.errors import ValidationFailed
from storage import shops
from storage.batch_writes import find_by_ids, fold_at_commit, insert_at_commit, update_at_commit
from storage.documents import Doc, changes_between, value_doc, value_from
from storage.keys import ALL, sort_key, time_bounds
from storage.mongo import ConcurrentUpdate, Database, Session
from storage.pagination import Page, SortOrder, fetch_page

# Fields a write stores with some of its requests, by request id, beyond what `to_doc` makes.
Extra = dict[str, Doc]
# What a deadline scan finds (`overdue`): ids and deadlines, oldest first.
Overdue = list[tuple[str, datetime]]

SORTS = {
    "NEWEST": SortOrder("NEWEST", "k_requested", -1),
    "OLDEST": SortOrder("OLDEST", "k_requested", 1),
    "DEADLINE_SOONEST": SortOrder("DEADLINE_SOONEST", "k_deadline", 1),
}


def whose(scope: Scope, buyer_id: str | None) -> Doc:
    """A list's equality on its scope's shop and buyer (or the buyer its filter names)."""
    who = {"shop_id": scope.shop_id, "buyer_id": scope.buyer_id or buyer_id}
    return {k: v for k, v in who.items() if v}


def on_sort_key(sort: SortOrder | None, key: str, refusal: str) -> None:
    """A range filter on the sort key `key` goes with a page sorted on that key (a count has no
    sort); a page sorted otherwise is refused, `refusal` saying which sorts it goes with."""
    if sort and sort.key != key:
        raise ValidationFailed(refusal, field="sort")


@dataclass(frozen=True)
class RequestFilter:
    """What every kind's lists filter on; a kind adds its own (storage/after_sales.py)."""

    order_id: str | None = None
    buyer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def tabs(self, tab: Enum | None) -> str:
        """The `tabs` value a tab's list is found by (storage/keys.py)."""
        return tab.value if tab else ALL

    def query(self, scope: Scope, tab: Enum | None, sort: SortOrder | None) -> Doc:
        """Equality on who and which tab, and the created-between range on the creation key (a
        page's `sort` must be on that key; a count has none).

        With an order filter the order alone is the prefix: its few requests all share one shop
        and one buyer, so `in_scope` checks the scope on what comes back instead.
        """
        query = {"order_id": self.order_id} if self.order_id else whose(scope, self.buyer_id)
        query["tabs"] = self.tabs(tab)
        if self.created_from or self.created_to:
            on_sort_key(sort, "k_requested", "a created-between filter sorts by NEWEST or OLDEST")
            query["k_requested"] = time_bounds(self.created_from, self.created_to)
        return query


@dataclass(frozen=True)
class TabPage:
    """A page of one tab asked for: the tab (None: ALL), the list's filter, the sort (named in
    SORTS), how many, and after which cursor."""

    tab: Enum | None
    filter: RequestFilter
    sort: str
    first: int
    after: str | None


class Versioned(Protocol):
    """What `save_changes` reads of a stored value: an order, a request of any kind, a ticket."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...


# A request of any kind: what the shared code reads of one (its id, version, shop, buyer, tab,
# refund) each kind has under the same name.
Request = Cancellation | AfterSaleRequest
R = TypeVar("R", bound=Request)


def in_scope(doc: Doc, scope: Scope, buyer_id: str | None) -> bool:
    """Whether a request's document is one `scope` sees, of the buyer a filter names if any."""
    wanted = [("shop_id", scope.shop_id), ("buyer_id", scope.buyer_id), ("buyer_id", buyer_id)]
    return all(doc[key] == value for key, value in wanted if value)


@dataclass(frozen=True)
class RequestStore(Generic[R]):
    """The requests of one kind in their `collection`: each stored by its class's fields
    (`value_doc`) and the keys its lists are found by (storage/keys.py): its `tabs`,
    `k_requested`, and `k_deadline` from `deadline`. Listed by the kind's filter
    (`RequestFilter.query`), an order's in the sort `by_order` names."""

    collection: str
    cls: type[R]
    tabs: Callable[[R], list[str]]
    deadline: Callable[[R], datetime | None]
    by_order: str

    def to_doc(self, r: R) -> Doc:
        doc: Doc = value_doc(r, "_id")
        doc["k_requested"] = sort_key(r.requested_at, r.id)
        doc["tabs"] = self.tabs(r)
        doc["k_deadline"] = sort_key(self.deadline(r), r.id)
        return doc

    def from_doc(self, d: Doc) -> R:
        return value_from(self.cls, d, "_id")

    def of(self, db: Database) -> Any:
        return getattr(db, self.collection)

    async def get(self, db: Database, request_id: str, session: Session | None = None) -> R | None:
        doc = await self.of(db).find_one({"_id": request_id}, session=session)
        return self.from_doc(doc) if doc else None

    async def get_many(
        self, db: Database, ids: list[str], session: Session | None = None
    ) -> list[R]:
        return [self.from_doc(d) for d in await find_by_ids(self.of(db), ids, session)]

    async def insert_many(
        self, db: Database, created: list[R], session: Session, extra: Extra | None = None
    ) -> None:
        """`extra`: fields some of them are stored with, by id (a refund, storage/refunds.py)."""
        if created:
            more = extra or {}
            docs = [self.to_doc(r) | more.get(r.id, {}) for r in created]
            if not insert_at_commit(db, self.of(db), docs, session):
                await self.of(db).insert_many(docs, session=session)

    async def page(self, db: Database, scope: Scope, asked: TabPage) -> tuple[list[R], Page]:
        """One keyset page of a tab; a page of another's order (`order_id` filter) is empty."""
        order, f = SORTS[asked.sort], asked.filter
        query = f.query(scope, asked.tab, order)
        result = await fetch_page(self.of(db), query, order, asked.first, asked.after)
        if "order_id" in query and not all(in_scope(d, scope, f.buyer_id) for d in result.docs):
            result = Page([], False, [])
        return [self.from_doc(d) for d in result.docs], result

    async def count(self, db: Database, scope: Scope, tab: Any, f: RequestFilter) -> int:
        query = f.query(scope, tab, None)
        if "order_id" in query:
            docs = await self.of(db).find(query, {"shop_id": 1, "buyer_id": 1}).to_list(None)
            return sum(1 for d in docs if in_scope(d, scope, f.buyer_id))
        return await self.of(db).count_documents(query)

    async def for_orders(
        self, db: Database, order_ids: list[str], session: Session | None = None
    ) -> dict[str, list[R]]:
        """Every request of these orders in the kind's order for them (the order index, tab
        ALL): one query an order (SecantusDB scans the collection for an `$in` on it)."""
        out: dict[str, list[R]] = {}
        for order_id in order_ids:
            found = self.of(db).find({"order_id": order_id, "tabs": ALL}, session=session)
            docs = await found.sort(SORTS[self.by_order].spec).to_list(None)
            out[order_id] = [self.from_doc(d) for d in docs]
        return out


V = TypeVar("V", bound=Versioned)


async def save_changes(
    collection: AsyncCollection,
    to_doc: Callable[[V], Doc],
    changes: Sequence[tuple[V, V]],
    session: Session,
    extra: Extra | None = None,
) -> list[V]:
    """Each document from the state it was decided on (`before`) to `after`, its version bumped
    (so that the write always changes it: the claim), with the `extra` fields of some set in the
    same statement, in one round trip; the values as saved.

    Call it inside `Database.transaction`, with `before` read in the same transaction: that
    is the compare-and-set. A document another transaction changed since this one's snapshot
    makes the write fail with a transient WriteConflict, and the transaction reruns the
    decision on the state that won (MongoDB and SecantusDB both refuse such a lost update).
    The filter is `_id` alone on purpose: SecantusDB cannot use the `_id` index with a
    residual predicate such as the version (a batch of 2,000 took 5.3 s instead of 3.4 s).
    """
    saved = [replace(after, version=before.version + 1) for before, after in changes]  # type: ignore[type-var]
    more = extra or {}
    diffs = [
        (b.id, changes_between(to_doc(b), to_doc(a), more.get(b.id)))
        for (b, _), a in zip(changes, saved, strict=True)
    ]
    # A document the batch inserts at its commit is written once, as it is now; of the rest, in
    # a batch whose parts' documents were read ahead, each part's own: at its commit.
    rest = fold_at_commit(collection, diffs, session)
    updates = [(ident, UpdateOne({"_id": ident}, diff)) for ident, diff in rest]
    ops = [op for _, op in updates]
    if ops and not update_at_commit(collection, updates, session):
        result = await collection.bulk_write(ops, ordered=False, session=session)
        if result.matched_count != len(ops):
            raise ConcurrentUpdate(collection.name)
    return saved


async def overdue(
    db: Database, collection: AsyncCollection, query: Doc, deadline: str, now: datetime, limit: int
) -> Overdue:
    """Ids and deadlines of the documents matching `query` whose `deadline` has passed, oldest
    first (on an index of the query's equality and the deadline)."""
    # `< now + 1 ms` is `<= now` for millisecond BSON times, and a strict upper bound is
    # read right by SecantusDB, which drops an inclusive bound at the end of an index scan.
    bound = {"$lt": now + timedelta(milliseconds=1)}
    found = collection.find({**query, deadline: bound}, {deadline: 1, "shop_id": 1})
    docs = await found.sort([(deadline, 1)]).limit(limit).to_list(None)
    # The batch that acts on them queues on their shops (storage/shops.py): known now.
    shops.remember(db, collection, [(d["_id"], d["shop_id"]) for d in docs])
    return [(d["_id"], d[deadline]) for d in docs]

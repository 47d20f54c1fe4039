"""The fan-out's bounded queues, without a database: a subscriber that keeps up is never cut off,
one that stops reading is, and only it (the watcher never waits for a subscriber)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from feed.live_feed import LiveFeed, Subscriber
from models.actors import ActorKind
from models.events import RequestKind, StatusEvent
from storage.events import StoredEvent

AT = datetime(2026, 11, 23, tzinfo=UTC)


def _event(seq: int, shop: str = "shop-1") -> StoredEvent:
    e = StatusEvent(
        RequestKind.CANCELLATION,
        f"can_{seq}",
        "ord",
        shop,
        "b",
        "REQUEST",
        None,
        "PENDING",
        None,
        "TO_PROCEED",
        ActorKind.BUYER,
        "b",
        None,
        AT,
    )
    return StoredEvent(f"evt_{seq}", seq, e, AT)


async def test_h3_a_stalled_subscriber_is_cut_off_and_the_others_are_not() -> None:
    feed = LiveFeed(db=None, queue_limit=3)  # type: ignore[arg-type]
    reasons: list[str] = []
    fast = Subscriber("shop-1", 3)
    stalled = Subscriber("shop-1", 3, reasons.append)
    other_shop = Subscriber("shop-2", 3)
    for sub in (fast, stalled, other_shop):
        feed._by_shop.setdefault(sub.shop_id, set()).add(sub)
    received: list[int] = []

    async def keep_up() -> None:
        while True:
            await fast.wake.wait()
            fast.wake.clear()
            while fast.queue:
                received.append(fast.queue.popleft().seq)

    reader = asyncio.create_task(keep_up())
    for seq in range(1, 11):
        feed.publish(_event(seq))
        await asyncio.sleep(0)  # the watcher goes on; the fast reader runs between events
    reader.cancel()

    assert received == list(range(1, 11))
    assert len(reasons) == 1 and "too slow" in reasons[0]
    assert stalled.too_slow and list(q.seq for q in stalled.queue) == [1, 2, 3]
    assert stalled not in feed._by_shop["shop-1"] and fast in feed._by_shop["shop-1"]
    assert feed.subscriber_count() == 2 and not other_shop.queue


def test_h3_callers_who_see_the_same_requests_share_a_view_key() -> None:
    from models.access import view_key
    from models.actors import ADJUSTMENTS, Actor

    agent = Actor(ActorKind.SELLER_AGENT, "a-1", "shop-1", frozenset({ADJUSTMENTS}))
    reader = Actor(ActorKind.SELLER_AGENT, "a-2", "shop-1")
    assert view_key(agent) == view_key(reader)
    assert view_key(agent) != view_key(Actor(ActorKind.SELLER_AGENT, "a-1", "shop-2"))
    assert view_key(Actor(ActorKind.BUYER, "b-1")) != view_key(Actor(ActorKind.BUYER, "b-2"))
    assert view_key(Actor(ActorKind.PLATFORM, "ops-1")) == view_key(Actor(ActorKind.PLATFORM, "x"))


def test_h3_a_shared_group_cuts_off_only_the_member_that_stopped_sending() -> None:
    from types import SimpleNamespace

    from feed.sharing import _Member, _Message

    closed: list[str] = []
    handler = SimpleNamespace(close_soon=closed.append)
    op = SimpleNamespace(id="1")
    keeping_up = _Member(handler, op, limit=3)  # type: ignore[arg-type]
    stuck = _Member(handler, op, limit=3)  # type: ignore[arg-type]
    for n in range(10):
        for member in (keeping_up, stuck):
            member.offer(_Message(f'{{"n":{n}}}'))
        keeping_up.queue.clear()  # its sender wrote it out
    assert keeping_up.ended is None
    assert stuck.ended == "closed" and not stuck.queue
    assert len(closed) == 1 and "too slow" in closed[0]


def test_h3_which_subscriptions_share_an_execution() -> None:
    from feed.sharing import _shape

    def shares(query: str) -> tuple[bool, str | None]:
        shape = _shape(query, None)
        return shape.shareable, shape.cursor_variable

    assert shares("subscription { tabCounts { __typename } }") == (True, None)
    assert shares("subscription($a: String) { requestEvents(after: $a) { __typename } }") == (
        True,
        "a",
    )
    assert shares('subscription { requestEvents(after: "x") { __typename } }')[0] is False
    assert shares("subscription { requestEvents(after: null) { __typename } }") == (True, None)
    assert shares("query { viewer { id } }")[0] is False
    assert (
        shares("subscription { a: tabCounts { __typename } b: tabCounts { __typename } }")[0]
        is False
    )
    assert shares("not graphql")[0] is False


class _Socket:
    """Stands in for feed/socket_writer.DirectSender: takes frames while `open` is true."""

    def __init__(self) -> None:
        self.open = True
        self.sent: list[bytes] = []

    def send_frame(self, data: bytes) -> bool:
        if self.open:
            self.sent.append(data)
        return self.open


def test_h3_results_go_straight_to_an_idle_socket_and_queue_behind_a_busy_one_in_order() -> None:
    from types import SimpleNamespace

    from feed.sharing import _Member, _Message
    from feed.socket_writer import text_frame

    socket = _Socket()
    handler = SimpleNamespace(close_soon=lambda reason: None)
    member = _Member(handler, SimpleNamespace(id="7"), limit=10, direct=socket)  # type: ignore[arg-type]

    def offer(n: int) -> bool:
        return member.offer(_Message(f'{{"n":{n}}}'))

    assert offer(1) and socket.sent == [text_frame(b'{"id":"7","type":"next","payload":{"n":1}}')]
    assert not member.queue
    socket.open = False  # the socket's buffer is full
    assert offer(2) and list(member.queue) == ['{"n":2}']
    socket.open = True  # writable again, but 2 waits in the queue: 3 must not overtake it
    assert offer(3) and list(member.queue) == ['{"n":2}', '{"n":3}']
    member.queue.clear()
    member.sending = True  # the member's task is sending through the ASGI path
    assert offer(4) and list(member.queue) == ['{"n":4}']
    assert len(socket.sent) == 1


def test_h3_a_text_frame_is_what_websockets_itself_sends_for_each_length_class() -> None:
    from websockets.frames import Frame, Opcode

    from feed.socket_writer import text_frame

    for n in (0, 1, 125, 126, 65535, 65536, 70000):
        data = b"x" * n
        assert text_frame(data) == Frame(Opcode.TEXT, data).serialize(mask=False)

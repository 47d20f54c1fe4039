"""Hostile WebSocket clients against a real service process (`python -m api`): big frames,
documents over the token limit, malformed messages, connections that never initialise, tokens
that expire while subscribed, and one caller holding many connections. Each is answered with the
protocol's close code and a reason; the process logs no traceback, keeps its memory and answers
/healthz throughout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.identity import mint_token, parse_actor
from api.settings import default_settings
from services.bootstrap import Services
from tests.support.api_client import authorization
from tests.support.processes import free_port, start_service, wait_for_line
from tests.support.served import serving

MAX_BYTES = 65536  # the service's default body limit, which WebSocket messages share
CONNECTIONS_PER_CALLER = 3
TRANSPORT, LEGACY = "graphql-transport-ws", "graphql-ws"
EVENTS = "subscription($shop: ID) { requestEvents(shopId: $shop) { __typename } }"


@dataclass
class Service:
    port: int
    pid: int
    log: list[str] = field(default_factory=list, repr=False)
    mark: int = 0  # where the current test's lines begin

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def tracebacks(self) -> list[str]:
        """What the process logged of a traceback since the current test began."""
        lines = self.log[self.mark :]
        return [line for line in lines if "Traceback" in line or "Exception in" in line]


@pytest.fixture(scope="module")
def service(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    port = free_port()
    proc = start_service(
        {
            "MONGODB_URI": mongodb_uri,
            "AFTERSALES_DATABASE": f"test_ws_{uuid.uuid4().hex[:8]}",
            "AFTERSALES_PORT": str(port),
            "AFTERSALES_DEMO_DATA": "false",
            "AFTERSALES_WORKER_ENABLED": "false",
            "AFTERSALES_WS_INIT_WAIT_SECONDS": "1",
            "AFTERSALES_WS_MAX_CONNECTIONS_PER_CALLER": str(CONNECTIONS_PER_CALLER),
        },
        tmp_path_factory.mktemp("hostile-ws"),
    )
    served = Service(port, proc.pid)
    try:
        served.log += wait_for_line(proc, "Uvicorn running", rest=served.log)
        yield served
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(autouse=True)
def _own_log_lines(request: pytest.FixtureRequest) -> None:
    if "service" in request.fixturenames:
        served: Service = request.getfixturevalue("service")
        served.mark = len(served.log)


async def _closed(conn: ClientConnection, timeout: float = 5) -> tuple[int | None, str]:
    """Read until the server closes: its close code and reason (None: no close frame came)."""
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await conn.recv()
    return (conn.close_code, conn.close_reason or "")


@contextlib.asynccontextmanager
async def _opened(
    service: Service, protocol: str, actor: str | None = "buyer:b-1", **init: Any
) -> AsyncIterator[ClientConnection]:
    async with connect(
        service.ws_url,
        subprotocols=[protocol],
        open_timeout=5,
        max_size=None,  # type: ignore[list-item]
    ) as conn:
        if actor is not None:
            payload = init.get("payload", authorization(actor))
            await conn.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await asyncio.wait_for(conn.recv(), 5))
            assert ack["type"] == "connection_ack", ack
        yield conn


async def _healthz_answers(service: Service, stop: asyncio.Event, missed: list[str]) -> None:
    """Ask /healthz every 50 ms until `stop`; each must answer within 1 s."""
    async with httpx.AsyncClient(timeout=1.0) as http:
        while not stop.is_set():
            try:
                response = await http.get(f"http://127.0.0.1:{service.port}/healthz")
                if response.status_code != 200:
                    missed.append(f"status {response.status_code}")
            except httpx.HTTPError as error:
                missed.append(type(error).__name__)
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _watching_health(service: Service) -> AsyncIterator[list[str]]:
    missed: list[str] = []
    stop = asyncio.Event()
    poller = asyncio.create_task(_healthz_answers(service, stop, missed))
    try:
        yield missed
    finally:
        stop.set()
        await poller


def _subscribe(protocol: str, query: str, op_id: str = "1") -> str:
    payload = {"query": query, "variables": {}}
    kind = "subscribe" if protocol == TRANSPORT else "start"
    return json.dumps({"id": op_id, "type": kind, "payload": payload})


# ---- sizes and tokens ------------------------------------------------------------------------


async def test_a_3_8_mb_subscribe_frame_is_refused_with_1009_and_the_process_keeps_its_memory(
    service: Service,
) -> None:
    big = "subscription { requestEvents { " + "a " * 1_900_000 + "} }"  # 3.8 MB, a buyer's
    before = service.rss_mib()
    async with _watching_health(service) as missed:
        for protocol in (TRANSPORT, LEGACY, TRANSPORT, LEGACY, TRANSPORT):
            async with _opened(service, protocol) as conn:
                with contextlib.suppress(ConnectionClosed):  # refused while it still sends
                    await conn.send(_subscribe(protocol, big))
                code, reason = await _closed(conn)
                assert code == 1009, (protocol, code, reason)
                assert "65536" in reason or "exceeds limit" in reason
    grown = service.rss_mib() - before
    assert grown < 50, f"the process grew by {grown:.0f} MiB"
    assert missed == [], "/healthz did not answer within 1 s while big frames came in"
    async with httpx.AsyncClient(timeout=1.0) as http:
        assert (await http.get(f"http://127.0.0.1:{service.port}/healthz")).status_code == 200
    assert service.tracebacks() == []


async def test_documents_over_the_token_limit_are_refused_unparsed_and_leave_no_memory_behind(
    service: Service,
) -> None:
    # Under the size limit (60 KB) but 30,000 tokens each, all different: the sharing check
    # parsed each whole and kept 512 such parses (~16 MB each).
    before = service.rss_mib()
    async with _watching_health(service) as missed:
        for n in range(24):
            protocol = (TRANSPORT, LEGACY)[n % 2]
            query = f"subscription S{n} {{ requestEvents {{ " + "a " * 29_990 + "} }"
            assert len(query.encode()) < MAX_BYTES
            async with _opened(service, protocol) as conn:
                await conn.send(_subscribe(protocol, query))
                if protocol == TRANSPORT:  # a syntax error: graphql-transport-ws closes with 4400
                    code, reason = await _closed(conn)
                    assert (code, "more than 4000 tokens" in reason) == (4400, True), reason
                else:
                    answer = json.loads(await asyncio.wait_for(conn.recv(), 5))
                    assert answer["type"] == "error", answer
                    assert "more than 4000 tokens" in answer["payload"]["message"]
    grown = service.rss_mib() - before
    assert grown < 50, f"the process grew by {grown:.0f} MiB"
    assert missed == []
    assert service.tracebacks() == []


async def test_many_distinct_documents_at_the_token_limit_keep_the_caches_within_their_bytes(
    service: Service,
) -> None:
    # 30 documents of 3,990 tokens (2.2 MB each once parsed, benchmarks/parse_memory.py):
    # held by entries alone (128), the parser and validation caches kept every one.
    before = service.rss_mib()
    headers = authorization("buyer:b-1")
    async with httpx.AsyncClient(timeout=10) as http:
        for n in range(30):
            # Distinct field names: validation stops at its 100th error without comparing them.
            query = f"query Q{n} {{ " + " ".join(f"f{i}" for i in range(3_985)) + " }"
            response = await http.post(
                f"http://127.0.0.1:{service.port}/graphql",
                json={"query": query},
                headers=headers,
            )
            [error] = response.json()["errors"][:1]
            assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    grown = service.rss_mib() - before
    assert grown < 50, f"the process grew by {grown:.0f} MiB"


async def test_a_message_over_the_body_limit_is_refused_by_the_app_under_a_server_allowing_more(
    services: Services,
) -> None:
    # tests/support/served.py serves with uvicorn's defaults (16 MiB frames): the app's own check holds.
    async with serving(services, default_settings(graphiql=False)) as url:
        for protocol in (TRANSPORT, LEGACY):
            async with connect(url, subprotocols=[protocol], open_timeout=5) as conn:  # type: ignore[list-item]
                init = {"type": "connection_init", "payload": authorization("buyer:b-1")}
                await conn.send(json.dumps(init))
                assert json.loads(await conn.recv())["type"] == "connection_ack"
                query = "subscription { requestEvents { " + "a " * 40_000 + "} }"  # 80 KB
                await conn.send(_subscribe(protocol, query))
                code, reason = await _closed(conn)
                assert (code, reason) == (1009, f"message too big: at most {MAX_BYTES} bytes")


# ---- connection_init -------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_connection_that_never_sends_connection_init_is_closed_with_4408(
    service: Service, protocol: str
) -> None:
    async with _opened(service, protocol, actor=None) as conn:
        code, reason = await _closed(conn, timeout=5)  # the service waits 1 s
    assert (code, reason) == (4408, "Connection initialisation timeout")
    assert service.tracebacks() == []


# ---- malformed messages ----------------------------------------------------------------------

_TRANSPORT_MALFORMED = [
    "not json",
    '"a string"',
    "[1, 2]",
    "null",
    "42",
    "{}",
    '{"type": 7}',
    '{"type": "nonsense"}',
    '{"type": "subscribe", "id": "1", "payload": "query { x }"}',
    '{"type": "subscribe", "id": "1", "payload": {"variables": {}}}',
    '{"type": "subscribe", "id": "1", "payload": {"query": 5}}',
    '{"type": "subscribe", "id": "1", "payload": {"query": "subscription { tabCounts { __typename } }", "variables": "x"}}',
    '{"type": "subscribe", "id": ["1"], "payload": {"query": "{ __typename }"}}',
    '{"type": "subscribe", "payload": {"query": "{ __typename }"}}',
    '{"type": "complete"}',
    '{"type": "complete", "id": {"a": 1}}',
    '{"type": "connection_init", "payload": "token"}',
]


@pytest.mark.parametrize("raw", _TRANSPORT_MALFORMED)
async def test_a_malformed_graphql_transport_ws_message_closes_with_4400_and_a_reason(
    service: Service, raw: str
) -> None:
    first_init = raw.startswith('{"type": "connection_init"')
    async with _opened(service, TRANSPORT, actor=None if first_init else "buyer:b-1") as conn:
        await conn.send(raw)
        code, reason = await _closed(conn)
    assert code == 4400 and reason, (raw, code, reason)
    assert service.tracebacks() == []


_LEGACY_CONNECTION_ERRORS = [
    "not json",
    '"a string"',
    "[1, 2]",
    "null",
    "{}",
    '{"type": 7}',
    '{"type": "nonsense"}',
    '{"type": "start", "payload": {"query": "{ __typename }"}}',
    '{"type": "start", "id": 3, "payload": {"query": "{ __typename }"}}',
    '{"type": "stop"}',
]
_LEGACY_OPERATION_ERRORS = [
    '{"type": "start", "id": "1", "payload": "query { x }"}',
    '{"type": "start", "id": "1", "payload": {}}',
    '{"type": "start", "id": "1", "payload": {"query": ["x"]}}',
    '{"type": "start", "id": "1", "payload": {"query": "{ __typename }", "variables": [1]}}',
    '{"type": "start", "id": "1", "payload": {"query": "{ __typename }", "operationName": 3}}',
]


@pytest.mark.parametrize("raw", _LEGACY_CONNECTION_ERRORS)
async def test_a_malformed_legacy_message_gets_connection_error_and_a_4400_close(
    service: Service, raw: str
) -> None:
    async with _opened(service, LEGACY) as conn:
        await conn.send(raw)
        answer = json.loads(await asyncio.wait_for(conn.recv(), 5))
        code, reason = await _closed(conn)
    assert answer["type"] == "connection_error" and answer["payload"]["message"], answer
    assert code == 4400 and reason == answer["payload"]["message"]
    assert service.tracebacks() == []


@pytest.mark.parametrize("raw", _LEGACY_OPERATION_ERRORS)
async def test_a_legacy_start_with_a_bad_payload_gets_an_error_for_its_id_and_the_connection_goes_on(
    service: Service, raw: str
) -> None:
    async with _opened(service, LEGACY) as conn:
        await conn.send(raw)
        answer = json.loads(await asyncio.wait_for(conn.recv(), 5))
        assert (answer["type"], answer["id"]) == ("error", "1"), answer
        assert answer["payload"]["message"]
        await conn.send(_subscribe(LEGACY, "query { __typename }", op_id="2"))
        then = json.loads(await asyncio.wait_for(conn.recv(), 5))
        assert then["id"] == "2", then  # answered: the connection went on
    assert service.tracebacks() == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_QUERIES = st.sampled_from(
    ["{ __typename }", EVENTS, "subscription { tabCounts { __typename } }", "{", "query { x }"]
)


def _messages(protocol: str) -> st.SearchStrategy[str]:
    types = (
        ["connection_init", "ping", "pong", "subscribe", "complete"]
        if protocol == TRANSPORT
        else ["connection_init", "connection_terminate", "start", "stop"]
    )
    payload = st.one_of(
        _JSON,
        st.fixed_dictionaries(
            {},
            optional={
                "query": _QUERIES | _JSON,
                "variables": _JSON,
                "operationName": st.none() | st.text(max_size=8) | _JSON,
                "extensions": _JSON,
            },
        ),
    )
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(types) | _JSON,
            "id": st.text(max_size=300) | _JSON,
            "payload": payload,
        },
    ).map(json.dumps)
    return shaped | _JSON.map(json.dumps) | st.text(max_size=50)


# What each protocol may answer a hostile message with: its error closes, its refusals
# (a second connection_init, a reused id; legacy: 1011 after connection_error, as Apollo's server
# refuses an identity), a client's own ending; never a cut socket.
_FAIR_CLOSES = {TRANSPORT: {4400, 4409, 4429}, LEGACY: {1000, 1011, 4400}}


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_messages_get_a_protocol_answer_and_never_a_traceback(
    service: Service, protocol: str, data: st.DataObject
) -> None:
    messages = data.draw(st.lists(_messages(protocol), min_size=1, max_size=3))
    async with _opened(service, protocol) as conn:
        try:
            for raw in messages:
                await conn.send(raw)
            # A probe the protocol answers, so the test knows the messages were handled.
            if protocol == TRANSPORT:
                await conn.send(json.dumps({"type": "ping"}))
                done = lambda m: m.get("type") == "pong"  # noqa: E731
            else:
                await conn.send(_subscribe(LEGACY, "{ __typename }", op_id="probe"))
                done = lambda m: m.get("id") == "probe" and m.get("type") in ("data", "error")  # noqa: E731
            async with asyncio.timeout(5):
                while not done(json.loads(await conn.recv())):
                    pass
        except ConnectionClosed:
            assert conn.close_code in _FAIR_CLOSES[protocol], (messages, conn.close_code)
            assert conn.close_reason or conn.close_code in (1000, 1011), messages
    assert service.tracebacks() == [], messages


# ---- tokens and callers ----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_subscription_is_closed_with_4403_and_a_reason_when_its_token_expires(
    service: Service, protocol: str
) -> None:
    actor = parse_actor("seller:agent-1@shop-expiring")
    assert actor is not None
    token = mint_token(actor, ttl=timedelta(seconds=2))
    payload = {"Authorization": f"Bearer {token}"}
    async with _opened(service, protocol, payload=payload) as conn:
        await conn.send(_subscribe(protocol, EVENTS))
        code, reason = await _closed(conn, timeout=10)
    assert (code, reason) == (4403, "token expired; reconnect with a fresh token")
    assert service.tracebacks() == []


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_caller_over_its_connection_limit_is_refused_at_connection_init_with_4429(
    service: Service, protocol: str
) -> None:
    caller = f"buyer:b-{uuid.uuid4().hex[:8]}"
    async with contextlib.AsyncExitStack() as held:
        for _ in range(CONNECTIONS_PER_CALLER):
            await held.enter_async_context(_opened(service, protocol, caller))
        # Another caller is not counted against this one.
        async with _opened(service, protocol, "buyer:someone-else"):
            pass
        async with connect(service.ws_url, subprotocols=[protocol]) as extra:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": authorization(caller)}
            await extra.send(json.dumps(init))
            code, reason = await _closed(extra)
        assert code == 4429, (code, reason)
        assert reason.startswith(f"too many connections: this caller has {CONNECTIONS_PER_CALLER}")
    # Their slots are free again once they are closed.
    async with _opened(service, protocol, caller):
        pass
    assert service.tracebacks() == []

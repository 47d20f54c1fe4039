"""Every GraphQL example in README.md and docs/*.md runs against the demo data, as a newcomer runs
it: a `./dev serve`-like service with the demo data, the headers it prints, block after block.

Examples are the fenced ```graphql blocks, found here by reading the files (a new one is run
without touching this test). Who runs a block: a `<!-- example: as ACTOR -->` comment above it,
or `# as ACTOR` lines inside it (the part below each runs as that actor; a part with no
operation of its own runs the one before again); else the shop-1 agent who may act. Ids the
reader must paste (`"afs_..."`) are the last of that kind an earlier mutation answered with, or
what the comment names (`can_... is a waiting cancellation in shop-1`, see FINDERS). Each
operation must answer without `errors`; where the block shows the answer (`# -> {...}`), the
answer must have its keys, `__typename`s and enum values, and write times the same way.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets
from graphql import OperationDefinitionNode, OperationType, parse, print_ast

from resolvers.feed.reading import encode_cursor
from tests.support.api_client import authorization
from tests.support.processes import ROOT, free_port, start_service, wait_for_line

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEFAULT_ACTOR = "seller:agent-1@shop-1+adjustments"
PLACEHOLDER = re.compile(r'"((?:afs|can|tkt|rfd)_)\.\.\."')
CURSOR_PLACEHOLDER = re.compile(r'"<cursor[^"]*>"')
ID = re.compile(r"^(afs|can|tkt)_[0-9a-f]+$|^rfd_(afs|can)_[0-9a-f]+$")

# What an example's comment may name for an id to paste: (who looks, query whose first id it is).
FINDERS = {
    "a waiting cancellation in shop-1": (
        "seller:agent-1@shop-1+adjustments",
        "{ cancellations(tab: TO_PROCEED, first: 1) { edges { node { id } } } }",
    ),
    "an open cancellation ticket in shop-1": (
        "seller:agent-1@shop-1+adjustments",
        "{ tickets(filter: {status: OPEN, kind: CANCELLATION}, first: 1) { edges { node { id } } } }",
    ),
    "a waiting after-sale request in shop-1": (
        "seller:agent-1@shop-1+adjustments",
        "{ afterSales(tab: TO_PROCEED, first: 1) { edges { node { id } } } }",
    ),
    "a pending refund in shop-1": (
        "seller:agent-1@shop-1+adjustments",
        "{ refunds(state: INSTRUCTED, first: 1) { id } }",
    ),
    "an open refund ticket in shop-2": (
        "seller:agent-1@shop-2+adjustments",
        "{ tickets(filter: {status: OPEN, kind: REFUND_ONLY}, first: 1) { edges { node { id } } } }",
    ),
}


@dataclass
class Part:
    actor: str
    text: str
    answer: str = ""  # the `# -> ...` lines, when the example shows one


@dataclass
class Example:
    where: str  # file:line of the fence
    parts: list[Part]
    finds: dict[str, str] = field(default_factory=dict)  # "can_" -> a FINDERS key

    def __str__(self) -> str:
        return self.where


def examples() -> list[Example]:
    found = []
    for path in DOCS:
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            if lines[i].strip() != "```graphql":
                i += 1
                continue
            start = i
            end = lines.index("```", i + 1)
            note = next((x for x in reversed(lines[:start]) if x.strip()), "")
            actor, finds = DEFAULT_ACTOR, {}
            if note.startswith("<!-- example:"):
                if m := re.search(r"example:\s*as (\S+?)[;\s]", note):
                    actor = m.group(1)
                for prefix, finder in re.findall(r"(\w+_)\.\.\. is (.+?)\s*(?:;|-->)", note):
                    finds[prefix] = finder
            where = f"{path.relative_to(ROOT)}:{start + 1}"
            found.append(Example(where, _parts(lines[start + 1 : end], actor), finds))
            i = end + 1
    return found


def _parts(lines: list[str], actor: str) -> list[Part]:
    parts = [Part(actor, "")]
    in_answer = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("# as "):
            parts.append(Part(stripped[5:].split()[0].rstrip(",:"), ""))
            in_answer = False
        elif stripped.startswith("# ->"):
            parts[-1].answer += stripped[4:] + "\n"
            in_answer = True
        elif in_answer and stripped.startswith("#"):
            parts[-1].answer += stripped[1:] + "\n"
        else:
            in_answer = False
            parts[-1].text += line + "\n"
    return [p for p in parts if p.text.strip() or p.answer or p is not parts[0]]


@dataclass
class Demo:
    url: str
    headers: dict[str, dict[str, str]]  # actor notation -> the header ./dev serve printed
    latest: dict[str, str] = field(default_factory=dict)  # "afs_" -> a mutation's last such id

    def header(self, actor: str) -> dict[str, str]:
        # Others as `./dev token --actor ... --header` makes them (same secret).
        return self.headers.get(actor) or authorization(actor)

    def post(self, actor: str, query: str) -> dict[str, Any]:
        call = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"content-type": "application/json", **self.header(actor)},
        )
        with urllib.request.urlopen(call, timeout=30) as answer:
            return json.load(answer)


@pytest.fixture(scope="module")
def demo(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    port = free_port()
    proc = start_service(
        {
            "MONGODB_URI": mongodb_uri,
            "AFTERSALES_DATABASE": f"docs_{uuid.uuid4().hex[:12]}",
            "AFTERSALES_PORT": str(port),
            # The demo data as loaded: the deadline worker would move it while examples run.
            "AFTERSALES_WORKER_ENABLED": "false",
        },
        tmp_path_factory.mktemp("docs"),
    )
    try:
        lines = wait_for_line(proc, "Uvicorn running", timeout=120)
        headers = {}
        for who, header in itertools.pairwise(lines):
            if m := re.search(r"\((\w+:[^)]+)\):$", who):
                headers[m.group(1)] = json.loads(header)
        assert len(headers) == 4, lines
        yield Demo(f"http://127.0.0.1:{port}", headers)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "id" and isinstance(inner, str) and ID.match(inner):
                yield inner
            yield from _ids(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _ids(inner)


def _keys_and_types(value: Any) -> tuple[set[str], set[str]]:
    keys, types = set(), set()
    if isinstance(value, dict):
        for key, inner in value.items():
            keys.add(key)
            if key == "__typename":
                types.add(inner)
            k, t = _keys_and_types(inner)
            keys, types = keys | k, types | t
    elif isinstance(value, list):
        for inner in value:
            k, t = _keys_and_types(inner)
            keys, types = keys | k, types | t
    return keys, types


def _fill(text: str, example: Example, demo: Demo) -> str:
    def paste(match: re.Match[str]) -> str:
        prefix = match.group(1)
        if prefix in example.finds:
            actor, query = FINDERS[example.finds[prefix]]
            answer = demo.post(actor, query)
            return json.dumps(next(_ids(answer["data"])))
        assert prefix in demo.latest, f"{example}: no earlier example answered with an {prefix} id"
        return json.dumps(demo.latest[prefix])

    text = PLACEHOLDER.sub(paste, text)
    return CURSOR_PLACEHOLDER.sub(json.dumps(encode_cursor("shop-1", 0)), text)


async def _subscribe(demo: Demo, actor: str, query: str, shop_1_ticket: str) -> dict[str, Any]:
    """The first message of the subscription; while none comes, agent-1 assigns one of shop-1's
    tickets, to agent-2 and back (each a change on the feed), as the docs' example did."""
    url = demo.url.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": demo.header(actor)}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        for attempt in range(20):
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1))
            except TimeoutError:
                agent = ("agent-2", "agent-1")[attempt % 2]
                ticket = json.dumps(shop_1_ticket)
                assign = f'mutation {{ assignTicket(input: {{ticketId: {ticket}, assignee: "{agent}"}}) {{ __typename }} }}'
                assert "errors" not in demo.post(DEFAULT_ACTOR, assign)
                continue
            assert message["type"] == "next", message
            return message["payload"]
    raise AssertionError(f"the subscription sent nothing: {query}")


def _check_answer(example: Example, part: Part, answers: list[dict[str, Any]]) -> None:
    if not part.answer:
        return
    keys, types = set(), set()
    for answer in answers:
        k, t = _keys_and_types(answer["data"])
        keys, types = keys | k, types | t
    shown_keys = set(re.findall(r'"(\w+)":', part.answer))
    shown_types = set(re.findall(r'"__typename": "(\w+)"', part.answer))
    assert shown_keys <= keys, f"{example}: the answer shown has {shown_keys - keys}: {answers}"
    assert shown_types <= types, f"{example}: the answer shown is a {shown_types}: {answers}"
    # Enum values shown are the ones answered (ids, amounts and times vary from run to run).
    shown_enums = set(re.findall(r'"(\w+)": "([A-Z][A-Z_]+)"', part.answer))
    enums = {pair for a in answers for pair in _enum_pairs(a)}
    assert shown_enums <= enums, f"{example}: shown {shown_enums - enums}, answered {answers}"
    # Times as the API writes them (digits aside), not as another client would.
    shown_times = {_shape(t) for t in TIME.findall(part.answer)}
    times = {_shape(t) for a in answers for t in TIME.findall(json.dumps(a))}
    assert shown_times <= times, f"{example}: times shown as {shown_times}, answered as {times}"


TIME = re.compile(r'"(\d{4}-\d\d-\d\dT[^"]*)"')


def _enum_pairs(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, str) and re.fullmatch(r"[A-Z][A-Z_]+", inner):
                yield key, inner
            yield from _enum_pairs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _enum_pairs(inner)


def _shape(time: str) -> str:
    return re.sub(r"\d", "0", time)


ALL = examples()


def test_the_docs_have_examples() -> None:
    assert len(ALL) >= 10  # the reader of this test: the search found the blocks


@pytest.mark.slow
@pytest.mark.parametrize("example", ALL, ids=str)
async def test_doc_example_runs_against_the_demo_data(example: Example, demo: Demo) -> None:
    previous = ""
    for part in example.parts:
        text = part.text if re.sub(r"#.*", "", part.text).strip() else previous
        previous = text
        answers = []
        for operation in parse(_fill(text, example, demo)).definitions:
            assert isinstance(operation, OperationDefinitionNode)
            query = print_ast(operation)
            if operation.operation == OperationType.SUBSCRIPTION:
                _, ticket_query = FINDERS["an open cancellation ticket in shop-1"]
                ticket = next(_ids(demo.post(DEFAULT_ACTOR, ticket_query)["data"]))
                answer = await _subscribe(demo, part.actor, query, ticket)
            else:
                answer = demo.post(part.actor, query)
            assert "errors" not in answer, f"{example} as {part.actor}: {answer}"
            if operation.operation == OperationType.MUTATION:  # a list read is no walk's step
                for found in _ids(answer["data"]):
                    demo.latest[found[:4]] = found
            answers.append(answer)
        _check_answer(example, part, answers)

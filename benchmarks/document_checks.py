"""What the document checks cost: the limits beside the ordinary parse and validation.

    ./dev run benchmarks.document_checks                 # 50 rounds
    ./dev run benchmarks.document_checks --rounds 200
    ./dev run benchmarks.document_checks --default-budget

For each document: its size, the paths through it (the cost its expansion would have), the median
time of graphql-core's parse plus validation with the schema's rules (the baseline every request
pays once per new document), and of the service's own limit checks (depth and aliases,
graphql_runtime/document_limits.py; cost, graphql_runtime/limits.py::query_cost), with their ratio.
The fragment bombs grow from 10^2 to 10^9 paths in a few hundred bytes: the checks follow the bytes,
not the paths. The last rows are the documents graphql-core's field-merging rule finds costliest
(every pair of same-named fields, every pair of side-by-side fragments); `--default-budget` also
times them with graphql-core's own budget for that rule (500,000: seconds each) instead of ours.
Everything alternates round by round in one process, so load on the machine falls on all alike.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping_fields
from graphql import DocumentNode, OperationDefinitionNode, parse, specified_rules, validate
from graphql.validation import OverlappingFieldsCanBeMergedRule

from graphql_runtime.document_limits import figure, fragments_of, operation_shapes
from graphql_runtime.limits import query_cost
from graphql_runtime.validation_cache import validate_document
from resolvers.schema import schema

MAX_TOKENS = 4000  # as the schema's token limit


def bomb(levels: int, fan: int = 10) -> str:
    """`levels` fragments, each spreading the next `fan` times: fan^(levels-1) paths."""
    fragments = []
    for i in range(levels):
        body = "__typename" if i == levels - 1 else " ".join(f"...f{i + 1}" for _ in range(fan))
        fragments.append(f"fragment f{i} on Query {{ {body} }}")
    return "query { ...f0 } " + " ".join(fragments)


def readme_query() -> str:
    """The README's first example: the To Proceed page with the tab counts."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    return re.findall(r"```graphql\n(.*?)```", readme, re.S)[0]


def documents() -> dict[str, str]:
    found = {"README To Proceed page": readme_query()}
    for levels in (3, 5, 7, 10):
        found[f"bomb 10^{levels - 1} paths"] = bomb(levels)
    found["one field x950"] = "{ " + " ".join("viewer { id }" for _ in range(950)) + " }"
    found["300 fragments side by side"] = (
        "{ "
        + " ".join(f"...f{i}" for i in range(300))
        + " } "
        + " ".join(f"fragment f{i} on Query {{ viewer {{ id }} }}" for i in range(300))
    )
    return found


def parse_and_validate(text: str) -> Callable[[], Any]:
    """graphql-core's parse and its specified rules, as the service runs them (with the
    service's budget for the field-merging rule), without the service's limit rule."""
    gql = schema._schema

    def run() -> Any:
        return validate_document(gql, parse(text, max_tokens=MAX_TOKENS), tuple(specified_rules))

    return run


def limit_checks(document: DocumentNode) -> Callable[[], Any]:
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def run() -> Any:
        operation_shapes(document)
        return query_cost(operation, fragments_of(document), {})

    return run


def _median_ms(run: Callable[[], Any], rounds: int, times: list[float]) -> None:
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--default-budget", action="store_true")
    args = parser.parse_args()

    docs = documents()
    parsed = {name: parse(text, max_tokens=MAX_TOKENS) for name, text in docs.items()}
    baseline = {name: parse_and_validate(text) for name, text in docs.items()}
    checks = {name: limit_checks(document) for name, document in parsed.items()}
    base_times: dict[str, list[float]] = {name: [] for name in docs}
    check_times: dict[str, list[float]] = {name: [] for name in docs}
    for name in docs:  # warm up once
        baseline[name]()
        checks[name]()
    for _ in range(args.rounds):  # alternate, so load falls on both alike
        for name in docs:
            _median_ms(baseline[name], 1, base_times[name])
            _median_ms(checks[name], 1, check_times[name])

    print(f"{args.rounds} rounds; medians in ms")
    print(
        f"{'document':28} {'bytes':>6} {'paths (cost)':>16} {'parse+validate':>15} "
        f"{'limit checks':>13} {'checks/baseline':>16}"
    )
    for name, text in docs.items():
        base = statistics.median(base_times[name])
        check = statistics.median(check_times[name])
        cost = checks[name]()
        print(
            f"{name:28} {len(text.encode()):6} {figure(cost):>16} {base:15.3f} "
            f"{check:13.3f} {check / base:16.3f}"
        )
    errors = {name: [e.message[:40] for e in baseline[name]()] for name in docs}
    print("validation errors:", {name: found for name, found in errors.items() if found})

    if args.default_budget:
        ours = overlapping_fields.MAX_COMPLEXITY_BUDGET
        print(
            f"\nthe field-merging rule alone, ms: with our budget ({ours:,}) and with "
            "graphql-core's (500,000)"
        )
        merging = [OverlappingFieldsCanBeMergedRule]
        for name in ("README To Proceed page", "one field x950", "300 fragments side by side"):
            row = []
            for budget in (ours, 500_000):
                overlapping_fields.MAX_COMPLEXITY_BUDGET = budget
                began = time.perf_counter()
                validate(schema._schema, parsed[name], merging)
                row.append((time.perf_counter() - began) * 1000)
            overlapping_fields.MAX_COMPLEXITY_BUDGET = ours
            print(f"{name:28} {row[0]:10.1f} {row[1]:10.1f}  ({row[1] / row[0]:.0f} times)")


if __name__ == "__main__":
    main()

"""What the check of the variables' strings (graphql_runtime/encodable_strings.py) adds to an
operation.

    ./dev run benchmarks.encodable_strings              # 30 rounds of 300 operations
    ./dev run benchmarks.encodable_strings --rounds 60

The service's schema executes `{ __typename }` (no database) with the variables of a tab page
(`shop`, `first`, `after`: undeclared, so graphql-core ignores them, but the check walks them),
against the same schema without the check and with an empty extension in its place (strawberry's
own cost of one more extension). The three alternate round by round in one process, so load on
the machine falls on all alike. Prints each median (us per operation) and the ratios to the
schema without the check; then the walk of those variables alone, and of a request's input.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from graphql_runtime.encodable_strings import EncodableVariables, all_encodable
from graphql_runtime.error_codes import AfterSalesSchema
from resolvers.schema import schema

TAB_VARIABLES = {"shop": "shop-1", "first": 50, "after": "WyJORVdFU1QiLCIyMDI2LTEyLTA2In0"}
REQUEST_INPUT = {
    "input": {
        "orderId": "ord_10039",
        "kind": "RETURN_AND_REFUND",
        "reason": "DEFECTIVE",
        "note": "La pompe ne marche pas, reçu hier",
        "lines": [{"lineId": f"ord_10039-{n}", "quantity": 1} for n in range(5)],
        "idempotencyKey": "walk-1",
    }
}


class _Empty(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield


def _variant(replacement: type[SchemaExtension] | None) -> AfterSalesSchema:
    other = copy.copy(schema)
    other.extensions = [
        replacement if e is EncodableVariables else e
        for e in schema.extensions
        if e is not EncodableVariables or replacement is not None
    ]
    return other


async def _per_operation(s: AfterSalesSchema, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await s.execute("{ __typename }", variable_values=TAB_VARIABLES)
    return (time.perf_counter() - start) / n * 1e6


async def main(rounds: int, per_round: int) -> None:
    schemas = {"with the check": schema, "without": _variant(None), "empty": _variant(_Empty)}
    times: dict[str, list[float]] = {name: [] for name in schemas}
    for s in schemas.values():  # warm the parser and validation caches
        await _per_operation(s, per_round)
    names = list(schemas)
    for r in range(rounds):
        for name in names[r % 3 :] + names[: r % 3]:
            times[name].append(await _per_operation(schemas[name], per_round))
    base = statistics.median(times["without"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:>15}: {median:7.1f} us/op  ratio {median / base:.3f}")
    for label, value in (("tab variables", TAB_VARIABLES), ("request input", REQUEST_INPUT)):
        start = time.perf_counter()
        for _ in range(100_000):
            all_encodable(value)
        print(f"walk of the {label}: {(time.perf_counter() - start) * 10:.2f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.per_round))

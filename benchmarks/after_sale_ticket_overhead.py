"""What the helpdesk costs a buyer's after-sale request (H1, H2), against the same request without.

    ./dev run benchmarks.after_sale_ticket_overhead --n 300

Seeds N delivered orders in each of two shops, then has each buyer ask for a refund of one line
through AfterSaleService.request, alternating one request of each side so both see the same
machine load. "With helpdesk": as the API runs it (the ticket opened in the request's transaction,
then the shop's rules run after commit; the shop has one rule that does not match). "Without": the
same service with the ticket seam replaced by a no-op and no rules pass (the state before after-sale
requests had tickets). Prints both totals and their ratio. --no-rules keeps the ticket and skips
the rules pass on the measured side, to split the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import services.after_sales as after_sale_module
from benchmarks.scratch import scratch_database
from models.actors import Actor, ActorKind
from models.after_sales_machine import AfterSaleKind
from models.clock import SettableClock
from models.commands import RequestAfterSale, chosen_lines
from models.money import Money
from models.orders import FulfilmentState
from models.ticket_rules import Condition, Rule, RuleAction, RuleActionKind
from models.tickets import RequestKind
from services.after_sales import AfterSaleService
from services.bootstrap import build_services
from storage import orders as order_store
from storage import ticket_rules
from tests.support.factories import build_order


async def _no_tickets(*args: Any, **kwargs: Any) -> list[Any]:
    return []


async def run(args: argparse.Namespace) -> None:
    async with scratch_database(args.mongodb_uri, "bench_afs_tickets") as db:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = SettableClock(start)
        services = await build_services(db, clock)
        bare = AfterSaleService(db, clock)  # the service alone: no rules pass
        # --no-rules: the ticket alone (the service's own handle runs no rules); what the rules
        # pass adds is the difference.
        with_desk = services.after_sales.handle if args.no_rules else services.requests.handle
        shops = {"with helpdesk": "bench-afs-desk", "without": "bench-afs-bare"}
        rule = Rule(
            "rul_bench",
            shops["with helpdesk"],
            "Approve tiny refunds",
            10,
            True,
            Condition(kinds=frozenset({RequestKind.REFUND_ONLY}), amount_below=Money(1, "USD")),
            RuleAction(RuleActionKind.APPROVE),
            "bench",
            start,
        )
        await db.transaction(lambda s: ticket_rules.insert(db, rule, s))
        orders = {
            name: [
                build_order(
                    shop, f"buyer-{i}", start - timedelta(days=2), state=FulfilmentState.DELIVERED
                )
                for i in range(args.n)
            ]
            for name, shop in shops.items()
        }
        for placed in orders.values():
            await order_store.insert_many(db, placed)
        spent = dict.fromkeys(shops, 0.0)
        wired = after_sale_module.on_requests_written
        for i in range(args.n):
            for name, handle in (("with helpdesk", with_desk), ("without", bare.handle)):
                order = orders[name][i]
                actor = Actor(ActorKind.BUYER, order.buyer_id)
                lines = {order.lines[0].line_id: 1}
                after_sale_module.on_requests_written = wired if name != "without" else _no_tickets
                t0 = time.perf_counter()
                await handle(
                    actor,
                    RequestAfterSale(
                        order.id, AfterSaleKind.REFUND_ONLY, chosen_lines(lines), "DAMAGED"
                    ),
                )
                spent[name] += time.perf_counter() - t0
        after_sale_module.on_requests_written = wired
        opened = await db.tickets.count_documents({"shop_id": shops["with helpdesk"]})
        assert opened == args.n, opened
        assert await db.tickets.count_documents({"shop_id": shops["without"]}) == 0
        print(f"requests: {args.n} per side, one at a time, {os.cpu_count()} cpus")
        for name, s in spent.items():
            print(f"refund requests {name:13}: {s:7.2f} s  ({args.n / s:6.0f} requests/s)")
        print(f"ratio with/without helpdesk: {spent['with helpdesk'] / spent['without']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument(
        "--no-rules", action="store_true", help="open tickets but skip the rules pass"
    )
    parser.add_argument("--mongodb-uri", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

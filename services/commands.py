"""`handle(actor, command, key)`: the one way into a use case, for every entry point.

Resolvers, helpdesk rules and desks, the deadline worker build a command (models/commands.py)
and hand it here; it goes to the service of its kind, which loads, asks the domain and writes in
one transaction, checking `key` (an idempotency key) against the command's fingerprint. A
command that opens requests then runs the shop's helpdesk rules on them (H2), right after its
transaction: a rule's decision is its own command, through this same path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from models.actors import Actor
from models.commands import AfterSaleCommand, CancellationCommand, Command, Opening
from services.after_sales import AfterSaleService
from services.cancellations import CancellationService
from services.ticket_sync import AfterCreate, run_rules_after_create

# What an entry point calls: the command's outcome (a request, or a batch's requests).
Handle = Callable[[Actor, Command, str | None], Awaitable[Any]]
# Takes a command before it is applied here: its outcome, or None to apply it as usual (a
# linked shop's decisions go to the marketplace: services/tiktok_decisions.py).
Gate = Callable[[Actor, Command, str | None], Awaitable[Any | None]]


class RequestCommands:
    """Cancellation and after-sale commands, each to its own service; `after_create` (the
    helpdesk's rules engine) on the requests an opening command created, if given; `gate`
    (a linked shop's decisions go to TikTok first) before any command, if given."""

    def __init__(
        self,
        cancellations: CancellationService,
        after_sales: AfterSaleService,
        after_create: AfterCreate | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.cancellations = cancellations
        self.after_sales = after_sales
        self.after_create = after_create
        self.gate = gate

    async def handle(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        if self.gate is not None:
            held = await self.gate(actor, command, key)
            if held is not None:
                return held
        return await self.apply(actor, command, key)

    async def apply(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        """The command applied here, past the gate: the marketplace's own moves come this way."""
        service: CancellationService | AfterSaleService
        if isinstance(command, CancellationCommand):
            service = self.cancellations
        elif isinstance(command, AfterSaleCommand):
            service = self.after_sales
        else:
            raise TypeError(f"not a request command: {command!r}")
        outcome = await service.handle(actor, command, key)  # type: ignore[arg-type]
        if not isinstance(command, Opening) or self.after_create is None:
            return outcome
        created = outcome if isinstance(outcome, list) else [outcome]
        decided = await run_rules_after_create(self.after_create, [r.id for r in created])
        if isinstance(outcome, list) or outcome.id not in decided:
            return outcome
        # A rule decided the new request: the caller sees its state after the decision.
        return await service.writes.store.get(service.db, outcome.id, None) or outcome

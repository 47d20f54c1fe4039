"""`handle(actor, command, key)`: the one way into a use case, for every entry point.

Resolvers, helpdesk rules and desks, the deadline worker build a command (models/commands.py)
and hand it here; it goes to the service of its kind, which loads, asks the domain and writes in
one transaction, checking `key` (an idempotency key) against the command's fingerprint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from models.actors import Actor
from models.commands import AfterSaleCommand, CancellationCommand, Command
from services.after_sales import AfterSaleService
from services.cancellations import CancellationService

# What an entry point calls: the command's outcome (a request, or a batch's requests).
Handle = Callable[[Actor, Command, str | None], Awaitable[Any]]
# Takes a command before it is applied here: its outcome, or None to apply it as usual (a
# linked shop's decisions go to the marketplace: services/tiktok_decisions.py).
Gate = Callable[[Actor, Command, str | None], Awaitable[Any | None]]


class RequestCommands:
    """Cancellation and after-sale commands, each to its own service."""

    def __init__(self, cancellations: CancellationService, after_sales: AfterSaleService) -> None:
        self.cancellations = cancellations
        self.after_sales = after_sales
        self.gate: Gate | None = None

    async def handle(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        if self.gate is not None:
            held = await self.gate(actor, command, key)
            if held is not None:
                return held
        return await self.apply(actor, command, key)

    async def apply(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        """The command applied here, past the gate: the marketplace's own moves come this way."""
        if isinstance(command, CancellationCommand):
            return await self.cancellations.handle(actor, command, key)
        if isinstance(command, AfterSaleCommand):
            return await self.after_sales.handle(actor, command, key)
        raise TypeError(f"not a request command: {command!r}")

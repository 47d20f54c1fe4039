"""`handle(actor, command, key)`: the one way into a use case, for every entry point.

Resolvers, helpdesk rules and desks, the deadline worker build a command (models/commands.py)
and hand it here; it goes to the service of its kind, which loads, asks the domain and writes in
one transaction, checking `key` (an idempotency key) against the command's fingerprint. A
command that opens requests then runs the shop's helpdesk rules on them (H2), right after its
transaction: a rule's decision is its own command, through this same path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from models.actors import Actor
from models.commands import AfterSaleCommand, CancellationCommand, Command, Opening
from services.after_sales import AfterSaleService
from services.cancellations import CancellationService
from services.ticket_sync import AfterCreate, run_rules_after_create

# What an entry point calls: the command's outcome (a request, or a batch's requests).
Handle = Callable[[Actor, Command, str | None], Awaitable[Any]]
Service = CancellationService | AfterSaleService
# A command applied by its service, and its outcome (a request, or a batch's requests).
Done = tuple[Service, Command, Any]
# Commands applied together, each with its actor and idempotency key.
Steps = list[tuple[Actor, Command, str | None]]
# Takes a command before it is applied here: its outcome, or None to apply it as usual (a
# linked shop's decisions go to the marketplace: services/tiktok_decisions.py).
Gate = Callable[[Actor, Command, str | None], Awaitable[Any | None]]


@dataclass
class RequestCommands:
    """Cancellation and after-sale commands, each to its own service; `after_create` (the
    helpdesk's rules engine) on the requests an opening command created, if given; `gate`
    (a linked shop's decisions go to TikTok first) before any command, if given."""

    cancellations: CancellationService
    after_sales: AfterSaleService
    after_create: AfterCreate | None = None
    gate: Gate | None = None

    async def handle(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        held = await self.gate(actor, command, key) if self.gate else None
        return held if held is not None else await self.apply(actor, command, key)

    async def apply(self, actor: Actor, command: Command, key: str | None = None) -> Any:
        """The command applied here, past the gate: the marketplace's own moves come this way."""
        return (await self._after_opening([await self._run(actor, command, key)]))[0]

    async def apply_together(
        self,
        shop_id: str,
        steps: Steps | Callable[[], Awaitable[Steps]],
        first: Callable[[], Awaitable[None]] | None = None,
    ) -> list[Any]:
        """Commands of one shop applied here in one transaction (storage/mongo.py `together`):
        all of them, or none when one raises; then the shop's rules on the requests they
        opened, in one pass. The marketplace's batches come this way. `first` runs in the
        transaction before them (the reads they will make, made at once: `read_ahead`).
        `steps` may be made in the transaction, after `first`, by each attempt (the commands
        on orders the same transaction places)."""

        async def each() -> list[Done]:
            if first is not None:
                await first()
            todo = await steps() if callable(steps) else steps
            return [await self._run(*step) for step in todo]

        return await self._after_opening(await self.cancellations.db.together(each, serial=shop_id))

    async def _run(self, actor: Actor, command: Command, key: str | None) -> Done:
        """The command applied by the service of its kind."""
        if isinstance(command, CancellationCommand):
            service: Service = self.cancellations
        elif isinstance(command, AfterSaleCommand):
            service = self.after_sales
        else:
            raise TypeError(f"not a request command: {command!r}")
        return service, command, await service.handle(actor, command, key)  # type: ignore[arg-type]

    async def _after_opening(self, done: list[Done]) -> list[Any]:
        """The shop's rules on what the opening commands among `done` created (H2); each
        command's outcome as its caller sees it."""
        opened = [o for _, command, o in done if isinstance(command, Opening)]
        created = [r.id for o in opened for r in (o if isinstance(o, list) else [o])]
        decided = await run_rules_after_create(self.after_create, created)
        seen = []
        for service, command, outcome in done:
            one = isinstance(command, Opening) and not isinstance(outcome, list)
            if one and outcome.id in decided:
                # A rule decided the new request: the caller sees its state after the decision.
                outcome = await service.kind.store.get(service.db, outcome.id, None) or outcome
            seen.append(outcome)
        return seen

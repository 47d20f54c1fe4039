"""How a mutation resolver hands its use case to the services: one command, one call.

A mutation that is a command is declared, not written: `CommandMutations(union, present)` makes
the mutations returning one result union, each from who may send it, its input type and how the
input becomes the command (`models/commands.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from models.actors import Actor
from models.commands import Command
from resolvers.context import Context, caller_who, services_of
from resolvers.errors import outcome
from resolvers.evidence.types import evidence_claim
from services.evidence import claiming

# Opened around the one service call, for the caller: the evidence a step names (E1).
Claim = Callable[[Actor], AbstractContextManager[None]]
Input = TypeVar("Input")


def with_evidence(info: Info[Context, Any], ids: Sequence[strawberry.ID] | None) -> Claim:
    """The files a step's mutation names, claimed for that step's write (services/evidence.py);
    their ids are read after the caller and the command's own fields."""

    def claim(actor: Actor) -> AbstractContextManager[None]:
        return claiming(actor, *evidence_claim(info, ids))

    return claim


def _no_claim(actor: Actor) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


async def handled(
    info: Info[Context, Any],
    may: Callable[[Actor], None],
    command: Callable[[], Command],
    key: str | None,
    present: Callable[[Any], Any],
    claim: Claim = _no_claim,
) -> Any:
    """Refuse a caller who may never make this call (`may`, models/access.py) before the input
    is read; build the command (the input's shape is checked there, so a bad id is a typed
    error); hand it to `Services.handle`, and present the outcome or map the typed error to the
    union."""

    async def call() -> Any:
        actor = caller_who(info, may)
        built = command()
        with claim(actor):
            return await services_of(info).handle(actor, built, key)

    return await outcome(call(), present)


class CommandMutations:
    """Makes the mutations that return one result union (resolvers/errors.py::result_union):
    each refuses a caller `may` refuses, builds its command from its input, hands it to
    `Services.handle` under the input's `idempotencyKey`, and `present`s what comes back. An
    input with `evidenceIds` (E1) claims them for the step's write."""

    def __init__(self, union: Any, present: Callable[[Any], Any]) -> None:
        self.union = union
        self.present = present

    def __call__(
        self,
        description: str,
        may: Callable[[Actor], None],
        input_type: type[Input],
        command: Callable[[Input], Command],
    ) -> Any:
        present = self.present

        async def resolve(self: Any, info: Info[Context, Any], input: Any) -> Any:
            claim = with_evidence(info, input.evidence_ids) if claims_evidence else _no_claim
            return await handled(
                info, may, lambda: command(input), input.idempotency_key, present, claim
            )

        claims_evidence = any(f.name == "evidence_ids" for f in dataclasses.fields(input_type))
        # Strawberry reads the argument and the result from the annotations.
        resolve.__annotations__ = {
            "info": Info[Context, Any],
            "input": input_type,
            "return": self.union,
        }
        return strawberry.mutation(resolve, description=description)

"""How a mutation resolver hands its use case to the services: one command, one call.

A mutation that is a command is declared, not written (`CommandMutations`): who may send it, and
how its input becomes the command (`models/commands.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, get_type_hints

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
    """Declares the mutations that return one result union (resolvers/errors.py::result_union).
    Each is a function from its input to its command, named as the mutation:

        @after_sale_step(access.require_a_buyer, "Buyer: take back a request.")
        def withdraw_after_sale(input: AfterSaleStepInput) -> Command:
            return WithdrawAfterSale(request_id_of(input.request_id))

    The mutation refuses a caller `may` refuses, builds the command, hands it to
    `Services.handle` under the input's `idempotencyKey` and `present`s what comes back. An input
    with `evidenceIds` (E1) claims them for the step's write."""

    def __init__(self, union: Any, present: Callable[[Any], Any]) -> None:
        self.union = union
        self.present = present

    def __call__(
        self, may: Callable[[Actor], None], description: str
    ) -> Callable[[Callable[[Any], Command]], Any]:
        def declare(command: Callable[[Any], Command]) -> Any:
            input_type = get_type_hints(command)["input"]
            claims_evidence = any(f.name == "evidence_ids" for f in dataclasses.fields(input_type))
            present = self.present

            async def resolve(info: Info[Context, Any], input: Any) -> Any:
                claim = with_evidence(info, input.evidence_ids) if claims_evidence else _no_claim
                return await handled(
                    info, may, lambda: command(input), input.idempotency_key, present, claim
                )

            # Strawberry reads the mutation's name, argument and result from the resolver.
            resolve.__name__ = command.__name__
            resolve.__annotations__ = {
                "info": Info[Context, Any],
                "input": input_type,
                "return": self.union,
            }
            return strawberry.mutation(resolve, description=description)

        return declare

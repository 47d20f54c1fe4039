"""How a mutation hands its use case to the services: one command (or one service call), the
caller checked first, the outcome mapped to the mutation's result union. A mutation is declared,
not written (`ResultMutations`): who may send it, and how its input becomes the command
(`models/commands.py`) or the one service call it makes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, get_type_hints

import strawberry
from strawberry.types import Info

from models.actors import Actor
from models.commands import Command
from resolvers.context import Context, caller_who, services_of
from resolvers.errors import outcome
from resolvers.evidence.types import evidence_claim
from services.bootstrap import Services
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


async def answered(
    info: Info[Context, Any],
    may: Callable[[Actor], None],
    call: Callable[[Actor], Awaitable[Any]],
    present: Callable[[Any], Any],
) -> Any:
    """Refuse a caller who may never make this call (`may`, models/access.py) before the input
    is read; make the call as that caller (the input's shape is checked there, so a bad id is a
    typed error), and present the outcome or map the typed error to the union."""

    async def run() -> Any:
        return await call(caller_who(info, may))

    return await outcome(run(), present)


async def handled(
    info: Info[Context, Any],
    may: Callable[[Actor], None],
    command: Callable[[], Command],
    key: str | None,
    present: Callable[[Any], Any],
    claim: Claim = _no_claim,
) -> Any:
    """`answered`, the call being the command built and handed to `Services.handle`, with the
    evidence it names claimed for its write."""

    async def call(actor: Actor) -> Any:
        built = command()
        with claim(actor):
            return await services_of(info).handle(actor, built, key)

    return await answered(info, may, call, present)


class ResultMutations:
    """Declares the mutations that return one result union (resolvers/errors.py::result_union),
    each a function named as the mutation, under who may send it and its description:

        after_sale = ResultMutations(AfterSaleResult, AfterSale.of)

        @after_sale.command(access.require_a_buyer, "Buyer: take back a request.")
        def withdraw_after_sale(input: AfterSaleStepInput) -> Command:
            return commands.WithdrawAfterSale(well_formed_id(input.request_id, "requestId"))

    A command's mutation hands it to `Services.handle` under the input's `idempotencyKey` (an
    input with `evidenceIds` claims them for the step's write, E1); a service call's mutation
    awaits the function with the services and the caller. Either `present`s what comes back."""

    def __init__(self, union: Any, present: Callable[[Any], Any]) -> None:
        self.union = union
        self.present = present

    def command(self, may: Callable[[Actor], None], description: str | None = None) -> Any:
        def declare(command: Callable[[Any], Command]) -> Any:
            input_type = get_type_hints(command)["input"]
            claims_evidence = any(f.name == "evidence_ids" for f in dataclasses.fields(input_type))

            async def resolve(info: Info[Context, Any], input: Any) -> Any:
                claim = with_evidence(info, input.evidence_ids) if claims_evidence else _no_claim
                key = input.idempotency_key
                return await handled(info, may, lambda: command(input), key, self.present, claim)

            return self._mutation(resolve, command, input_type, description)

        return declare

    def service_call(self, may: Callable[[Actor], None], description: str | None = None) -> Any:
        def declare(call: Callable[[Services, Actor, Any], Awaitable[Any]]) -> Any:
            input_type = get_type_hints(call)["input"]

            async def resolve(info: Info[Context, Any], input: Any) -> Any:
                services = services_of(info)
                return await answered(
                    info, may, lambda actor: call(services, actor, input), self.present
                )

            return self._mutation(resolve, call, input_type, description)

        return declare

    def _mutation(
        self, resolve: Callable[..., Any], declared: Any, input_type: type, description: str | None
    ) -> Any:
        # Strawberry reads the mutation's name, argument and result from the resolver.
        resolve.__name__ = declared.__name__
        resolve.__annotations__ = {
            "info": Info[Context, Any],
            "input": input_type,
            "return": self.union,
        }
        return strawberry.mutation(resolve, description=description)

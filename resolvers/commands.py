"""How a mutation resolver hands its use case to the services: one command, one call."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

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

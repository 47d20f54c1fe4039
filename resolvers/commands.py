"""How a mutation resolver hands its use case to the services: one command, one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.types import Info

from models.commands import Command
from resolvers.context import Context, actor_of, services_of
from resolvers.errors import outcome


async def handled(
    info: Info[Context, Any],
    command: Callable[[], Command],
    key: str | None,
    present: Callable[[Any], Any],
) -> Any:
    """Build the command (the input's shape is checked there, so a bad id is a typed error),
    hand it to `Services.handle`, and present the outcome or map the typed error to the union."""

    async def call() -> Any:
        return await services_of(info).handle(actor_of(info), command(), key)

    return await outcome(call(), present)

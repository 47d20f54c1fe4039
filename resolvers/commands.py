"""How a mutation hands its use case to the services: one command (or one service call), the
caller checked first, the outcome mapped to the mutation's result union. A mutation is declared,
not written (`ResultMutations`): who may send it, and how its input becomes the command
(`models/commands.py`) or the one service call it makes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from functools import cache, partial
from typing import Any, TypeVar, get_type_hints

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case, to_snake_case

from models import access
from models.actors import Actor, ActorKind
from models.commands import Command
from resolvers.context import Context, caller_who, services_of
from resolvers.errors import outcome, result_union
from resolvers.evidence.types import evidence_ids_of
from resolvers.inputs import IDEMPOTENCY_HELP, MoneyInput, money_of, well_formed_id
from resolvers.requests.steps import STEPS
from services.bootstrap import Services
from services.evidence import claiming

# A check of models/access.py on the caller alone: refuses one who may never make a call.
CallerCheck = Callable[[Actor], None]

# Who may send a command, by the kind of actor whose step it is (`Command.sender`, from which
# the services take its permit too): decided from the caller alone, before the input is read.
MAY_SEND: Mapping[ActorKind, CallerCheck] = {
    ActorKind.BUYER: access.require_a_buyer,
    ActorKind.SELLER_AGENT: access.require_an_acting_agent,
    ActorKind.PLATFORM: access.require_platform,
}

T = TypeVar("T")

# What a mutation does once its caller may: (services, caller, input) -> what it presents.
Call = Callable[[Services, Actor, Any], Awaitable[Any]]

# How a step's command is made from its input.
MakeCommand = Callable[[Any], Command]

# How each step's command is made, and the input it is made from (`takes`).
_INPUTS: dict[type[Command], tuple[MakeCommand, type]] = {}


def takes(
    *steps: type[Command], evidence: str | None = None, **read: Callable[[Any], Any]
) -> Callable[[type[T]], type[T]]:
    """Declares (under `@strawberry.input`) the input the mutations of `steps` take: its fields
    named as each command's (`value_of`, with `read`), unless it makes its command itself (a
    `command()` method); then the idempotency key every step takes and, where `evidence`
    describes them, the ids of the evidence it claims (E1)."""

    def declare(input_type: type[T]) -> type[T]:
        added = {"idempotency_key": (str | None, IDEMPOTENCY_HELP)}
        if evidence is not None:
            added["evidence_ids"] = (list[strawberry.ID] | None, evidence)
        for name, (value_type, description) in added.items():
            input_type.__annotations__[name] = value_type
            setattr(input_type, name, strawberry.field(default=None, description=description))
        for step in steps:
            build = getattr(input_type, "command", None) or partial(value_of, step, **read)
            _INPUTS[step] = (build, input_type)
        return input_type

    return declare


@cache
def _fields(value_type: type) -> dict[str, Any]:
    hints = get_type_hints(value_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(value_type)}


def value_of(value_type: Callable[..., T], input: Any, **read: Callable[[Any], Any]) -> T:
    """The value (a command, an approval's terms) an input makes whose fields are named as the
    value's, each read in the value's order: an id checked as well formed, money as exact minor
    units, a catalogue's enum as its code, `read[name]` where a field is read otherwise (lines),
    the rest as given."""
    given: dict[str, Any] = {}
    for name, hint in _fields(value_type).items():  # type: ignore[arg-type]
        value = getattr(input, name)
        if name in read:
            value = read[name](value)
        elif name.endswith("_id"):
            value = well_formed_id(value, to_camel_case(name))
        elif isinstance(value, MoneyInput):
            value = money_of(value, to_camel_case(name))
        elif isinstance(value, Enum) and hint is str:
            value = value.value
        given[name] = value
    return value_type(**given)


class ResultMutations:
    """Declares the mutations that return one result union (resolvers/errors.py::result_union),
    with their descriptions:

        cancellation = ResultMutations.of_type(Cancellation, NotPendingError, ...)
        CancellationMutations = cancellation.steps("CancellationMutations", CancellationCommand)

    `steps` declares the mutations of commands (resolvers/requests/steps.py), each taking the
    input that `takes` it, refused to a caller of another kind than its sender; `command`
    declares a function that makes the command from its input, under who may send it. A
    command is handed to `Services.handle` under the input's `idempotencyKey` (an input with
    `evidenceIds` claims them for the step's write, E1). A service call's mutation awaits the
    function with the services and the caller. Either `present`s what comes back, in a mutation
    named as the attribute (or the function) that declares it."""

    def __init__(self, union: Any, present: Callable[[Any], Any]) -> None:
        self.union = union
        self.present = present

    @classmethod
    def of_type(cls, api_type: Any, *errors: type) -> ResultMutations:
        """Mutations whose result is `api_type` (made by its `of`) or one of `errors`: one union
        named for it (`Cancellation`: `CancellationResult`)."""
        return cls(result_union(f"{api_type.__name__}Result", api_type, *errors), api_type.of)

    def steps(self, name: str, kind: type[Command]) -> type:
        """The root type `name` of the mutations of the steps that are `kind`'s, in the order of
        their table (`STEPS`, with their descriptions), each named as its command
        (`RejectCancellation`: `rejectCancellation`), taking the input that `takes` it and
        refused to a caller of another kind than the command's sender (`MAY_SEND`)."""
        fields = {
            to_snake_case(step.__name__): self._handled(MAY_SEND[step.sender], *_INPUTS[step], text)
            for step, text in STEPS.items()
            if issubclass(step, kind)
        }
        return strawberry.type(type(name, (), fields))

    def command(self, may: CallerCheck, description: str | None = None) -> Any:
        return lambda build: self._handled(may, build, get_type_hints(build)["input"], description)

    def service_call(self, may: CallerCheck, description: str | None = None) -> Any:
        return lambda call: self._mutation(may, call, get_type_hints(call)["input"], description)

    def _handled(
        self, may: CallerCheck, build: MakeCommand, input_type: type, description: str | None
    ) -> Any:
        claims_evidence = any(f.name == "evidence_ids" for f in dataclasses.fields(input_type))

        async def handle(services: Services, actor: Actor, input: Any) -> Any:
            command = build(input)
            claim: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
            if claims_evidence:  # its ids read after the caller and the command's own fields
                needing = services.evidence.config.reasons_needing_evidence
                claim = claiming(actor, evidence_ids_of(input.evidence_ids), needing)
            with claim:
                return await services.handle(actor, command, input.idempotency_key)

        return self._mutation(may, handle, input_type, description)

    def _mutation(
        self, may: CallerCheck, make: Call, input_type: type, description: str | None
    ) -> Any:
        """Refuse a caller who may never make this call (`may`, models/access.py) before the
        input is read; make the call as that caller (the input's shape is checked there, so a
        bad id is a typed error), and present the outcome or map the typed error to the union."""

        async def resolve(info: Info[Context, Any], input: Any) -> Any:
            async def run() -> Any:
                return await make(services_of(info), caller_who(info, may), input)

            return await outcome(run(), self.present)

        # Strawberry reads the mutation's argument and result from the resolver, and its name
        # from the attribute it is assigned to.
        resolve.__annotations__ |= {"input": input_type, "return": self.union}
        return strawberry.mutation(resolve, description=description)

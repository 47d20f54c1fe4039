"""A state machine as data: the one table type every kind of request declares its steps in.

A step names its action, the status it leaves (None: the step opens the request), the status it
reaches, the actor kinds allowed to make it, the rule it carries out and, in a table shared by
several kinds, the kinds it applies to. The domain moves a request only through a step of its
kind's table (models/request_kinds.py); the property tests check every timeline against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from models.actors import ActorKind
from models.errors import InvalidTransition

# Who may take a step, as a transition table names it.
BUYER = frozenset({ActorKind.BUYER})
SELLER = frozenset({ActorKind.SELLER_AGENT})
PLATFORM = frozenset({ActorKind.PLATFORM})

S = TypeVar("S", bound=Enum)
A = TypeVar("A", bound=Enum)


@dataclass(frozen=True)
class Transition(Generic[A, S]):
    action: A
    source: S | None  # None: the action creates the request
    target: S
    actors: frozenset[ActorKind]
    rule: str
    kinds: frozenset[Enum] = frozenset()  # empty: every kind the table serves


class TransitionTable(Generic[A, S]):
    """The steps of one state machine, looked up by action, source and target."""

    def __init__(self, steps: Iterable[Transition[A, S]]) -> None:
        self.steps = tuple(steps)
        self._edges = {(t.action, t.source, t.target): t for t in self.steps}
        if len(self._edges) != len(self.steps):
            raise ValueError("a step is declared twice")

    def __iter__(self) -> Iterator[Transition[A, S]]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def step(self, action: A, source: S | None, target: S) -> Transition[A, S] | None:
        return self._edges.get((action, source, target))

    def edges(self, action: A, source: S | None) -> list[Transition[A, S]]:
        return [t for t in self.steps if t.action is action and t.source is source]

    def only(self, action: A) -> Transition[A, S]:
        """The one step of an action that has a single step (every action of a cancellation)."""
        [step] = [t for t in self.steps if t.action is action]
        return step

    def sources_of(self, action: A) -> frozenset[S | None]:
        return frozenset(t.source for t in self.steps if t.action is action)

    def for_kind(self, kind: Enum) -> TransitionTable[A, S]:
        """The steps that apply to one kind of request."""
        return TransitionTable(t for t in self.steps if not t.kinds or kind in t.kinds)


def actors_of(steps: Iterable[Transition[A, S]]) -> frozenset[ActorKind]:
    return frozenset().union(*(t.actors for t in steps))


def require_actor(
    action: Enum,
    allowed: frozenset[ActorKind],
    actor: ActorKind,
    current_state: str,
    field: str | None = None,
) -> None:
    """Refuse an actor kind the step is not for, naming the kinds it is for."""
    if actor not in allowed:
        raise InvalidTransition(
            f"{action.value} is for {', '.join(sorted(k.value for k in allowed))}, "
            f"not {actor.value}",
            current_state=current_state,
            field=field,
        )

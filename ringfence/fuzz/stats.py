"""Counts of the stateful fuzz across a whole run, read by the CI test and ``ape run fuzz``."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar


class Stats:
    """Counts across a whole run (all examples). ``on_step``, when set, is called after every action."""

    steps: ClassVar[int] = 0
    actions: ClassVar[dict[str, int]] = {}  # attempts, by action
    succeeded: ClassVar[dict[str, int]] = {}  # the attempts that met no error
    errors: ClassVar[dict[str, int]] = {}
    examples: ClassVar[int] = 0
    notes: ClassVar[dict[str, int]] = {}  # what some actions did, not counted as actions
    on_step: ClassVar[Callable[[], None] | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.steps = 0
        cls.examples = 0
        cls.actions = {}
        cls.succeeded = {}
        cls.errors = {}
        cls.notes = {}

    @classmethod
    def count(cls, action: str, error: str | None = None) -> None:
        cls.steps += 1
        cls.actions[action] = cls.actions.get(action, 0) + 1
        if error:
            cls.errors[error] = cls.errors.get(error, 0) + 1
        else:
            cls.succeeded[action] = cls.succeeded.get(action, 0) + 1
        if cls.on_step is not None:
            cls.on_step()

    @classmethod
    def note(cls, what: str, n: int = 1) -> None:
        cls.notes[what] = cls.notes.get(what, 0) + n

"""Failing examples as regular tests: the falsifying steps hypothesis prints are parsed back into
``(rule, arguments)`` pairs, written as a pytest file under ``tests/stateful/regressions/``, and replayed
there against a fresh fuzz world exactly as hypothesis ran them (invariants after the start and after
every step). The machine's rules take plain values only and Anvil's block interval is fixed while the
machine runs, so a replay takes the same path as the run that found it."""

from __future__ import annotations

import ast
import hashlib
import re
import sys
import textwrap
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if sys.version_info < (3, 11):  # hypothesis' own dependency brings the backport
    from exceptiongroup import BaseExceptionGroup

Step = tuple[str, dict[str, Any]]

REGRESSIONS = Path(__file__).resolve().parents[2] / "tests" / "stateful" / "regressions"
_STEP = re.compile(r"^\s*state\.(\w+)\((.*)\)\s*$")


def replay(machine_class: type, steps: Iterable[Step]) -> Any:
    """Runs ``steps`` on a new machine like hypothesis does (invariants first, then after each step) and
    tears it down; returns the snapshot of the final state. Raises what the run raises."""
    machine = machine_class()
    try:
        machine.invariants_hold()
        for name, kwargs in steps:
            getattr(machine, name)(**kwargs)
            machine.invariants_hold()
        return machine.read()
    finally:
        machine.teardown()


def steps_from_text(text: str) -> list[Step]:
    """The steps of hypothesis' printed falsifying example (``state.rule(arg=value, ...)`` lines)."""
    steps: list[Step] = []
    for line in text.splitlines():
        match = _STEP.match(line)
        if not match or match.group(1) in {"teardown", "invariants_hold"}:
            continue
        call = ast.parse(line.strip(), mode="eval").body
        assert isinstance(call, ast.Call) and not call.args, f"not a keyword-only step: {line}"
        steps.append((match.group(1), {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}))
    return steps


def steps_from_exception(exc: BaseException) -> list[Step]:
    """The falsifying steps hypothesis attached to ``exc`` as notes (empty if there are none)."""
    return steps_from_text("\n".join(getattr(exc, "__notes__", [])))


def failures(exc: BaseException) -> list[BaseException]:
    """The distinct failures of a hypothesis run (it raises an ExceptionGroup when there are several)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in failures(inner)]
    return [exc]


def write_regression(steps: list[Step], error: BaseException | str, *, seed: int | None = None,
                     command: str = "", directory: Path = REGRESSIONS) -> Path:
    """Writes ``steps`` as a pytest file in ``directory`` (named after their hash, so the same example is
    saved once) and returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    init = directory / "__init__.py"
    if not init.exists():
        init.write_text("")
    body = "".join(f"    ({name!r}, {kwargs!r}),\n" for name, kwargs in steps)
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    path = directory / f"test_regression_{digest}.py"
    if path.exists():
        return path
    what = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    what = textwrap.indent(textwrap.shorten(" ".join(str(what).split()), 600), "    ")
    found = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    origin = f"`{command}`" if command else "the fuzzer"
    seed_text = f", seed {seed}" if seed is not None else ""
    path.write_text(f'''"""Regression saved by {origin}{seed_text}, {found}. The run failed with

{what}

The test replays the falsifying steps on a fresh fuzz world (Anvil only): it fails while the bug is
there and passes once it is fixed. Keep it as a regression test then."""

from ringfence.fuzz.replay import replay

STEPS = [
{body}]


def test_replay(machine, anvil_only):
    replay(machine, STEPS)
''')
    return path

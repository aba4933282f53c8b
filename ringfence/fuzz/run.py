"""Deep fuzz runs on demand (``ape run fuzz`` / ``make fuzz``): the same state machine as the CI test,
as many examples and steps as asked, on an Anvil of its own (ethereum:local:foundry; the ``anvil`` the
setup puts on PATH prunes old states), with a progress bar, a printed seed, and every failure saved as a
regression test under tests/stateful/regressions/."""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ringfence.fuzz.replay import (
    REGRESSIONS,
    Step,
    failures,
    steps_from_exception,
    write_regression,
)

NETWORK = "ethereum:local:foundry"


@dataclass
class RunResult:
    seed: int
    actions: int
    examples: int
    transactions: int
    seconds: float
    failures: list[tuple[BaseException, list[Step], Path | None]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures and not self.interrupted


def run(steps: int, examples: int, seed: int | None = None, *, save: bool = True,
        directory: Path = REGRESSIONS, shrink: bool = True, console: Any = None,
        network: str = NETWORK, guard: bool = True) -> RunResult:
    """Runs ``examples`` examples of ``steps`` steps with ``seed`` (random when None) on ``network``;
    with ``guard``, the MarginGuard's rules are drawn too (U1-U3)."""
    from ape import accounts, chain, networks, project
    from rich.console import Console

    from ringfence.fuzz.env import FuzzEnv
    from ringfence.fuzz.machine import Stats, build_machine

    if console is None:
        console = Console() if Console().is_terminal else Console(width=160)
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    command = f"ape run fuzz --steps {steps} --examples {examples} --seed {seed}{'' if guard else ' --no-guard'}"
    console.print(f"[bold]fuzz[/]: seed [bold cyan]{seed}[/], {examples} examples x {steps} steps "
                  f"= {examples * steps:,} actions on {network}")
    console.print(f"fuzz: replay this run with `{command}`")
    with networks.parse_network_choice(network):
        with _quiet_ape():
            env = FuzzEnv.deploy(accounts.test_accounts, project)
            machine = build_machine(env, chain, project, guard=guard)
        node = machine.world.node
        total = examples * steps
        Stats.reset()
        result = RunResult(seed, 0, 0, 0, 0.0)
        start = time.perf_counter()
        progress = _progress_bar(console)
        task = progress.add_task("fuzzing", total=total, rate=0.0, example=0, tx=0)
        Stats.on_step = _step_reporter(progress, task, console, node, total, start)
        try:
            with progress:
                _run_machine(machine, seed, steps, examples, shrink)
        except KeyboardInterrupt:
            result.interrupted = True
        except Exception as exc:  # noqa: BLE001 - every failure is reported and saved
            for failure in failures(exc):
                found = steps_from_exception(failure)
                path = write_regression(found, failure, seed=seed, command=command, directory=directory) \
                    if save and found else None
                result.failures.append((failure, found, path))
        finally:
            Stats.on_step = None
            result.seconds = time.perf_counter() - start
            result.actions, result.examples, result.transactions = Stats.steps, Stats.examples, node.transactions
            machine.world.close()
    _report(console, result, Stats)
    _tidy_anvil_tmp(console)
    return result


def _progress_bar(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("actions · {task.fields[rate]:>5.0f}/s · example {task.fields[example]} · "
                   "{task.fields[tx]:,} tx"),
        TimeElapsedColumn(), console=console, refresh_per_second=4,
    )


def _step_reporter(progress: Any, task: Any, console: Any, node: Any, total: int,
                   start: float) -> Callable[[], None]:
    """The machine's after-step hook: the progress bar at most four times a second, and a plain line
    every 30 s when the console is not a terminal (CI logs)."""
    from ringfence.fuzz.machine import Stats

    last = [0.0, 0.0]  # last refresh, last plain line

    def on_step() -> None:
        now = time.perf_counter()
        if now - last[0] < 0.25 and Stats.steps < total:
            return
        last[0] = now
        done = Stats.steps
        rate = done / max(now - start, 1e-9)
        description = "fuzzing" if done <= total else "[red]shrinking a failure"
        progress.update(task, completed=min(done, total), description=description,
                        rate=rate, example=Stats.examples, tx=node.transactions)
        if not console.is_terminal and now - last[1] >= 30:
            last[1] = now
            progress.console.print(f"fuzz: {done:,}/{total:,} actions, {rate:.0f}/s, example "
                                   f"{Stats.examples:,}, {node.transactions:,} tx, {now - start:.0f} s")

    return on_step


def _run_machine(machine: Any, seed: int, steps: int, examples: int, shrink: bool) -> None:
    """Hypothesis runs the state machine: ``examples`` examples of ``steps`` steps from ``seed``."""
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as use_seed
    from hypothesis.stateful import run_state_machine_as_test

    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    run_state_machine_as_test(use_seed(seed)(machine), settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
        phases=phases, suppress_health_check=list(HealthCheck), print_blob=False,
    ))


@contextmanager
def _quiet_ape() -> Iterator[None]:
    """Ape's INFO line per deployment transaction, hidden while the fuzz world is deployed."""
    from ape.logging import LogLevel, logger

    level = logger.level
    logger.set_level(LogLevel.WARNING)
    try:
        yield
    finally:
        logger.set_level(level)


def _report(console: Any, result: RunResult, stats: Any) -> None:
    rate = result.actions / max(result.seconds, 1e-9)
    console.print(f"fuzz: {result.actions:,} actions in {result.examples:,} examples, "
                  f"{result.transactions:,} transactions, {result.seconds:.1f} s ({rate:.0f} actions/s), "
                  f"seed {result.seed}")
    console.print(f"fuzz: actions {dict(sorted(stats.actions.items()))}")
    console.print(f"fuzz: succeeded {dict(sorted(stats.succeeded.items()))}")
    console.print(f"fuzz: expected errors met {dict(sorted(stats.errors.items()))}")
    if result.interrupted:
        console.print("[yellow]fuzz: interrupted[/]")
    if result.ok:
        if not result.interrupted:
            console.print("[bold green]fuzz: every invariant held[/]")
        return
    for failure, steps, path in result.failures:
        console.print(f"[bold red]fuzz: FAILED[/] {type(failure).__name__}: {failure}")
        console.print(f"  falsifying example: {len(steps)} steps")
        for name, kwargs in steps:
            console.print(f"    state.{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})")
        if path is not None:
            console.print(f"  saved as [bold]{path}[/] (replays as a regular test: "
                          f"ape test {path} --network ethereum:local:foundry)")


def _tidy_anvil_tmp(console: Any) -> None:
    """Warns when Anvil's state spill directory grows (it can fill a disk: see docs/toolchain.md)."""
    tmp = Path(os.path.expanduser("~/.foundry/anvil/tmp"))
    if not tmp.is_dir():
        return
    size = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
    if size > 1 << 30:
        free = shutil.disk_usage(tmp).free
        console.print(f"[yellow]fuzz: ~/.foundry/anvil/tmp holds {size / 2**30:.1f} GiB "
                      f"({free / 2**30:.0f} GiB free); it is Anvil's spill of old states[/]")

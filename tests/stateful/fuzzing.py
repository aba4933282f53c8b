"""The random run both fuzzing tests share: the bound machine under hypothesis with a seed, every failure
saved as a regression test, and the run's figures printed (actions, transactions, time, what was met)."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import run_state_machine_as_test

from ringfence.fuzz.machine import Stats
from ringfence.fuzz.replay import failures, steps_from_exception, write_regression

DATABASE = DirectoryBasedExampleDatabase(str(Path(__file__).parent / "examples"))


def run_machine(machine, run_seed: int, examples: int, steps: int, *, label: str, command: str) -> None:
    """Runs ``examples`` x ``steps`` of ``machine`` with ``run_seed``; a failure is saved (replayed by
    ``command``) and raised. ``Stats`` holds the run's counts afterwards; ``label`` prefixes its lines."""
    Stats.reset()
    node = machine.world.node
    sent = node.transactions
    start = time.perf_counter()
    try:
        run_state_machine_as_test(seed(run_seed)(machine), settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None, database=DATABASE,
            suppress_health_check=list(HealthCheck),
        ))
    except Exception as exc:
        for failure in failures(exc):
            found = steps_from_exception(failure)
            if found:
                path = write_regression(found, failure, seed=run_seed, command=command)
                print(f"{label}: failing example saved as {path}")
        raise
    finally:
        elapsed = time.perf_counter() - start
        print(f"{label}: {Stats.steps} actions in {Stats.examples} examples, {node.transactions - sent} "
              f"transactions, {elapsed:.1f} s ({Stats.steps / max(elapsed, 1e-9):.0f} actions/s)")
        print(f"{label}: actions {dict(sorted(Stats.actions.items()))}")
        print(f"{label}: succeeded {dict(sorted(Stats.succeeded.items()))}")
        print(f"{label}: expected errors met {dict(sorted(Stats.errors.items()))}")
        if Stats.notes:
            print(f"{label}: notes {dict(sorted(Stats.notes.items()))}")

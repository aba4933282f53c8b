"""`ape run fuzz`: a deep stateful fuzz run of the protocol's invariants on an Anvil of its own.

    ape run fuzz --steps 200 --examples 500 --seed 42     # make fuzz FUZZ_STEPS=200 FUZZ_EXAMPLES=500 FUZZ_SEED=42
    ape run fuzz --examples 50 --no-shrink                # quick look, no shrinking of a failure
    ape run fuzz --no-guard                               # the protocol's rules only (the CI test's machine)

Prints the seed first (the same seed replays the same run), shows progress (actions done / total,
actions per second), and saves every failure's falsifying steps as a pytest file under
tests/stateful/regressions/, which `ape test tests/stateful --network ethereum:local:foundry` replays.
"""

from __future__ import annotations

import click


@click.command(short_help="Deep stateful fuzzing of the invariants (Anvil)")
@click.option("--steps", default=200, show_default=True, help="Steps (actions) per example.")
@click.option("--examples", default=500, show_default=True, help="Examples (runs from the initial state).")
@click.option("--seed", type=int, default=None, help="Hypothesis seed (random and printed when omitted).")
@click.option("--shrink/--no-shrink", default=True, show_default=True, help="Shrink a failure to a minimal example.")
@click.option("--save/--no-save", default=True, show_default=True,
              help="Save failures as tests under tests/stateful/regressions/.")
@click.option("--guard/--no-guard", default=True, show_default=True,
              help="Draw the MarginGuard's rules too (policies, reserves, top-ups: G1-G3).")
def cli(steps: int, examples: int, seed: int | None, shrink: bool, save: bool, guard: bool) -> None:
    from ringfence.fuzz.run import run

    result = run(steps, examples, seed, save=save, shrink=shrink, guard=guard)
    if not result.ok:
        raise SystemExit(1)

"""``ape run simulate <scenario>``: run a scenario on the connected chain and write its report.

::

    ape run simulate flash-crash                                   # embedded py-evm chain
    ape run simulate calm --network ethereum:local:foundry         # an Anvil node
    MAINNET_RPC_URL=http://... ape run simulate fork.yaml --network ethereum:mainnet-fork:foundry
    ape run simulate flash-crash --seed 7 --traders 40 --positions 1-3 --blocks 300 --out /tmp/sim
    ape run simulate flash-crash --guard-compare                   # without and with MarginGuard policies

The scenario is a name in ``scenarios/`` (or ``tests/sim/``) or a path to a YAML file. The report
goes to ``reports/sim/<scenario>/`` unless ``--out`` says otherwise.

``--guard-fraction F`` has that share of the traders hold a MarginGuard policy on each vault (the
scenario's ``traders.guard`` gives the policy). ``--guard-compare`` runs the scenario twice with its
seed, without and with the policies (``--guard-fraction``, else the scenario's share, else a half), into
``<out>/without-guard/`` and ``<out>/with-guard/``, and writes ``<out>/guard-comparison.md`` (and
``.json``): liquidations, trader losses, keeper income and the collateral committed, side by side.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from ringfence.sim.scenario import ROOT, Scenario, ScenarioError, load_scenario

__all__ = ["cli", "compare_guard", "simulate"]


def simulate(scenario: Scenario, *, out: Path | None = None, console: Any = None,
             progress: bool = True) -> tuple[Any, dict[str, Path]]:
    """Runs ``scenario`` on the connected chain, writes the report, prints the comparison table."""
    from rich.console import Console
    from rich.table import Table

    from ringfence.sim.report import comparison_rows, write_report
    from ringfence.sim.runner import run_scenario

    console = console or Console()
    out = out or ROOT / "reports" / "sim" / scenario.name
    run = run_scenario(scenario, console=console, progress=progress)
    files = write_report(run, out)
    table = Table(title=f"{scenario.name}: isolated (on chain) vs cross margin (model)")
    table.add_column("figure")
    table.add_column("isolated (on chain)", justify="right")
    table.add_column("cross (model)", justify="right")
    for row in comparison_rows(run.figures, run.markets[0].spec.decimals):
        table.add_row(*row)
    console.print(table)
    loop_tx = int(run.timings["loop_transactions"])
    console.print(f"{run.transactions:,} transactions ({loop_tx:,} in the block loop: "
                  f"{loop_tx / max(run.timings['loop_seconds'], 1e-9):.1f} tx/s), "
                  f"{sum(len(m.rounds) for m in run.markets)} oracle rounds, "
                  f"total {run.timings['total_seconds']:.1f} s on {run.network}")
    failed = run.figures["isolated"]["positions_failed"]
    if failed.get("Unknown"):
        console.print(f"[yellow]warning: {failed['Unknown']} position(s) could not open and the pool gave no "
                      f"error (empty revert data): the build may be stale; run `ape compile -f`[/]")
    console.print(f"report: {files['report']}")
    console.print("plots:  " + ", ".join(str(p) for k, p in files.items() if k.endswith(".png")))
    return run, files


def compare_guard(scenario: Scenario, *, out: Path | None = None, console: Any = None,
                  progress: bool = True) -> tuple[Any, Any, Path]:
    """The scenario without, then with, its MarginGuard policies (same seed); the comparison's path."""
    from rich.console import Console
    from rich.table import Table

    from ringfence.sim.report import guard_rows, write_guard_comparison

    console = console or Console()
    out = out or ROOT / "reports" / "sim" / scenario.name
    without, _ = simulate(scenario.with_guard(enabled=False), out=out / "without-guard", console=console,
                          progress=progress)
    with_guard, _ = simulate(scenario.with_guard(enabled=True), out=out / "with-guard", console=console,
                             progress=progress)
    path = write_guard_comparison([(without, with_guard)], out)
    table = Table(title=f"{scenario.name}: without vs with MarginGuard policies (seed {scenario.seed})")
    for column in ("figure", "without the guard", "with the guard"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for row in guard_rows(without.figures, with_guard.figures, with_guard.markets[0].spec.decimals):
        table.add_row(*row)
    console.print(table)
    console.print(f"comparison: {path}")
    return without, with_guard, path


def _range(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    lo, _, hi = value.partition("-")
    try:
        a, b = int(lo), int(hi or lo)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected N or MIN-MAX") from None
    if not 1 <= a <= b:
        raise click.BadParameter(f"{value!r}: need 1 <= MIN <= MAX")
    return a, b


@click.command(cls=ConnectedProviderCommand, short_help="Agent-based market simulation, isolated vs cross")
@click.argument("scenario")
@click.option("--seed", type=int, default=None, help="Seed (default: the scenario's).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Report directory (default reports/sim/<scenario>/).")
@click.option("--traders", type=int, default=None, help="Number of traders (overrides the scenario).")
@click.option("--positions", default=None, help="Positions per trader, N or MIN-MAX (overrides).")
@click.option("--blocks", "n_blocks", type=int, default=None, help="Blocks to simulate (overrides).")
@click.option("--progress/--no-progress", default=True, show_default=True)
@click.option("--guard-fraction", type=click.FloatRange(0, 1), default=None,
              help="Share of the traders holding a MarginGuard policy (overrides traders.guard.fraction).")
@click.option("--guard-compare", is_flag=True,
              help="Run twice, without and with the policies (same seed), and write guard-comparison.md.")
@click.option("--own-anvil", is_flag=True,
              help="Run on an Anvil of its own without step tracing (big runs: make simulate-load).")
def cli(scenario: str, seed: int | None, out: Path | None, traders: int | None, positions: str | None,
        n_blocks: int | None, guard_fraction: float | None, guard_compare: bool, progress: bool,
        own_anvil: bool) -> None:
    try:
        sc = load_scenario(scenario).with_sizes(traders=traders, positions=_range(positions),
                                                 blocks_=n_blocks, seed=seed)
        fraction = Fraction(str(guard_fraction)) if guard_fraction is not None else None
        if guard_compare and fraction is None and sc.traders.guard_fraction == 0:
            fraction = Fraction(1, 2)
        if fraction is not None:  # else the scenario's own traders.guard (enabled or not) stands
            sc = sc.with_guard(fraction)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    if guard_compare:
        if own_anvil:
            from ringfence.sim.node import own_anvil as start

            with start():
                compare_guard(sc, out=out, progress=progress)
        else:
            compare_guard(sc, out=out, progress=progress)
        return
    if own_anvil:
        from ringfence.sim.node import own_anvil as start

        with start():
            simulate(sc, out=out, progress=progress)
    else:
        simulate(sc, out=out, progress=progress)

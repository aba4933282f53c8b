"""`ape run bench`: gas of Ringfence's user stories side by side with Morpho Blue 1.0.0, in one run on one
Anvil of its own; writes reports/gas.json and reports/BENCH.md and prints the table.

    ape run bench                      # everything (make bench)
    ape run bench --batch 10 --no-morpho   # partial runs write to reports/tmp/ (git-ignored)
    ape run bench --write-snapshot     # Ringfence only: rewrite tests/gas/snapshot.json (make gas-snapshot)
"""

from __future__ import annotations

import click


@click.command(short_help="Gas bench: Ringfence vs Morpho Blue 1.0.0")
@click.option("--batch", "batches", multiple=True, type=int, help="Batch liquidation sizes (default 10 50 100).")
@click.option("--no-morpho", is_flag=True, help="Measure Ringfence only.")
@click.option("--no-trace", is_flag=True, help="Skip the debug_traceTransaction breakdown.")
@click.option("--write-snapshot", is_flag=True, help="Rewrite tests/gas/snapshot.json (Ringfence only).")
def cli(batches: tuple[int, ...], no_morpho: bool, no_trace: bool, write_snapshot: bool) -> None:
    from rich.console import Console

    from ringfence.bench.ringfence_side import BATCH_SIZES

    console = Console() if Console().is_terminal else Console(width=160)
    sizes = tuple(batches) or BATCH_SIZES
    if write_snapshot:
        from ringfence.bench import snapshot
        from ringfence.bench.run import run_ringfence_only

        gas, meta = run_ringfence_only(sizes)
        path = snapshot.write(gas, meta)
        console.print(f"wrote {path} ({len(gas)} operations)")
        for op, g in gas.items():
            console.print(f"  {op:<24} {g:>12,}")
        return
    from ringfence.bench.report import REPORTS
    from ringfence.bench.run import run_bench

    # Only the complete run writes reports/; partial runs write to reports/tmp/ (git-ignored).
    complete = not no_morpho and sizes == BATCH_SIZES
    run_bench(sizes, with_morpho=not no_morpho, trace=not no_trace, console=console,
              out_dir=REPORTS if complete else REPORTS / "tmp")

"""python -m tools.mutate run  [--contracts A,B] [-j N] [--sample N] [--seed S] [--deep] [--out DIR]
   python -m tools.mutate list [--contracts A,B]     the mutants, one per line (id, key, change)
   python -m tools.mutate map                         regenerate tools/mutate/test_map.json

Exit status of `run`: 0 when no mutant survived (or errored), 1 otherwise."""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import time
from pathlib import Path

from tools.mutate import report, test_map
from tools.mutate.operators import OPERATORS, generate
from tools.mutate.runner import ERROR, SURVIVED, TIMEOUT, Runner, load_equivalents, sample
from tools.mutate.workspace import ROOT

DEFAULT_CONTRACTS = ["MarginMath", "MarginPool", "Liquidator", "ChainlinkOracle", "PositionVault", "PoolFactory",
                     "Lens", "InsuranceFund", "MarginGuard"]


def default_seed() -> str:
    return os.environ.get("MUTATE_SEED") or datetime.date.today().isoformat()


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.mutate")
    p.add_argument("command", choices=["run", "list", "map"])
    p.add_argument("--contracts", default=os.environ.get("CONTRACTS", ""), help="comma-separated names")
    p.add_argument("--ids", default="", help="comma-separated mutant ids or keys (re-run these only)")
    p.add_argument("--operators", default="", help=f"comma-separated subset of {', '.join(OPERATORS)}")
    p.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", "2")))
    p.add_argument("--sample", type=int, default=int(os.environ.get("MUTATE_SAMPLE") or 0))
    p.add_argument("--seed", default=default_seed())
    p.add_argument("--deep", action="store_true", help="survivors of the cheap suites meet stateful/keeper/sim")
    p.add_argument("--timeout", type=float, default=float(os.environ.get("MUTATE_TIMEOUT") or 900), help="seconds per test run of one mutant")
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation")
    return p.parse_args(argv)


def selected(args: argparse.Namespace):
    contracts = [c for c in args.contracts.replace(" ", ",").split(",") if c] or DEFAULT_CONTRACTS
    ops = set(o for o in args.operators.split(",") if o)
    ids = set(i.strip() for i in args.ids.split(",") if i.strip())
    mutants = [m for m in generate(ROOT, contracts) if not ops or m.operator in ops]
    return contracts, [m for m in mutants if not ids or m.id in ids or m.key in ids]


def run(args: argparse.Namespace) -> int:
    contracts, mutants = selected(args)
    if args.sample:
        mutants = sample(mutants, load_equivalents(), args.seed)
        print(f"mutate: sample of {args.sample} (seed {args.seed})", flush=True)
    print(f"mutate: {len(mutants)} candidate mutants, -j {args.jobs}", flush=True)
    t0 = time.monotonic()

    def meta(partial: bool) -> dict:
        return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "seconds": round(time.monotonic() - t0, 1), "jobs": args.jobs, "contracts": contracts,
                "sample": args.sample, "seed": args.seed, "deep": args.deep, "partial": partial,
                "candidates": len(mutants)}

    runner = Runner(args.jobs, args.deep, args.timeout, log=lambda s: print(s, flush=True),
                    on_outcome=lambda done: report.write(done, meta(True), args.out))
    try:
        runner.prepare()
        outcomes = runner.run(mutants, want=args.sample or None)
    finally:
        runner.close()
    md, _ = report.write(outcomes, meta(False), args.out)
    meta = meta(False)
    overall = report.scores(outcomes).get("overall", {})
    print(f"mutate: score {overall.get('score')} % ({meta['seconds'] / 60:.1f} min) -> {md}")
    return 1 if any(o.status in (SURVIVED, ERROR, TIMEOUT) for o in outcomes) else 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the workspaces are removed
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "map":
        print(test_map.write(ROOT))
        return 0
    if args.command == "list":
        for m in selected(args)[1]:
            print(f"{m.id}\t{m.key}\t{m.diff.splitlines()[0][2:]}  ->  {m.diff.splitlines()[1][2:]}")
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

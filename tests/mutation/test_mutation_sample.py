"""A seeded sample of deliberate contract bugs, every one of which the tests must catch.

The mutants are generated from the contracts as they are now (not a fixed list of lines), the sample
skips the equivalents (tools/mutate/equivalent.txt) and counts only mutants that compile. The seed is
`MUTATE_SEED`, else today's date (UTC): it rotates daily and is printed, so a failure can be replayed with
`make mutate MUTATE_SEED=<seed> MUTATE_SAMPLE=<n>`. Runs once per `make test`, in the py-evm pass.
`RINGFENCE_MUTATION_SAMPLE=0` skips it; `RINGFENCE_MUTATION_SAMPLE=<n>` sets the sample size (default 4;
each mutant takes minutes, mostly the via-IR recompile).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTING = os.environ.get("RINGFENCE_MUTATION_SAMPLE", "4")
SIZE = int(SETTING) if SETTING.isdigit() else 4
OUT = ROOT / "reports" / "mutation" / "sample"


@pytest.mark.skipif(SIZE == 0, reason="RINGFENCE_MUTATION_SAMPLE=0")
def test_sampled_mutants_are_killed(chain):
    if chain.provider.name != "test":
        pytest.skip("the mutation sample runs once, in the embedded-chain (py-evm) pass")
    seed = os.environ.get("MUTATE_SEED") or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    print(f"\nmutation sample: {SIZE} mutants, seed {seed}")
    env = {**os.environ, "MUTATE_SEED": seed}
    env.pop("CONTRACTS", None)
    cmd = [sys.executable, "-m", "tools.mutate", "run", "--sample", str(SIZE), "--seed", seed,
           "-j", os.environ.get("MUTATE_JOBS", "2"), "--timeout", "900", "--out", str(OUT)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    print(proc.stdout[-3000:])
    assert (OUT / "report.json").exists(), f"the runner failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    report = json.loads((OUT / "report.json").read_text())
    ran = [m for m in report["mutants"] if m["status"] not in ("NO-COMPILE", "EQUIVALENT")]
    missed = [m for m in ran if m["status"] != "KILLED"]
    assert len(ran) == SIZE, f"only {len(ran)} of {SIZE} sampled mutants compiled and ran (seed {seed})"
    assert not missed, f"seed {seed}: mutants not killed (blind spots):\n" + "\n".join(
        f"  {m['id']} {m['status']} {m['detail']}\n    {m['diff']}".replace("\n+", "\n    +") for m in missed
    )

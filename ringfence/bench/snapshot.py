"""The Ringfence gas snapshot (``tests/gas/snapshot.json``): written on purpose by ``make gas-snapshot``,
checked by ``tests/gas/test_gas_snapshot.py``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ringfence.bench.artifacts import ROOT

SNAPSHOT = ROOT / "tests" / "gas" / "snapshot.json"

# gasUsed depends a little on values that move with block timestamps (fee accrual feeds the maths and
# the liquidation prices): an operation may cost this much more than its snapshot before it fails.
TOLERANCE_GAS = 50


@dataclass(frozen=True)
class Regression:
    op: str
    snapshot: int
    measured: int

    def __str__(self) -> str:
        d = self.measured - self.snapshot
        return f"{self.op}: {self.measured:,} gas > snapshot {self.snapshot:,} (+{d:,}, +{d / self.snapshot:.2%})"


def load(path: Path = SNAPSHOT) -> dict[str, int]:
    data = json.loads(path.read_text())
    return {k: int(v) for k, v in data["ringfence"].items()}


def write(gas: dict[str, int], meta: dict[str, Any], path: Path = SNAPSHOT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "_comment": "Ringfence gasUsed per operation. Rewrite deliberately with `make gas-snapshot`; "
                    "tests/gas/test_gas_snapshot.py fails when an operation costs more.",
        "meta": meta,
        "ringfence": gas,
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def compare(measured: dict[str, int], snapshot: dict[str, int],
            tolerance: int = TOLERANCE_GAS) -> tuple[list[Regression], list[str]]:
    """Regressions (an op above its snapshot by more than `tolerance`), and notes on improvements
    and on ops missing from either side."""
    regressions, notes = [], []
    for op, before in snapshot.items():
        if op not in measured:
            notes.append(f"{op}: in the snapshot, not measured here")
            continue
        now = measured[op]
        if now > before + tolerance:
            regressions.append(Regression(op, before, now))
        elif now < before - tolerance:
            notes.append(f"{op}: {now:,} < snapshot {before:,} (-{before - now:,}): run `make gas-snapshot`")
    notes += [f"{op}: measured ({measured[op]:,}), not in the snapshot" for op in measured if op not in snapshot]
    return regressions, notes

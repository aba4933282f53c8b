"""reports/mutation/report.md and report.json: every mutant with its status, the score per contract."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from tools.mutate.runner import EQUIVALENT, KILLED, NO_COMPILE, SURVIVED, Outcome


def scores(outcomes: list[Outcome]) -> dict[str, dict[str, float | int]]:
    """Per contract and overall: killed / (killed + survived); equivalents and non-compiling left out."""
    table: dict[str, dict[str, float | int]] = defaultdict(lambda: defaultdict(int))
    for o in outcomes:
        for name in (o.mutant.contract, "overall"):
            table[name][o.status] += 1
            table[name]["total"] += 1
    for row in table.values():
        judged = row[KILLED] + row[SURVIVED]
        row["score"] = round(100.0 * row[KILLED] / judged, 1) if judged else 100.0
    return {k: dict(v) for k, v in sorted(table.items(), key=lambda kv: (kv[0] == "overall", kv[0]))}


def to_json(outcomes: list[Outcome], meta: dict) -> dict:
    return {
        "meta": meta,
        "scores": scores(outcomes),
        "mutants": [
            {
                "id": o.mutant.id, "key": o.mutant.key, "file": o.mutant.path, "line": o.mutant.start,
                "function": o.mutant.function, "operator": o.mutant.operator, "diff": o.mutant.diff,
                "status": o.status, "killed_by": o.killed_by, "detail": o.detail, "tests": o.tests,
                "seconds": round(o.seconds, 1), "compile_seconds": round(o.compile_seconds, 1),
            }
            for o in outcomes
        ],
    }


def _status(o: Outcome) -> str:
    if o.status == KILLED:
        return f"KILLED by `{o.killed_by}`"
    if o.status in (EQUIVALENT, NO_COMPILE) and o.detail:
        return f"{o.status} ({o.detail})"
    return o.status if not o.detail else f"{o.status}: {o.detail}"


def to_markdown(outcomes: list[Outcome], meta: dict) -> str:
    s = scores(outcomes)
    out = ["# Mutation report", "", f"{meta.get('date', '')}, {meta.get('seconds', 0) / 60:.1f} min wall time, "
           f"-j {meta.get('jobs')}, contracts: {', '.join(meta.get('contracts') or ['all'])}"
           + (f", sample {meta['sample']} (seed {meta['seed']})" if meta.get("sample") else "") + "."
           + (f" PARTIAL: {len(outcomes)} of {meta.get('candidates')} candidates done." if meta.get("partial") else ""), "",
           "Score = killed / (killed + survived); equivalent and non-compiling mutants are not counted.", "",
           "| contract | mutants | killed | survived | no-compile | equivalent | error | timeout | score |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in s.items():
        out.append(f"| {name} | {row['total']} | {row.get(KILLED, 0)} | {row.get(SURVIVED, 0)} | "
                   f"{row.get(NO_COMPILE, 0)} | {row.get(EQUIVALENT, 0)} | {row.get('ERROR', 0)} | {row.get('TIMEOUT', 0)} | {row['score']} % |")
    survivors = [o for o in outcomes if o.status == SURVIVED]
    out += ["", f"## Survivors ({len(survivors)})", ""]
    out += [f"- `{o.mutant.id}` in `{o.mutant.function}`: `{o.mutant.diff.splitlines()[1][2:]}`" for o in survivors]
    out += ["", "## Every mutant", "", "| id | change | status |", "| --- | --- | --- |"]
    for o in outcomes:
        old, new = (x[2:].replace("|", "\\|") for x in o.mutant.diff.splitlines())
        out.append(f"| `{o.mutant.id}` | `{old}` → `{new}` | {_status(o).replace('|', '/')} |")
    return "\n".join(out) + "\n"


def write(outcomes: list[Outcome], meta: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "report.json", out_dir / "report.md"
    js.write_text(json.dumps(to_json(outcomes, meta), indent=1) + "\n")
    md.write_text(to_markdown(outcomes, meta))
    return md, js

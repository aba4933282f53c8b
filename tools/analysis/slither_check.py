"""Slither on Ringfence's contracts, checked against the committed triage (standard library only).

Runs in slither's own venv (see tools/analysis/slither.sh and `make slither`):

    python tools/analysis/slither_check.py            run slither, fail on an untriaged High/Medium
    python tools/analysis/slither_check.py --update   also add new High/Medium findings to the triage
                                                      (disposition "todo": still fails until a human
                                                      writes the reason) and drop stale entries, then
                                                      regenerate docs/slither-triage.md
    python tools/analysis/slither_check.py --from-json FILE   check a saved `slither --json` output

A finding is keyed by detector + contract + function (or state variable; + local variable for
uninitialized-local), never by line numbers or slither's hash ids, so the triage survives edits
that move code around. Every finding with the same key is covered by the one entry.

Exit codes: 0 clean, 1 untriaged or "todo" High/Medium findings, 3 slither itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solc_input import ROOT, ape_solidity_settings, compiler_path, protocol_sources, standard_input  # noqa: E402

TRIAGE = ROOT / "slither.triage.json"
TRIAGE_MD = ROOT / "docs" / "slither-triage.md"
REPORT = ROOT / "reports" / "tmp" / "slither.json"
GATED = ("High", "Medium")
# Paths whose findings are not ours: the libraries and the test doubles.
FILTER_PATHS = "node_modules|contracts/test/|contracts/.cache/"
DISPOSITIONS = ("false-positive", "accepted", "fixed", "todo")


def _parent(el: dict) -> dict:
    return el.get("type_specific_fields", {}).get("parent", {}) or {}


def finding_key(result: dict) -> str:
    """detector:Contract.member[.local] from the finding's first element."""
    check = result["check"]
    el = (result.get("elements") or [{}])[0]
    name = el.get("name", "?")
    parent = _parent(el)
    if el.get("type") == "function":
        return f"{check}:{parent.get('name', '?')}.{name}"
    if el.get("type") == "variable":
        if parent.get("type") == "function":
            contract = _parent(parent).get("name", "?")
            return f"{check}:{contract}.{parent.get('name', '?')}.{name}"
        return f"{check}:{parent.get('name', '?')}.{name}"
    if el.get("type") == "node":
        fn = parent
        return f"{check}:{_parent(fn).get('name', '?')}.{fn.get('name', '?')}"
    if el.get("type") == "contract":
        return f"{check}:{name}"
    return f"{check}:{parent.get('name', '?')}.{name}"


def run_slither(slither_bin: str, out_json: Path) -> dict:
    """Slither over contracts/ (not contracts/test) through the solc shim, with Ape's settings
    (via-IR, optimizer, evm version, remappings) in one standard-JSON compilation."""
    solc = compiler_path()
    if not solc.exists():
        raise SystemExit(f"slither: no compiler at {solc} (run `make install` first)")
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "ringfence-standard-input.json"
        inp.write_text(json.dumps(standard_input(protocol_sources(), outputs=["abi", "evm.bytecode", "evm.deployedBytecode"])))
        cmd = [
            slither_bin, str(inp), "--compile-force-framework", "solc-json", "--solc", str(solc),
            "--filter-paths", FILTER_PATHS, "--json", str(out_json), "--disable-color",
        ]
        if out_json.exists():
            out_json.unlink()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if not out_json.exists():
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(3)
    data = json.loads(out_json.read_text())
    if not data.get("success"):
        sys.stderr.write(f"slither failed: {data.get('error')}\n{proc.stderr[-4000:]}")
        raise SystemExit(3)
    return data


def summarize(data: dict) -> tuple[list[dict], dict[str, int]]:
    results = data.get("results", {}).get("detectors", [])
    counts: dict[str, int] = {}
    for r in results:
        counts[r["impact"]] = counts.get(r["impact"], 0) + 1
    gated = []
    for r in results:
        if r["impact"] in GATED:
            gated.append(
                {
                    "key": finding_key(r),
                    "check": r["check"],
                    "impact": r["impact"],
                    "confidence": r["confidence"],
                    "description": r["description"].strip(),
                }
            )
    return gated, counts


def load_triage() -> dict:
    if TRIAGE.exists():
        return json.loads(TRIAGE.read_text())
    return {"slither": "", "entries": []}


def write_markdown(triage: dict) -> None:
    cfg = ape_solidity_settings()
    settings = (f"solc {cfg['version']}, {'via-IR, ' if cfg['via_ir'] else ''}optimizer {cfg['runs']} runs, "
                f"evm {cfg['evm_version']}")
    lines = [
        "# Slither triage",
        "",
        "Generated from `slither.triage.json` by `make slither-triage` (edit the JSON, not this file).",
        f"Slither {triage.get('slither', '?')} on `contracts/` (without `contracts/test/`), compiled through",
        f"the solc-js shim with Ape's settings from ape-config.yaml ({settings}).",
        "",
        "Every High and Medium finding is either fixed or listed here with its reason; `make slither` (and",
        "`tests/static/test_slither.py` in CI) fails on any High/Medium finding whose key is not below, or",
        'whose disposition is still "todo". A key is detector:Contract.function (or .stateVariable, or',
        ".function.localVariable): no line numbers, so moving code does not invalidate the triage.",
        "",
        "| Impact | Key | Disposition | Reason |",
        "| --- | --- | --- | --- |",
    ]
    order = {"High": 0, "Medium": 1}
    for e in sorted(triage["entries"], key=lambda e: (order.get(e.get("impact"), 9), e["key"])):
        reason = " ".join(e.get("reason", "").split()).replace("|", "\\|")
        lines.append(f"| {e.get('impact', '?')} | `{e['key']}` | {e.get('disposition', 'todo')} | {reason} |")
    lines.append("")
    notes = triage.get("notes")
    if notes:
        lines += ["## Notes", ""] + [f"- {' '.join(n.split())}" for n in notes] + [""]
    TRIAGE_MD.write_text("\n".join(lines))


def slither_version(slither_bin: str) -> str:
    try:
        return subprocess.run([slither_bin, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--update", action="store_true", help="add new findings as todo, drop stale entries")
    ap.add_argument("--from-json", type=Path, help="a saved `slither --json` output instead of a run")
    ap.add_argument("--slither", default=shutil.which("slither") or "slither")
    args = ap.parse_args()

    if args.from_json:
        data = json.loads(args.from_json.read_text())
    else:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        data = run_slither(args.slither, REPORT)
    gated, counts = summarize(data)
    triage = load_triage()
    entries = {e["key"]: e for e in triage["entries"]}
    found = {}
    for g in gated:
        found.setdefault(g["key"], g)

    untriaged = [g for k, g in found.items() if k not in entries]
    todo = [entries[k] for k in found if k in entries and entries[k].get("disposition", "todo") == "todo"]
    stale = [k for k, e in entries.items() if k not in found and e.get("disposition") != "fixed"]

    version = slither_version(args.slither)
    print(f"slither {version}: " + ", ".join(f"{counts.get(i, 0)} {i}" for i in
                                              ("High", "Medium", "Low", "Informational", "Optimization")))
    for k, g in sorted(found.items()):
        e = entries.get(k)
        state = e.get("disposition", "todo") if e else "UNTRIAGED"
        print(f"  [{g['impact']:<6}] {k}  -> {state}")
    if stale:
        print("stale triage entries (no longer reported): " + ", ".join(sorted(stale)))

    if args.update:
        triage["slither"] = version
        for g in untriaged:
            entries[g["key"]] = {
                "key": g["key"], "impact": g["impact"], "disposition": "todo",
                "reason": "", "example": g["description"].splitlines()[0],
            }
        for k in stale:
            del entries[k]
        for k, g in found.items():  # keep the impact current
            entries[k]["impact"] = g["impact"]
        triage["entries"] = sorted(entries.values(), key=lambda e: e["key"])
        TRIAGE.write_text(json.dumps(triage, indent=2) + "\n")
        write_markdown(triage)
        print(f"updated {TRIAGE.relative_to(ROOT)} and {TRIAGE_MD.relative_to(ROOT)}")
        untriaged = [g for g in found.values() if entries[g["key"]].get("disposition") == "todo"]
        todo = []

    bad = [g["key"] for g in untriaged] + [e["key"] for e in todo]
    if bad:
        print(f"FAIL: {len(bad)} High/Medium finding(s) neither fixed nor justified in slither.triage.json:")
        for k in bad:
            g = found[k]
            print(f"  {k}\n    " + g["description"].replace("\n", "\n    ")[:1200])
        return 1
    print(f"OK: every High/Medium finding is triaged ({len(found)} keys); full output in reports/tmp/slither.json")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())

"""python -m tools.coverage run [--append] [TEST PATHS...] [-- extra pytest args]
   (--append: merge with the previous run's traces, e.g. a second subset)
   python -m tools.coverage report          (again, from reports/tmp/coverage-hits.json)

Writes reports/coverage.md and reports/coverage.json. Exit status is 0 even when tests fail (it is a
report, not a gate); it is 2 when nothing could be traced.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ringfence.chain.anvil import Anvil, free_port
from tools.analysis.solc_input import ROOT
from tools.coverage import report
from tools.coverage.build import build, load
from tools.coverage.proxy import Recorder, serve

TMP = ROOT / "reports" / "tmp"
HITS = TMP / "coverage-hits.json"
BUILD_CACHE = TMP / "coverage-build.json"
OUT_MD = ROOT / "reports" / "coverage.md"
OUT_JSON = ROOT / "reports" / "coverage.json"


def ape_foundry_args(port: int) -> list[str]:
    """Anvil's flags as ape-foundry itself would start it (mnemonic, accounts, balance, hardfork...),
    without the binary and ``--port`` (the launcher adds its own)."""
    from ape import networks

    provider = networks.get_provider_from_choice("ethereum:local:foundry")
    provider._host = f"http://127.0.0.1:{port}"
    command = provider.build_command()
    i = command.index("--port")
    return command[1:i] + command[i + 2:]


def merge(a: dict, b: dict) -> dict:
    """Two recorder dumps as one (runs of different test subsets)."""
    out = {"codes": {**a.get("codes", {}), **b.get("codes", {})}, "stats": {}}
    for part in ("runtime", "creation"):
        table: dict = {}
        for d in (a, b):
            for h, hit in d.get(part, {}).items():
                slot = table.setdefault(h, {"p": set(), "j": set()})
                slot["p"].update(hit["p"])
                slot["j"].update(hit["j"])
        out[part] = {h: {"p": sorted(v["p"]), "j": sorted(v["j"])} for h, v in table.items()}
    for k in set(a.get("stats", {})) | set(b.get("stats", {})):
        out["stats"][k] = a.get("stats", {}).get(k, 0) + b.get("stats", {}).get(k, 0)
    return out


def run(tests: list[str], pytest_args: list[str], append: bool = False) -> int:
    t0 = time.monotonic()
    TMP.mkdir(parents=True, exist_ok=True)
    b = build(cache=BUILD_CACHE)  # the sources as the tests deploy them (`make coverage` compiled them)
    anvil_port, proxy_port = free_port(), free_port()
    anvil = Anvil(*ape_foundry_args(anvil_port), port=anvil_port, log=TMP / "coverage-anvil.log",
                  start_new_session=True, timeout=30)
    recorder = Recorder(anvil.uri)
    server = None
    outcome = "tests not run"
    try:
        try:
            anvil.start()
        except RuntimeError as exc:
            raise SystemExit(f"coverage: {exc}") from None
        server = serve(anvil.uri, proxy_port, recorder)
        env = dict(os.environ, APE_FOUNDRY_HOST=f"http://127.0.0.1:{proxy_port}")
        ape = str(Path(sys.executable).with_name("ape"))
        test_cmd = [ape, "test", *tests, "-p", "no:cacheprovider", "--network", "ethereum:local:foundry",
                    "-q", *pytest_args]
        print("coverage: " + " ".join(test_cmd[1:]), flush=True)
        proc = subprocess.run(test_cmd, cwd=ROOT, env=env, check=False)
        outcome = "tests passed" if proc.returncode == 0 else f"pytest exit {proc.returncode}"
    finally:
        if server is not None:
            server.shutdown()
        anvil.stop()
    hits = recorder.dump()
    meta = {"tests": tests, "outcome": outcome, "date": datetime.date.today().isoformat()}
    if append and HITS.exists() and OUT_JSON.exists():
        hits = merge(json.loads(HITS.read_text()), hits)
        prev = json.loads(OUT_JSON.read_text()).get("meta", {})
        meta = {"tests": prev.get("tests", []) + tests, "date": meta["date"],
                "outcome": f"{prev.get('outcome', '?')}; {outcome}", "seconds": prev.get("seconds", 0)}
    HITS.write_text(json.dumps(hits))
    return make_report(b, hits, meta, t0)


def make_report(b, hits: dict, meta: dict, t0: float) -> int:
    from tools.analysis.solc_input import ape_solidity_settings

    cfg = ape_solidity_settings()
    meta.setdefault("settings", f"solc {cfg['version']}, {'via-IR, ' if cfg['via_ir'] else ''}"
                                f"optimizer {cfg['runs']} runs, evm {cfg['evm_version']}")
    result = report.compute(b, hits, ROOT)
    meta["seconds"] = time.monotonic() - t0 + meta.get("seconds", 0)
    report.write(result, b, OUT_MD, OUT_JSON, meta)
    t = result["totals"]
    print(f"coverage: lines {t['lines']['covered']}/{t['lines']['total']}, "
          f"branches {t['branches']['covered']}/{t['branches']['total']}, "
          f"statements {t['statements']['covered']}/{t['statements']['total']}, "
          f"functions {t['functions']['covered']}/{t['functions']['total']} "
          f"-> {OUT_MD.relative_to(ROOT)} ({meta['outcome']})")
    for path, f in result["files"].items():
        print(f"  {path:<36} lines {f['lines']['covered']:>4}/{f['lines']['total']:<4} "
              f"branches {f['branches']['covered']:>3}/{f['branches']['total']:<3}")
    return 0 if hits.get("runtime") else 2


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "report"):
        print(__doc__)
        return 2
    if argv[0] == "report":
        hits = json.loads(HITS.read_text())
        prev = json.loads(OUT_JSON.read_text()).get("meta", {}) if OUT_JSON.exists() else {}
        b = load(BUILD_CACHE) if BUILD_CACHE.exists() else build(cache=BUILD_CACHE)
        return make_report(b, hits, {**prev, "seconds": prev.get("seconds", 0)}, time.monotonic())
    rest = argv[1:]
    append = "--append" in rest
    rest = [a for a in rest if a != "--append"]
    extra: list[str] = []
    if "--" in rest:
        i = rest.index("--")
        rest, extra = rest[:i], rest[i + 1:]
    return run(rest or ["tests"], extra, append=append)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

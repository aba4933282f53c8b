"""Coverage figures from recorded hits: per source file statements, lines, functions, branches."""

from __future__ import annotations

import json
from pathlib import Path

from tools.analysis.solc_input import protocol_sources
from tools.coverage.build import Build
from tools.coverage.mapping import Attribution, _inside, collect

LIMITS = """\
## Method and its limits

- **What ran**: `make coverage` starts its own Anvil behind a JSON-RPC proxy (`tools/coverage/proxy.py`)
  and points Ape's foundry provider at it. Every transaction is traced right after it is mined, and every
  `eth_call` and `eth_estimateGas` is replayed once with `debug_traceCall`, with a small JS tracer that
  records the program counters executed per code address (DELEGATECALL code included) and the direction
  of every JUMPI. Traffic that does not go through the test session's provider is not seen: tests that
  start an Anvil of their own (the stateful fuzz, the keeper's fork tests, `ape run` subprocesses).
- **Which code**: on-chain code is matched byte for byte (immutables masked) against a standard-JSON
  compilation of `contracts/` with Ape's settings from ape-config.yaml ({settings}, through the solc-js
  shim), identical to Ape's build. Test doubles (`contracts/test/`) and libraries from
  `node_modules` are excluded. Constructors are covered through the creation code of each deployment.
- **Mapping**: pcs go through solc's source maps to the smallest enclosing AST statement. With via-IR and
  the optimizer, source maps are coarse: inlined and deduplicated code keeps one location (two identical
  `revert X()` sites can share one block, so one may look covered when the other ran); code moved by the
  optimizer keeps the range of a larger construct (a function or the contract, e.g. the ABI dispatcher
  and decoders), which then counts for no statement. A statement with no instruction of its own is not
  executable (not counted): e.g. a declaration folded into later arithmetic.
- **Branches**: `if` and `?:` only (not `&&`/`||` short circuits, loops, `require`-free checks inside
  libraries' own code). A false branch without `else` is decided from JUMPI directions; if the optimizer
  left none that can be told apart, it is listed as unresolved and not counted.
"""


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


def compute(build: Build, hits: dict, root: Path, paths: list[str] | None = None) -> dict:
    """Coverage of `paths` (default: contracts/ without contracts/test) from the recorder's dump."""
    paths = [p for p in (protocol_sources(root) if paths is None else paths) if p in build.sources]
    files = {build.sources[p]["id"]: collect(build, p) for p in paths}
    ours = {n: c for n, c in build.runtime.items() if c.source in paths and len(c.code) > 60}

    executed: dict[str, dict[str, set]] = {}  # "rt:Name"/"init:Name" -> {"p", "j"}
    unknown = 0
    codes = hits.get("codes", {})
    runtime_name: dict[str, str | None] = {}
    for h, code_hex in codes.items():
        runtime_name[h] = build.identify(bytes.fromhex(code_hex[2:]))
        if runtime_name[h] not in ours:
            runtime_name[h] = None
    for kind, table in (("rt", hits.get("runtime", {})), ("init", hits.get("creation", {}))):
        for h, hit in table.items():
            name = runtime_name.get(h)
            if name is None:
                unknown += 1
                continue
            slot = executed.setdefault(f"{kind}:{name}", {"p": set(), "j": set()})
            slot["p"].update(hit["p"])
            slot["j"].update(hit["j"])

    attrs: dict[str, Attribution] = {}
    for n, c in ours.items():
        attrs[f"rt:{n}"] = Attribution(c, files)
        attrs[f"init:{n}"] = Attribution(build.creation[n], files)

    result = {"files": {}, "totals": {}, "unmatched_codes": unknown, "stats": hits.get("stats", {})}
    for fid, fi in files.items():
        executable, covered = set(), set()
        ran_ranges: list[tuple[int, int]] = []
        all_ranges = sorted({(r[1], r[2]) for at in attrs.values() for r in at.rng.values() if r[0] == fid})
        for key, at in attrs.items():
            ran = executed.get(key, {"p": set()})["p"]
            for pc, (f, j) in at.owner.items():
                if f != fid:
                    continue
                executable.add(j)
                if pc in ran:
                    covered.add(j)
            for pc in ran:
                r = at.rng.get(pc)
                if r and r[0] == fid:
                    ran_ranges.append((r[1], r[2]))
        ran_ranges = sorted(set(ran_ranges))

        def ran_inside(rng: tuple[int, int], ran_ranges: list[tuple[int, int]] = ran_ranges) -> bool:
            return any(_inside(r, rng) for r in ran_ranges)

        stmts = fi.stmts
        line_exec: dict[int, bool] = {}
        for j in executable:
            ln = stmts[j].line
            line_exec[ln] = line_exec.get(ln, False) or (j in covered)
        uncovered_stmts = [stmts[j] for j in sorted(executable - covered)]

        funcs = []
        for name, s, e, line in fi.functions:
            has_code = any(stmts[j].start >= s and stmts[j].end <= e for j in executable)
            if not has_code:
                continue
            funcs.append({"name": name, "line": line, "covered": ran_inside((s, e))})

        branches, unresolved = [], []
        for bp in fi.branches:
            edge_seen = {"true": False, "false": False}
            edge_taken = {"true": False, "false": False}
            for key, at in attrs.items():
                jumps = executed.get(key, {"j": set()})["j"]
                for pc, sides in at.jumpis_of(bp, fid):
                    for d in (0, 1):
                        side = sides[d]
                        if side in edge_seen:
                            edge_seen[side] = True
                            edge_taken[side] = edge_taken[side] or (2 * pc + d in jumps)
            state = {}
            for side, rng in (("true", bp.true_rng), ("false", bp.false_rng)):
                has_code = rng is not None and any(_inside(r, rng) for r in all_ranges)
                known = has_code or edge_seen[side]
                covered_side = (rng is not None and ran_inside(rng)) or edge_taken[side]
                state[side] = covered_side if known else None
            if state["true"] is None and state["false"] is None and not ran_inside(bp.cond) \
                    and not any(_inside(r, bp.cond) for r in all_ranges):
                continue  # no code at all for this branch point
            item = {"kind": bp.kind, "line": bp.line, "function": bp.function, **state}
            branches.append(item)
            if None in (state["true"], state["false"]):
                unresolved.append(item)
        b_total = sum((b["true"] is not None) + (b["false"] is not None) for b in branches)
        b_cov = sum(bool(b["true"]) + bool(b["false"]) for b in branches)
        result["files"][fi.path] = {
            "statements": {"total": len(executable), "covered": len(covered)},
            "lines": {"total": len(line_exec), "covered": sum(line_exec.values()),
                      "uncovered": sorted(ln for ln, ok in line_exec.items() if not ok)},
            "functions": {"total": len(funcs), "covered": sum(f["covered"] for f in funcs),
                          "uncovered": [f"{f['name']} (line {f['line']})" for f in funcs if not f["covered"]]},
            "branches": {"total": b_total, "covered": b_cov,
                         "uncovered": [{"line": b["line"], "function": b["function"], "kind": b["kind"],
                                        "missing": [s for s in ("true", "false") if b[s] is False]}
                                       for b in branches if b["true"] is False or b["false"] is False],
                         "unresolved": [{"line": b["line"], "function": b["function"], "kind": b["kind"],
                                         "sides": [s for s in ("true", "false") if b[s] is None]}
                                        for b in unresolved]},
            "uncovered_statements": [{"line": s.line, "kind": s.kind, "function": s.function}
                                     for s in uncovered_stmts],
        }
    tot = {k: {"total": 0, "covered": 0} for k in ("statements", "lines", "functions", "branches")}
    for f in result["files"].values():
        for k, counts in tot.items():
            counts["total"] += f[k]["total"]
            counts["covered"] += f[k]["covered"]
    result["totals"] = tot
    return result


def _line_text(build: Build, path: str, line: int) -> str:
    """The line as compiled (the file may have been edited since the run)."""
    try:
        return build.sources[path]["text"].decode().splitlines()[line - 1].strip()[:90]
    except (KeyError, IndexError):
        return ""


def write(result: dict, build: Build, out_md: Path, out_json: Path, meta: dict) -> None:
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps({**result, "meta": meta}, indent=1) + "\n")
    t = result["totals"]
    md = [
        "# Contract coverage",
        "",
        (f"Generated by `make coverage` ({meta.get('date', '')}; tests: `{' '.join(meta.get('tests', []))}`, "
         f"{meta.get('outcome', '')}). Source files of `contracts/` without `contracts/test/`."),
        "",
        (f"**Total: lines {t['lines']['covered']}/{t['lines']['total']} ({_pct(t['lines']['covered'], t['lines']['total'])}), "
         f"branches {t['branches']['covered']}/{t['branches']['total']} ({_pct(t['branches']['covered'], t['branches']['total'])}), "
         f"statements {t['statements']['covered']}/{t['statements']['total']} ({_pct(t['statements']['covered'], t['statements']['total'])}), "
         f"functions {t['functions']['covered']}/{t['functions']['total']}.**"),
        "",
        "| File | Lines | Branches | Statements | Functions |",
        "| --- | --- | --- | --- | --- |",
    ]
    for path, f in result["files"].items():
        md.append(
            f"| `{path}` | {f['lines']['covered']}/{f['lines']['total']} ({_pct(f['lines']['covered'], f['lines']['total'])}) "
            f"| {f['branches']['covered']}/{f['branches']['total']} ({_pct(f['branches']['covered'], f['branches']['total'])}) "
            f"| {f['statements']['covered']}/{f['statements']['total']} "
            f"| {f['functions']['covered']}/{f['functions']['total']} |"
        )
    md += ["", "## Not covered", ""]
    for path, f in result["files"].items():
        lines = f["lines"]["uncovered"]
        br = f["branches"]["uncovered"]
        fn = f["functions"]["uncovered"]
        if not (lines or br or fn or f["branches"]["unresolved"]):
            continue
        md.append(f"### `{path}`")
        md.append("")
        if fn:
            md.append("Functions never entered: " + ", ".join(fn))
            md.append("")
        for ln in lines:
            md.append(f"- line {ln}: `{_line_text(build, path, ln)}`")
        for b in br:
            md.append(f"- branch line {b['line']} ({b['kind']} in {b['function']}): {' and '.join(b['missing'])} "
                      f"side never taken: `{_line_text(build, path, b['line'])}`")
        for b in f["branches"]["unresolved"]:
            md.append(f"- branch line {b['line']} ({b['kind']} in {b['function']}): {' and '.join(b['sides'])} side "
                      f"unresolved (no code of its own, no JUMPI to tell; not counted)")
        md.append("")
    s = result.get("stats", {})
    md += [
        "## Run",
        "",
        (f"- traced transactions: {s.get('traced_txs', 0)}, traced calls/estimates: {s.get('traced_calls', 0)}, "
         f"trace errors: {s.get('trace_errors', 0)}, frame mismatches: {s.get('frame_mismatch', 0)}, "
         f"codes not from contracts/ (mocks, clones' proxy code, test doubles): {result.get('unmatched_codes', 0)}"),
        f"- wall time: {meta.get('seconds', 0):.0f} s (tracing {s.get('trace_seconds', 0):.0f} s)",
        "",
        LIMITS.format(settings=meta.get("settings", "")),
    ]
    out_md.write_text("\n".join(md))

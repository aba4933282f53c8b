"""The map from contract function to the test files that exercise it (`tools/mutate/test_map.json`).

Derived by grep, not by tracing (the coverage run records lines, not which test hit them): a function
is reached from the external/public entry points whose call closure contains it (call graph over the
contracts and MarginMath, by name); a test file exercises it when it calls one of those entry points,
directly (`pool.closePosition(`) or through the SDK wrapper that calls it (`market.close(`).
Regenerate with `python -m tools.mutate map` after adding tests, then check the diff by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools.mutate.operators import source_files
from tools.mutate.source import parse

CHEAP_SUITES = ("tests/unit", "tests/integration", "tests/security")
DEEP_SUITES = ("tests/stateful", "tests/keeper", "tests/sim")
ENTRY = re.compile(r"\b(external|public)\b")
CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
MAP_FILE = Path(__file__).with_name("test_map.json")
# The typed wrappers tests call instead of the contracts (``market.close(`` for ``closePosition``).
WRAPPERS = ("sdk.py", "guard.py", "insurance.py", "governance.py")
MODIFIER = re.compile(r"\b(only[A-Z]\w*|nonReentrant\w*)\b")
# Internal overrides reached from OpenZeppelin's ERC-4626 entry points, by their names.
OVERRIDES = {
    "_transferIn": "deposit", "_deposit": "deposit", "_transferOut": "withdraw", "_withdraw": "withdraw",
    "_decimalsOffset": "deposit", "maxWithdraw": "withdraw", "maxRedeem": "redeem", "totalAssets": "deposit",
}


def function_bodies(root: Path) -> dict[str, tuple[str, str]]:
    """`Contract.function` -> (its header and body, 'entry' or 'internal')."""
    texts: dict[str, str] = {}
    for f in source_files(root):
        for line in parse(f.read_text()):
            if line.function:
                key = f"{f.stem}.{line.function}"
                texts[key] = texts.get(key, "") + line.code
    out: dict[str, tuple[str, str]] = {}
    for key, text in texts.items():
        header = text.split("{", 1)[0]
        entry = ENTRY.search(header) or key.endswith(".constructor") or key.split(".")[1] in OVERRIDES
        out[key] = (text, "entry" if entry else "internal")
    return out


def reachers(bodies: dict[str, tuple[str, str]]) -> dict[str, set[str]]:
    """For every function, the entry-point names from which it can run (its own name included)."""
    by_name: dict[str, set[str]] = {}
    for key in bodies:
        by_name.setdefault(key.split(".")[1], set()).add(key)
    callers: dict[str, set[str]] = {k: set() for k in bodies}
    for key, (text, _) in bodies.items():
        for callee in set(CALL.findall(text)) | set(MODIFIER.findall(text)):
            for target in by_name.get(callee, ()):
                if target != key:
                    callers[target].add(key)
    out: dict[str, set[str]] = {}
    for key in bodies:
        seen, todo = {key}, [key]
        while todo:
            for c in callers[todo.pop()] - seen:
                seen.add(c)
                todo.append(c)
        out[key] = {k.split(".")[1] for k in seen if bodies[k][1] == "entry"} | {key.split(".")[1]}
    return out


def sdk_aliases(root: Path) -> dict[str, set[str]]:
    """Contract function name -> the Python wrappers (the SDK's modules in WRAPPERS) that call it."""
    aliases: dict[str, set[str]] = {}
    for module in WRAPPERS:
        current = ""
        for line in (root / "ringfence" / module).read_text().splitlines():
            m = re.match(r"\s*def (\w+)\(", line)
            if m:
                current = m.group(1)
            # `pool.closePosition(…)`, or the method handed to a sender: `send(…, self.pool.closePosition, …)`
            for called in re.findall(r"\.(\w+)\s*[(,)]", line):
                if current and not current.startswith("_"):
                    aliases.setdefault(called, set()).add(current)
    return aliases


def test_files(root: Path, suites: tuple[str, ...]) -> dict[str, str]:
    files = sorted(p for s in suites for p in (root / s).rglob("test_*.py"))
    return {str(p.relative_to(root)): p.read_text() for p in files}


def build(root: Path) -> dict[str, list[str]]:
    bodies = function_bodies(root)
    aliases = sdk_aliases(root)
    tests = test_files(root, CHEAP_SUITES + DEEP_SUITES)
    out: dict[str, list[str]] = {}
    for key, names in sorted(reachers(bodies).items()):
        contract = key.split(".")[0]
        words = set(names) | {a for n in names for a in aliases.get(n, ())}
        words |= {OVERRIDES[n] for n in names if n in OVERRIDES}
        words.discard("constructor")
        pattern = re.compile(r"[.\s(](%s)\(" % "|".join(sorted(map(re.escape, words))))
        deployed = re.compile(rf"\b{contract}\b") if "constructor" in names else None
        out[key] = [
            path for path, text in tests.items()
            if pattern.search(text) or (deployed is not None and deployed.search(text))
        ]
    return out


def write(root: Path) -> Path:
    MAP_FILE.write_text(json.dumps(build(root), indent=1, sort_keys=True) + "\n")
    return MAP_FILE


def load() -> dict[str, list[str]]:
    return json.loads(MAP_FILE.read_text()) if MAP_FILE.exists() else {}

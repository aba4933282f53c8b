"""Runs mutants: each in a worker's private copy of the project, compiled, then the tests that exercise
the mutated function (cheap suites first, stopping at the first failure)."""

from __future__ import annotations

import ast
import random
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue

from tools.mutate import test_map
from tools.mutate.operators import Mutant
from tools.mutate.workspace import ROOT, Result, Workspace

KILLED, SURVIVED, NO_COMPILE, EQUIVALENT, ERROR = "KILLED", "SURVIVED", "NO-COMPILE", "EQUIVALENT", "ERROR"
TIMEOUT = "TIMEOUT"  # the tests outran --timeout: undecided, listed, not scored
IMPORT = re.compile(r'^\s*import\s+.*?"(\.{1,2}/[^"]+)"', re.M)
REVERT = re.compile(r"revert\s+(?:\w+\.)?(\w+)\(")
INHERITED_ERRORS = {"onlyOwner": ["OwnableUnauthorizedAccount"]}  # OpenZeppelin's modifiers
FAILED = re.compile(r"^(FAILED|ERROR) (\S+)", re.M)
PLUGIN = "tools.mutate.pytest_plugin"  # Hypothesis without shrinking in the mutants' runs
EQUIVALENT_FILE = Path(__file__).with_name("equivalent.txt")


@dataclass
class Outcome:
    """What happened to one mutant."""

    mutant: Mutant
    status: str
    killed_by: str = ""
    tests: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""
    compile_seconds: float = 0.0


def load_equivalents(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """`key -> reason` from lines `key | id when judged | reason` (# starts a comment)."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip() if raw.lstrip().startswith("#") else raw.strip()
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 3 and parts[0]:
            out[parts[0]] = parts[2]
    return out


def dependents(root: Path, rel: str) -> list[str]:
    """`rel` and every contract source that imports it, directly or not (they inline its code)."""
    graph: dict[str, set[str]] = {}
    for f in (root / "contracts").rglob("*.sol"):
        if ".cache" in f.parts:
            continue
        for target in IMPORT.findall(f.read_text()):
            dep = (f.parent / target).resolve()
            if dep.is_relative_to(root.resolve()):
                graph.setdefault(str(dep.relative_to(root.resolve())), set()).add(str(f.relative_to(root)))
    seen, todo = {rel}, [rel]
    while todo:
        for user in graph.get(todo.pop(), set()) - seen:
            seen.add(user)
            todo.append(user)
    return sorted(seen)


def guarded_errors(mutant: Mutant) -> list[str]:
    """The custom errors a mutant's line can raise, directly or through a removed modifier/_require call."""
    errors = REVERT.findall(mutant.original)
    source = (ROOT / mutant.path).read_text()
    for name in re.findall(r"\b(only[A-Z]\w*|_require\w*)\b", mutant.original):
        m = re.search(rf"(?:modifier|function)\s+{name}\b[^{{]*\{{(.*?)\n    \}}", source, re.S)
        errors += REVERT.findall(m.group(1)) if m else INHERITED_ERRORS.get(name, [])
    return errors


def focused_tests(files: list[str], words: list[str]) -> list[str]:
    """Node ids of the test functions in `files` whose source names one of `words` (e.g. an error)."""
    out: list[str] = []
    for rel in files if words else []:
        text = (ROOT / rel).read_text()
        for node in ast.parse(text).body:
            members = node.body if isinstance(node, ast.ClassDef) else [node]
            prefix = f"{rel}::{node.name}::" if isinstance(node, ast.ClassDef) else f"{rel}::"
            for fn in members:
                if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test"):
                    body = ast.get_source_segment(text, fn) or ""
                    if any(re.search(rf"\b{w}\b", body) for w in words):
                        out.append(prefix + fn.name)
    return out


def select_tests(mutant: Mutant, mapping: dict[str, list[str]], deep: bool) -> tuple[list[str], list[str], list[str]]:
    """(tests naming the error the line raises, cheap test files, deep test files) for the mutant; the
    files naming that error come first."""
    mapped = mapping.get(f"{mutant.contract}.{mutant.function}")
    if not mapped:
        mapped = sorted(str(p.relative_to(ROOT)) for s in test_map.CHEAP_SUITES + test_map.DEEP_SUITES
                        for p in (ROOT / s).rglob("test_*.py"))
    errors = guarded_errors(mutant)
    first = [f for f in mapped if errors and any(e in (ROOT / f).read_text() for e in errors)]
    ordered = first + [f for f in mapped if f not in first]
    cheap = [f for f in ordered if f.startswith(test_map.CHEAP_SUITES)]
    deep_files = [f for f in ordered if f.startswith(test_map.DEEP_SUITES)] if deep else []
    return focused_tests(first, errors), cheap, deep_files


def classify(result: Result) -> tuple[str, str]:
    """(status, first failing nodeid) of a pytest run; setup errors in fixtures count as failures."""
    if result.returncode == 0:
        return SURVIVED, ""
    if result.returncode == 1:
        m = FAILED.search(result.output)
        return KILLED, (m.group(2) + (" (setup)" if m and m.group(1) == "ERROR" else "")) if m else "?"
    if result.returncode == 124:
        return TIMEOUT, result.output.splitlines()[0]
    return ERROR, result.output.strip().splitlines()[-1] if result.output.strip() else f"exit {result.returncode}"


class Runner:
    """Holds one workspace per worker, the baseline build, the test map and the equivalents."""

    def __init__(
        self,
        jobs: int = 2,
        deep: bool = False,
        timeout: float = 1200,
        log: Callable[[str], None] = print,
        on_outcome: Callable[[list[Outcome]], object] | None = None,
    ) -> None:
        self.jobs, self.deep, self.timeout, self.log = max(1, jobs), deep, timeout, log
        self.on_outcome = on_outcome  # called with the outcomes so far after each mutant (partial reports)
        self.mapping = test_map.load()
        self.equivalents = load_equivalents()
        self.pool: Queue[Workspace] = Queue()
        self.workspaces: list[Workspace] = []
        self.lock = threading.Lock()
        self.baseline: Path | None = None

    def prepare(self) -> None:
        """Compiles the pristine sources once; every workspace starts from that build."""
        first = Workspace()
        self.workspaces.append(first)
        res = first.compile()
        if res.returncode != 0:
            raise SystemExit(f"mutate: the unmutated project does not compile:\n{res.output[-2000:]}")
        self.baseline = first.path / ".build" / "__local__.json"
        self.baseline_copy = Path(str(first.path) + "-baseline.json")
        shutil.copy2(self.baseline, self.baseline_copy)
        self.pool.put(first)
        for _ in range(self.jobs - 1):
            ws = Workspace()
            self.workspaces.append(ws)
            (ws.path / ".build").mkdir()
            shutil.copy2(self.baseline_copy, ws.path / ".build" / "__local__.json")
            self.pool.put(ws)

    def close(self) -> None:
        for ws in self.workspaces:
            ws.close()
        if self.baseline is not None:
            self.baseline_copy.unlink(missing_ok=True)

    def run_one(self, mutant: Mutant) -> Outcome:
        if mutant.key in self.equivalents:
            return Outcome(mutant, EQUIVALENT, detail=self.equivalents[mutant.key])
        ws = self.pool.get()
        t0 = time.monotonic()
        try:
            return self._run_in(ws, mutant, t0)
        finally:
            ws.restore()
            shutil.copy2(self.baseline_copy, ws.path / ".build" / "__local__.json")
            self.pool.put(ws)

    def _run_in(self, ws: Workspace, mutant: Mutant, t0: float) -> Outcome:
        ws.apply(mutant)
        built = ws.ape("compile", "--force", *dependents(ws.path, mutant.path), timeout=900)
        if built.returncode != 0:
            return Outcome(mutant, NO_COMPILE, seconds=time.monotonic() - t0, detail=_compile_error(built.output))
        focused, cheap, deep = select_tests(mutant, self.mapping, self.deep)
        outcome = Outcome(mutant, SURVIVED, tests=cheap + deep, compile_seconds=built.seconds)
        for files in (focused, cheap, deep):
            if not files:
                continue
            res = ws.ape("test", *files, "-x", "-q", "-rfE", "-p", "no:cacheprovider", "-p", PLUGIN,
                         timeout=self.timeout)
            outcome.status, outcome.killed_by = classify(res)
            if outcome.status != SURVIVED:
                break
        outcome.seconds = time.monotonic() - t0
        return outcome

    def run(self, mutants: list[Mutant], want: int | None = None) -> list[Outcome]:
        """Every mutant, or (with `want`) mutants in order until `want` of them compiled and ran."""
        state = _Progress(iter(mutants), want)
        threads = [threading.Thread(target=self._worker, args=(state,), daemon=True) for _ in range(self.jobs)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(timeout=1)  # wakes up for signals
        order = {m.id: i for i, m in enumerate(mutants)}
        return sorted(state.outcomes, key=lambda o: order[o.mutant.id])

    def _worker(self, state: _Progress) -> None:
        while (mutant := state.take()) is not None:
            out = self.run_one(mutant)
            state.done(out)
            if self.on_outcome is not None:
                with state.cond:
                    self.on_outcome(list(state.outcomes))
            took = f"{out.seconds:.0f} s, compile {out.compile_seconds:.0f} s"
            self.log(f"{out.mutant.id:42} {out.status:10} {out.killed_by or out.detail[:90]} ({took})")


class _Progress:
    """The shared queue of a run: hands out mutants until `want` have compiled and run (or all)."""

    def __init__(self, mutants: Iterator[Mutant], want: int | None) -> None:
        self.mutants, self.want = mutants, want
        self.cond = threading.Condition()
        self.ran = self.in_flight = 0
        self.outcomes: list[Outcome] = []

    def take(self) -> Mutant | None:
        with self.cond:
            while self.want is not None and self.ran + self.in_flight >= self.want and self.in_flight:
                self.cond.wait()
            if self.want is not None and self.ran >= self.want:
                return None
            mutant = next(self.mutants, None)
            self.in_flight += mutant is not None
            return mutant

    def done(self, out: Outcome) -> None:
        with self.cond:
            self.in_flight -= 1
            self.ran += out.status not in (NO_COMPILE, EQUIVALENT)
            self.outcomes.append(out)
            self.cond.notify_all()


def _compile_error(output: str) -> str:
    lines = [l for l in output.splitlines() if "Error" in l]
    return lines[0].strip()[:200] if lines else "compile failed"


def sample(mutants: Iterable[Mutant], equivalents: dict[str, str], seed: str) -> list[Mutant]:
    """The non-equivalent mutants in a seeded random order (a sample is a prefix of it). All mutants are
    shuffled before the equivalents are dropped, so judging one more mutant equivalent leaves the others'
    order (and a seed's sample, but for that mutant) as it was."""
    order = list(mutants)
    random.Random(seed).shuffle(order)
    return [m for m in order if m.key not in equivalents]

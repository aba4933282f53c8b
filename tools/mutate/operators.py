"""Mutation operators over Solidity source text.

Each operator looks at one source line at a time (a guard or storage write that spans lines is taken
up to its closing `;`/`}`) and yields one mutant per site. A mutant replaces a block of whole lines
(`start`..`end`, 1-based, inclusive) with new text, so it can be applied to any copy of the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: lines `start`..`end` of `path` replaced by `replacement`."""

    contract: str
    path: str  # relative to the project root, e.g. contracts/Liquidator.sol
    start: int
    end: int
    operator: str
    index: int  # per (contract, line, operator): 0, 1, ...
    original: str
    replacement: str
    function: str = ""
    occurrence: int = 0  # how many identical (old, new) changes come before this one in the file

    @property
    def id(self) -> str:
        return f"{self.contract}:{self.start}:{self.operator}:{self.index}"

    @property
    def key(self) -> str:
        """A line-number-free identity (survives edits elsewhere in the file)."""
        text = " ".join(self.original.split()) + "\0" + " ".join(self.replacement.split())
        digest = hashlib.sha256(text.encode()).hexdigest()[:10]
        return f"{self.contract}:{self.operator}:{digest}" + (f".{self.occurrence}" if self.occurrence else "")

    @property
    def diff(self) -> str:
        old = " ".join(self.original.split())
        new = " ".join(self.replacement.split()) or "(removed)"
        return f"- {old}\n+ {new}"

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        block = "".join(lines[self.start - 1 : self.end])
        if block != self.original:
            raise ValueError(f"{self.id}: source changed under the mutant")
        return "".join(lines[: self.start - 1]) + self.replacement + "".join(lines[self.end :])



from tools.mutate.source import IDENT, Line, matching_paren, parse, statement_end  # noqa: E402

Site = tuple[int, int, str]  # (first line, last line, replacement block)
Operator = Callable[[list[Line], list[str]], Iterator[Site]]

SWAPS = {"mulDivUp": "mulDivDown", "mulDivDown": "mulDivUp", "notionalUp": "notionalDown", "notionalDown": "notionalUp"}
CEIL = ", Math.Rounding.Ceil"
TERM_WORDS = re.compile(r"fee|penalt|bonus|cap|profit|slack|credit|covered|from(Pool|Fund|Equity|Vault)", re.I)
WATERFALL = {"_payKeeperAndFund", "_coverBadDebt", "_liquidateFully", "_settle"}
DECLARATION = re.compile(rf"^\s*(?:{IDENT}(?:\[\])?\s+(?:memory\s+|storage\s+)?{IDENT}\s*=|\(|return\b|emit\b)")


def _one(line: Line, start: int, end: int, new: str) -> Site:
    return (line.number, line.number, line.text[:start] + new + line.text[end:])


def rounding(lines: list[Line], raw: list[str]) -> Iterator[Site]:
    """mulDivUp<->mulDivDown, notionalUp<->notionalDown, Ceil removed/added, ceilDiv<->`/`."""
    for line in lines:
        code = line.code
        for m in re.finditer(r"\b(mulDivUp|mulDivDown|notionalUp|notionalDown)\s*\(", code):
            if not re.search(r"\bfunction\s+$", code[: m.start()]):
                yield _one(line, m.start(1), m.end(1), SWAPS[m.group(1)])
        for m in re.finditer(re.escape(CEIL), code):
            yield _one(line, m.start(), m.end(), "")
        for m in re.finditer(r"\bMath\.mulDiv\(", code):
            close = matching_paren(code, m.end() - 1)
            if close > 0 and "Math.Rounding" not in code[m.end() : close]:
                yield _one(line, close, close, CEIL)
        for m in re.finditer(r"\bMath\.ceilDiv\(", code):
            close = matching_paren(code, m.end() - 1)
            args = _split_args(code[m.end() : close])
            if close > 0 and len(args) == 2:
                yield _one(line, m.start(), close + 1, f"({args[0]} / {args[1]})")
        for m in re.finditer(rf"(?<![\w.)\]])({IDENT}(?:\.{IDENT})*) / ({IDENT})\b", code):
            yield _one(line, m.start(), m.end(), f"Math.ceilDiv({m.group(1)}, {m.group(2)})")


def _split_args(text: str) -> list[str]:
    args, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return args + [cur.strip()] if cur.strip() else args


def boundary(lines: list[Line], raw: list[str]) -> Iterator[Site]:
    """`<` <-> `<=`, `>` <-> `>=` (not shifts, `=>`, or `->`)."""
    pattern = re.compile(r"(?<![<>=!-])(<=|>=|<|>)(?![<>=])")
    for line in lines:
        if re.match(r"\s*(import|pragma|mapping|event|error)\b", line.code) or "mapping(" in line.code:
            continue
        for m in pattern.finditer(line.code):
            op = m.group(1)
            flipped = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}[op]
            yield _one(line, m.start(1), m.end(1), flipped)


def guard(lines: list[Line], raw: list[str]) -> Iterator[Site]:
    """A revert guard, a `_require*` check or an access modifier removed."""
    for line in lines:
        code = line.code
        if re.match(r"\s*if\s*\(", code) and re.search(r"\brevert\b", code) and code.rstrip().endswith(";"):
            yield (line.number, line.number, "")
        elif re.match(r"\s*revert\s+\w+\(", code) and line.function:
            end = statement_end(raw, line.number)
            yield (line.number, end, "")
        elif re.match(r"\s*_require\w*\(.*\);\s*$", code):
            yield (line.number, line.number, "")
        elif re.match(r"\s*(address\s+)?\w+\s*=\s*_require\w*\(", code):
            m = re.search(r"_require\w*\((\w+)\)", code)
            if m and "VaultOwner" in code:  # `owner = _requireVaultOwner(p)` -> `owner = p.owner`
                yield _one(line, m.start(), m.end(), f"{m.group(1)}.owner")
        for m in re.finditer(r"\b(only[A-Z]\w*(?:\(\w+\))?)\s", code if "function" in code or code.startswith(" " * 8) else ""):
            if not re.match(r"\s*modifier\b", code):
                yield _one(line, m.start(1), m.end(0), "")


def drop_term(lines: list[Line], raw: list[str]) -> Iterator[Site]:
    """`a + b` -> `a`, `a - b` -> `a` where the dropped term is a fee, penalty, bonus, cap..."""
    for line in lines:
        code = line.code
        for m in re.finditer(r"(?<=[\w)\]]) ([+-]) (?!=)", code):
            end = _term_end(code, m.end())
            term = code[m.end() : end]
            if term and TERM_WORDS.search(term):
                yield _one(line, m.start(), end, "")


def _term_end(code: str, i: int) -> int:
    """End of the operand starting at `i` (it may contain calls, members, indexing, `*` and `/`)."""
    n = len(code)
    while i < n:
        ch = code[i]
        if ch in "([":
            close = matching_paren(code, i)
            if close < 0:
                return i
            i = close + 1
        elif ch.isalnum() or ch in "_.":
            i += 1
        elif code.startswith((" * ", " / "), i):
            i += 3
        else:
            return i
    return i


def skip_store(lines: list[Line], raw: list[str]) -> Iterator[Site]:
    """A statement writing storage removed (`x op= ...;`, `s.f -= ...;`, `arr.push(...)`)."""
    for line in lines:
        m = re.match(rf"\s*({IDENT})(\[[^\]]*\])?((?:\.{IDENT})*)\s*(?:[+\-*/|&]?=(?!=)|\.push\()", line.code)
        if not m or m.group(1) not in line.storage or not line.function:
            continue
        if m.group(1) not in line.state and not (m.group(2) or m.group(3)):
            continue  # re-pointing a storage pointer, not a write
        if re.match(rf"\s*{IDENT}\s+{IDENT}\s*=", line.code):
            continue  # a declaration
        yield (line.number, statement_end(raw, line.number), "")


def _written(code: str) -> str:
    m = re.match(rf"\s*({IDENT}(?:\.{IDENT})*)\s*[+\-]?=(?!=)", code)
    return m.group(1) if m else ""


def _dependent(a: str, b: str) -> bool:
    """Whether one statement writes what the other reads (so their order matters)."""
    wa, wb = _written(a), _written(b)
    return bool(wa and re.search(rf"(?<![\w.]){re.escape(wa)}\b", b.split("=", 1)[-1] if wb else b)) or bool(
        wb and re.search(rf"(?<![\w.]){re.escape(wb)}\b", a.split("=", 1)[-1] if wa else a)
    )


def swap(lines: list[Line], raw: list[str]) -> Iterator[Site]:
    """Two adjacent dependent one-line statements of the keeper/bad-debt waterfall swapped."""
    for a, b in zip(lines, lines[1:]):
        if a.function not in WATERFALL or a.function != b.function or not _dependent(a.code, b.code):
            continue
        one_line = all(x.code.rstrip().endswith(";") and statement_end(raw, x.number) == x.number for x in (a, b))
        indent = len(a.text) - len(a.text.lstrip())
        if one_line and indent == len(b.text) - len(b.text.lstrip()) and not DECLARATION.match(a.code):
            if not DECLARATION.match(b.code) and a.text.strip() != b.text.strip():
                yield (a.number, b.number, b.text + a.text)


def factory_bound(lines: list[Line], raw: list[str]) -> Iterator[Site]:
    """A `_within(name, value, min, max)` bound loosened: min -> 0, max -> type(uint256).max."""
    for line in lines:
        m = re.search(r"\b_within\((.*)\);", line.code)
        if not m or line.function == "_within":
            continue
        args = [a for a in _split_args(m.group(1))]
        if len(args) != 4:
            continue
        if args[2] != "0":
            yield (line.number, line.number, line.text.replace(m.group(0), f"_within({args[0]}, {args[1]}, 0, {args[3]});"))
        if args[3] != "type(uint256).max":
            loose = f"_within({args[0]}, {args[1]}, {args[2]}, type(uint256).max);"
            yield (line.number, line.number, line.text.replace(m.group(0), loose))


OPERATORS: dict[str, Operator] = {
    "rounding": rounding,
    "boundary": boundary,
    "guard": guard,
    "drop-term": drop_term,
    "skip-store": skip_store,
    "swap": swap,
    "bound": factory_bound,
}


def mutants_of_source(contract: str, path: str, source: str, operators: list[str] | None = None) -> list[Mutant]:
    """Every mutant of one file, in source order, with stable per-(line, operator) indexes."""
    lines = parse(source)
    raw = source.splitlines(keepends=True)
    out: list[Mutant] = []
    for name in operators or list(OPERATORS):
        counters: dict[int, int] = {}
        for start, end, replacement in OPERATORS[name](lines, raw):
            original = "".join(raw[start - 1 : end])
            if replacement == original:
                continue
            index = counters.get(start, 0)
            counters[start] = index + 1
            fn = lines[start - 1].function
            out.append(Mutant(contract, path, start, end, name, index, original, replacement, fn))
    out.sort(key=lambda m: (m.start, list(OPERATORS).index(m.operator), m.index))
    seen: dict[str, int] = {}
    for i, m in enumerate(out):
        seen[m.key] = seen.get(m.key, -1) + 1
        out[i] = replace(m, occurrence=seen[m.key])
    return out


def source_files(root: Path, contracts: list[str] | None = None) -> list[Path]:
    """contracts/*.sol and contracts/libraries/*.sol (not contracts/test), optionally by contract name."""
    files = sorted((root / "contracts").glob("*.sol")) + sorted((root / "contracts" / "libraries").glob("*.sol"))
    return [f for f in files if not contracts or f.stem in contracts]


def generate(root: Path, contracts: list[str] | None = None) -> list[Mutant]:
    out: list[Mutant] = []
    for f in source_files(root, contracts):
        out += mutants_of_source(f.stem, str(f.relative_to(root)), f.read_text())
    return out

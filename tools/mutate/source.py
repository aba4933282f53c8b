"""Just enough Solidity structure for the mutation operators: comments stripped, the enclosing
function, and which names are storage (state variables and `storage` pointers) at each line."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Line:
    """A source line with its comment stripped and some context."""

    number: int
    text: str  # the whole line, with newline
    code: str  # without the trailing // comment
    function: str
    storage: frozenset[str]  # state variables and storage pointers visible here
    state: frozenset[str] = frozenset()  # the contract's state variables


IDENT = r"[A-Za-z_]\w*"


def strip_comment(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith(("//", "*", "/*")):
        return ""
    cut = text.find("//")
    return text if cut < 0 else text[:cut]


def sub_at(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def matching_paren(text: str, open_at: int) -> int:
    """Index of the bracket closing the one at `open_at` (or -1)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    for i in range(open_at, len(text)):
        ch = text[i]
        if ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return i
    return -1


def statement_end(lines: list[str], start: int) -> int:
    """1-based number of the line holding the `;` (or block `}`) that ends the statement at `start`."""
    depth = 0
    for n in range(start, min(start + 40, len(lines) + 1)):
        code = strip_comment(lines[n - 1])
        for ch in code:
            if ch in "({[":
                depth += 1
            elif ch in ")}]":
                depth -= 1
                if depth == 0 and ch == "}" and n > start:
                    return n
            elif ch == ";" and depth == 0:
                return n
    return start


STATE_VAR = re.compile(
    r"^\s{4}(?:mapping\s*\(.*\)|[A-Za-z_][\w.]*(?:\[\])?)\s+(?:(?:public|internal|private)\s+)?(?P<name>[A-Za-z_]\w*)\s*(?:=.*)?;"
)
STORAGE_PTR = re.compile(r"\b[A-Z]\w*\s+storage\s+(?P<name>[A-Za-z_]\w*)")
FUNCTION = re.compile(r"^\s*(?:function\s+(?P<fn>[A-Za-z_]\w*)|(?P<ctor>constructor)|modifier\s+(?P<mod>\w+))")


def state_variables(lines: list[str]) -> set[str]:
    """Names of the contract's mutable state variables (not constants or immutables)."""
    names = set()
    for text in lines:
        code = strip_comment(text)
        if "constant" in code or "immutable" in code or "(" in code.split("mapping")[0]:
            continue
        m = STATE_VAR.match(code)
        if m and not code.lstrip().startswith(("return", "emit", "revert", "using", "event", "error")):
            names.add(m.group("name"))
    return names


def parse(source: str) -> list[Line]:
    """Every line with its code, enclosing function and the storage names visible in it."""
    raw = source.splitlines(keepends=True)
    state = frozenset(state_variables(raw))
    out: list[Line] = []
    function, pointers = "", set()
    for number, text in enumerate(raw, start=1):
        code = strip_comment(text)
        m = FUNCTION.match(code)
        if m:
            function = m.group("fn") or m.group("ctor") or m.group("mod")
            pointers = set()
        for p in STORAGE_PTR.finditer(code):
            pointers.add(p.group("name"))
        out.append(Line(number, text, code, function, state | frozenset(pointers), state))
    return out

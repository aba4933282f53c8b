"""From executed pcs to statements, lines, functions and branches of the Solidity sources.

Items come from the AST (so the denominators are Solidity constructs, not instructions):
- a statement (any Statement node but blocks) owns the instructions whose source range lies inside it
  and inside no smaller statement; it is *executable* if it owns at least one instruction of some
  deployed contract, *covered* if one of those ran;
- a line is executable/covered if an executable/covered statement starts on it;
- a function (or modifier) is covered if any instruction inside its body ran;
- branches: each `if` and each `?:` has a true and a false branch. A branch with a body is covered when
  an instruction inside that body ran; an `if` without `else` has its false branch covered when a JUMPI
  of its condition was seen going the way that skips the body. Where the optimizer left no JUMPI that
  can be told apart (branchless code, a shared revert block), the branch is "unresolved": listed, not
  counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.coverage.build import Build, Code

SKIP_STATEMENTS = {"Block", "UncheckedBlock"}
STATEMENTS = {
    "ExpressionStatement", "VariableDeclarationStatement", "Return", "EmitStatement", "RevertStatement",
    "IfStatement", "ForStatement", "WhileStatement", "DoWhileStatement", "Break", "Continue",
    "InlineAssembly", "TryStatement", "PlaceholderStatement",
}


def _src(node: dict) -> tuple[int, int, int]:
    s, l, f = (int(x) for x in node["src"].split(":"))
    return s, l, f


@dataclass
class Stmt:
    id: int
    kind: str
    start: int
    end: int
    line: int
    function: str


@dataclass
class BranchPoint:
    id: int
    kind: str  # "if" or "?:"
    start: int
    end: int
    line: int
    function: str
    cond: tuple[int, int]
    true_rng: tuple[int, int]
    false_rng: tuple[int, int] | None


@dataclass
class FileItems:
    path: str
    file_id: int
    stmts: list[Stmt] = field(default_factory=list)
    branches: list[BranchPoint] = field(default_factory=list)
    functions: list[tuple[str, int, int, int]] = field(default_factory=list)  # name, start, end, line


def collect(build: Build, path: str) -> FileItems:
    info = build.sources[path]
    items = FileItems(path, info["id"])

    def walk(node, fn: str):
        if isinstance(node, list):
            for n in node:
                walk(n, fn)
            return
        if not isinstance(node, dict):
            return
        nt = node.get("nodeType")
        if nt in ("FunctionDefinition", "ModifierDefinition") and node.get("body"):
            parent = node.get("_contract", "")
            name = node.get("name") or node.get("kind", "fallback")
            fn = f"{parent}.{name}" if parent else name
            s, l, _ = _src(node["body"])
            items.functions.append((fn, s, s + l, build.line_of(path, _src(node)[0])))
        if nt == "ContractDefinition":
            for n in node.get("nodes", []):
                if isinstance(n, dict):
                    n["_contract"] = node.get("name", "")
        if nt in STATEMENTS and "src" in node:
            s, l, _ = _src(node)
            items.stmts.append(Stmt(node["id"], nt, s, s + l, build.line_of(path, s), fn))
        if nt in ("IfStatement", "Conditional") and "src" in node:
            s, l, _ = _src(node)
            cond = node["condition"]
            cs, cl, _ = _src(cond)
            tb = node["trueBody"] if nt == "IfStatement" else node["trueExpression"]
            fb = node.get("falseBody") if nt == "IfStatement" else node.get("falseExpression")
            ts, tl, _ = _src(tb)
            frng = None
            if fb:
                fs, fl, _ = _src(fb)
                frng = (fs, fs + fl)
            items.branches.append(BranchPoint(node["id"], "if" if nt == "IfStatement" else "?:", s, s + l,
                                              build.line_of(path, s), fn, (cs, cs + cl), (ts, ts + tl), frng))
        for k, v in node.items():
            if k in ("src", "_contract") or not isinstance(v, (dict, list)):
                continue
            walk(v, fn)

    walk(info["ast"], "")
    items.stmts.sort(key=lambda st: (st.start, -st.end))
    return items


def _inside(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return b[0] <= a[0] and a[1] <= b[1]


class Attribution:
    """For one code: which statement (by index in FileItems.stmts) each instruction belongs to."""

    def __init__(self, code: Code, files: dict[int, FileItems]):
        self.code = code
        self.owner: dict[int, tuple[int, int]] = {}  # pc -> (file id, stmt index)
        self.rng: dict[int, tuple[int, int, int]] = {}  # pc -> (file id, start, end)
        cache: dict[tuple[int, int, int], int | None] = {}
        for i, pc in enumerate(code.pcs):
            if i >= len(code.smap):
                break
            s, l, f, _ = code.smap[i]
            if f not in files or s < 0:
                continue
            self.rng[pc] = (f, s, s + l)
            key = (f, s, l)
            if key not in cache:
                best, best_len = None, None
                for j, st in enumerate(files[f].stmts):
                    if st.start <= s and s + l <= st.end and (best_len is None or st.end - st.start < best_len):
                        best, best_len = j, st.end - st.start
                cache[key] = best
            if cache[key] is not None:
                self.owner[pc] = (f, cache[key])

    def successor_side(self, start_pc: int, bp: BranchPoint, file_id: int) -> str | None:
        """Where control goes from `start_pc`: "true" / "false" (skips the body) / "cond" / None."""
        code, pc = self.code, start_pc
        for _ in range(16):
            i = code.pc_index.get(pc)
            if i is None:
                return None
            op = code.code[pc]
            # follow `PUSH tag; JUMP`
            if 0x60 <= op <= 0x7F and i + 1 < len(code.pcs) and code.code[code.pcs[i + 1]] == 0x56:
                pc = int.from_bytes(code.code[pc + 1:pc + 1 + op - 0x5F], "big")
                continue
            r = self.rng.get(pc)
            if op == 0x5B or r is None or r[0] != file_id:  # JUMPDEST or other file: keep walking
                pc = code.pcs[i + 1] if i + 1 < len(code.pcs) else -1
                continue
            span = (r[1], r[2])
            if _inside(span, bp.true_rng):
                return "true"
            if bp.false_rng and _inside(span, bp.false_rng):
                return "false"
            if _inside(span, bp.cond):
                return "cond"
            if _inside(span, (bp.start, bp.end)):
                pc = code.pcs[i + 1] if i + 1 < len(code.pcs) else -1
                continue
            return "false"  # left the if/?: without entering its true part
        return None

    def jumpis_of(self, bp: BranchPoint, file_id: int):
        """JUMPIs of the branch point's condition, with the side each direction leads to."""
        code = self.code
        for pc, (f, s, e) in self.rng.items():
            if f != file_id or code.code[pc] != 0x57:
                continue
            if not (_inside((s, e), bp.cond) or (s, e) == (bp.start, bp.end)):
                continue
            i = code.pc_index[pc]
            prev = code.pcs[i - 1] if i else None
            target = None
            if prev is not None and 0x60 <= code.code[prev] <= 0x7F:
                n = code.code[prev] - 0x5F
                target = int.from_bytes(code.code[prev + 1:prev + 1 + n], "big")
            fall = code.pcs[i + 1] if i + 1 < len(code.pcs) else None
            sides = {
                0: self.successor_side(fall, bp, file_id) if fall is not None else None,
                1: self.successor_side(target, bp, file_id) if target is not None else None,
            }
            yield pc, sides

"""No function in the package is longer than a reader can hold without a written reason: a function
or method over ``MAX_FUNCTION_LINES`` lines (``def`` line to last line) carries a comment line starting
``# Long because`` right above its ``def`` or above its decorators, saying why it stays whole."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ringfence"
MAX_FUNCTION_LINES = 60
REASON = "# Long because"


def _functions(tree: ast.AST) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones included, with its qualified name (``Class.method``,
    ``outer.inner``)."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((prefix + child.name, child))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _has_reason(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A ``# Long because …`` line (with a reason after it) right above the decorators or the ``def``."""
    candidates = {node.lineno - 1}
    if node.decorator_list:
        candidates.add(min(d.lineno for d in node.decorator_list) - 1)
    for line_number in candidates:
        if line_number >= 1:
            text = lines[line_number - 1].strip()
            if text.startswith(REASON) and len(text.removeprefix(REASON).strip()) >= 10:
                return True
    return False


def long_functions_without_reason(source: str, max_lines: int = MAX_FUNCTION_LINES) -> list[str]:
    """``name (N lines, line L)`` for each function of ``source`` over ``max_lines`` without a reason."""
    lines = source.splitlines()
    out = []
    for name, node in _functions(ast.parse(source)):
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > max_lines and not _has_reason(lines, node):
            out.append(f"{name} ({length} lines, line {node.lineno})")
    return out


def _function(name: str, body_lines: int, indent: str = "") -> list[str]:
    """A function of ``body_lines + 1`` lines."""
    return [f"{indent}def {name}():", *[f"{indent}    x{i} = {i}" for i in range(body_lines)]]


def test_the_checker_flags_a_long_function_without_a_reason():
    """Canary: built source, so the check is known to bite. A function one line over the bound, a
    long method and a long nested function are flagged; one at the bound, and long ones with a reason
    above the ``def`` or above the decorators, are not."""
    source = "\n".join([
        *_function("at_the_bound", MAX_FUNCTION_LINES - 1),
        "",
        *_function("one_over", MAX_FUNCTION_LINES),
        "",
        "class Machine:",
        *_function("long_method", MAX_FUNCTION_LINES + 5, "    "),
        "",
        "def outer():",
        *_function("inner", MAX_FUNCTION_LINES + 1, "    "),
        "    return inner",
        "",
        "# Long because it mirrors the contract's function step by step.",
        *_function("explained", MAX_FUNCTION_LINES + 20),
        "",
        "# Long because it mirrors the contract's function step by step.",
        "@staticmethod",
        "@property",
        *_function("decorated_and_explained", MAX_FUNCTION_LINES + 20),
        "",
        "@staticmethod",
        "# Long because it mirrors the contract's function step by step.",
        *_function("explained_below_the_decorator", MAX_FUNCTION_LINES + 20),
        "",
        "# Long because",
        *_function("no_reason_given", MAX_FUNCTION_LINES + 20),
        "",
        "# Long because it mirrors the contract's function step by step.",
        "",
        *_function("reason_not_right_above", MAX_FUNCTION_LINES + 20),
    ]) + "\n"
    flagged = long_functions_without_reason(source)
    assert [f.split(" ")[0] for f in flagged] == [
        "one_over", "Machine.long_method", "outer", "outer.inner", "no_reason_given", "reason_not_right_above",
    ]
    assert flagged[0] == f"one_over ({MAX_FUNCTION_LINES + 1} lines, line {MAX_FUNCTION_LINES + 2})"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_long_function_without_a_reason(path: Path):
    flagged = long_functions_without_reason(path.read_text())
    assert flagged == [], (
        f"{path.relative_to(PACKAGE.parent)}: over {MAX_FUNCTION_LINES} lines without a `{REASON} …` "
        f"comment right above the def (split it, or say why it stays whole): " + "; ".join(flagged))

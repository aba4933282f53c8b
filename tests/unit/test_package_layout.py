"""The Python package's shape: no import cycles between its modules (lazy imports inside functions
count too: a cycle hidden in a function is still two modules that cannot be understood apart), no
module over the size a reader can hold, and feature packages that reach the chain only through
``ringfence.chain``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ringfence"
MAX_MODULE_LINES = 550
FEATURES = ("bench", "cli", "fuzz", "keeper", "sim")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("ringfence"):
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_cycle_finder_finds_a_cycle():
    """Canary: a two-module cycle and a three-module cycle are reported, a chain is not."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"g"}, "g": set()}
    assert _cycles(graph) == [["a", "b"], ["c", "d", "e"]]


def test_the_import_walker_sees_imports_inside_functions():
    graph = _graph()
    # ringfence.keeper.settings imports ape's chain lazily and the keeper at module level
    assert "ringfence.keeper.keeper" in graph["ringfence.keeper.settings"]
    assert "ringfence.errors" in graph["ringfence.keeper.failures"]
    assert len(graph) > 30


def test_the_package_has_no_import_cycle():
    cycles = _cycles(_graph())
    assert cycles == [], f"import cycles: {cycles}"


def test_feature_packages_do_not_import_each_others_internals():
    """bench, cli, fuzz, keeper and sim may use the shared layers (chain, sdk, model, errors, abi,
    units, paths, deploy) and a feature package's public face (its ``__init__``), never another
    feature package's modules."""
    offenders = []
    for module, targets in _graph().items():
        own = _package_of(module)
        for target in targets:
            other = _package_of(target)
            if other in FEATURES and other != own and target != f"ringfence.{other}":
                offenders.append(f"{module} -> {target}")
    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_too_long_to_read(path: Path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(PACKAGE.parent)}: {lines} lines"

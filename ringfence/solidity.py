"""Solidity names on the Python side, and the layout of the contracts' structs, read from the bundled
contract types (``ringfence/artifacts/contracts.json``) with the standard library only: the reference
model (:mod:`ringfence.model`) uses it without Ape.

One rule maps a Solidity name to the Python one and back: :func:`snake_case` / :func:`camel_case`
(``entryPriceWad`` <-> ``entry_price_wad``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["BUNDLE", "abi_struct", "camel_case", "snake_case"]

BUNDLE = Path(__file__).resolve().parent / "artifacts" / "contracts.json"
"""The bundled contract types (package data, written by ``python -m ringfence.chain.contracts export``)."""


def snake_case(name: str) -> str:
    """A Solidity field name as the Python side spells it: ``entryPriceWad`` -> ``entry_price_wad``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel_case(name: str) -> str:
    """The inverse of :func:`snake_case`: ``entry_price_wad`` -> ``entryPriceWad``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def abi_struct(struct: str, path: Path = BUNDLE) -> tuple[tuple[str, str], ...]:
    """The fields of Solidity struct ``struct`` (``MarketParams``, ``Position``) as ``(name, ABI type)``
    pairs in declaration order, from the first ABI parameter of that struct type in the bundle."""
    found = _structs(path).get(struct)
    if found is None:
        raise KeyError(f"no struct {struct!r} in the ABIs of {path.name}")
    return found


@cache
def _structs(path: Path) -> dict[str, tuple[tuple[str, str], ...]]:
    contract_types = json.loads(path.read_text())["contractTypes"]
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for name in sorted(contract_types):
        for entry in contract_types[name].get("abi", []):
            for param in [*entry.get("inputs", []), *entry.get("outputs", [])]:
                _collect(param, found)
    return found


def _collect(param: dict[str, Any], found: dict[str, tuple[tuple[str, str], ...]]) -> None:
    components = param.get("components")
    if not components:
        return
    internal = str(param.get("internalType", ""))
    if internal.startswith("struct "):
        struct = internal.removeprefix("struct ").split("[")[0].rpartition(".")[2]
        found.setdefault(struct, tuple((str(c["name"]), str(c["type"])) for c in components))
    for component in components:
        _collect(component, found)

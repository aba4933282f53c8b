"""Where the Python side gets the contracts' types: ABIs, NatSpec and bytecode, by contract name.

Two sources, one API:

* ``build``: the checkout's compiled contracts, through Ape's project for the checkout (``ape.project``
  when the current directory is the checkout, else ``ape.Project(<checkout>)``). Ape compiles a contract
  whose sources changed the first time it is asked for (its lazy compile).
* ``bundle``: ``ringfence/artifacts/contracts.json``, package data written by :func:`export` (every
  contract of ``contracts/`` outside ``contracts/test/``, plus the mocks of a local deployment). An
  installed package has no checkout: it works from any directory with the bundle.

The build is used when the package sits in a checkout (``ape-config.yaml`` and ``contracts/`` beside
it), the bundle otherwise; ``RINGFENCE_CONTRACTS=build`` or ``=bundle`` forces one.

On top of the types: :func:`container` (an Ape ``ContractContainer``), :func:`fn` (a raw
:class:`ringfence.chain.rpc.Fn` encoder built from the ABI), :func:`abi` (the JSON ABI),
:func:`error_selector`, :func:`event_topic` and :func:`struct_fields` (a tuple parameter's component
names). Importing this module points :mod:`ringfence.errors` (the revert decoder and the errors'
messages) at the same source. Nothing here imports Ape until a type is asked for.

``python -m ringfence.chain.contracts export [PATH]`` writes the bundle from the build; ``check`` lists how
the bundle differs from the build (exit status 1 when it does).
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import keccak
from eth_utils.abi import collapse_if_tuple, function_abi_to_4byte_selector

from ringfence.chain.rpc import Fn
from ringfence.errors import use_contract_types
from ringfence.paths import ROOT
from ringfence.solidity import BUNDLE, camel_case, snake_case

if TYPE_CHECKING:
    from ethpm_types import ContractType
    from ethpm_types.abi import ABIType

__all__ = [
    "BUNDLE",
    "MOCKS",
    "abi",
    "bundle_differences",
    "bundle_entry",
    "camel_case",
    "canonical_type",
    "container",
    "contract_type",
    "contract_types",
    "error_selector",
    "event_topic",
    "export",
    "fn",
    "method",
    "read_bundle",
    "signature",
    "snake_case",
    "source",
    "strip_metadata",
    "struct_fields",
]

MOCKS = ("MockAggregator", "MockERC20", "MockSequencerFeed")
"""Test doubles in the bundle: what ``deploy-mock`` in a markets file and ``ringfence mock`` use."""
SOURCE_ENV = "RINGFENCE_CONTRACTS"
BUNDLE_FIELDS = ("abi", "contractName", "deploymentBytecode", "devdoc", "runtimeBytecode", "sourceId",
                 "userdoc")


class ContractNotFound(KeyError):
    """No contract of that name in the source in use."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "contract not found"


# ------------------------------------------------------------------ the two sources
def source() -> str:
    """``build`` (a checkout's compiled contracts) or ``bundle`` (the package data)."""
    forced = os.environ.get(SOURCE_ENV, "").strip().lower()
    if forced in ("build", "bundle"):
        return forced
    if forced:
        raise ValueError(f"{SOURCE_ENV} must be 'build' or 'bundle', not {forced!r}")
    return "build" if _in_checkout() else "bundle"


def _in_checkout() -> bool:
    return (ROOT / "ape-config.yaml").is_file() and (ROOT / "contracts").is_dir()


@lru_cache(maxsize=1)
def _project() -> Any:
    """Ape's project for the checkout (the current directory's when that is the checkout)."""
    from ape import project

    if Path(project.path).resolve() == ROOT:
        return project
    from ape import Project

    return Project(ROOT)


@lru_cache(maxsize=4)
def _bundle(path: Path = BUNDLE) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m ringfence.chain.contracts export` in "
                                f"a checkout with compiled contracts")
    return json.loads(path.read_text())["contractTypes"]


def contract_type(name: str) -> ContractType:
    """The contract type of ``name`` from the source in use (see :func:`source`)."""
    return _contract_type(name, source())


@cache
def _contract_type(name: str, src: str) -> ContractType:
    from ethpm_types import ContractType

    if src == "bundle":
        entry = _bundle().get(name)
        if entry is None:
            raise ContractNotFound(f"no contract {name!r} in {BUNDLE.name} (it holds {', '.join(sorted(_bundle()))})")
        return ContractType.model_validate(entry)
    found = _project().get_contract(name)
    if found is None:
        raise ContractNotFound(f"no contract {name!r} in the project at {ROOT}")
    return found.contract_type


def contract_types() -> dict[str, ContractType]:
    """Every contract type of the source in use, by name (the build: test contracts included)."""
    if source() == "bundle":
        return {name: contract_type(name) for name in sorted(_bundle())}
    return {str(ct.name): ct for ct in _project().contracts.values()}


def container(name: str) -> Any:
    """An Ape ``ContractContainer`` of ``name`` (to deploy it, or to bind an address with
    :func:`ringfence.abi.at`): the project's own for the build (it knows the sources, for Ape's
    tracebacks), one built from the bundled type otherwise."""
    return _container(name, source())


@cache
def _container(name: str, src: str) -> Any:
    contract = _contract_type(name, src)  # the same lookup and error as for a type
    if src == "build":
        return _project().get_contract(name)
    from ape.contracts import ContractContainer

    return ContractContainer(contract)


def abi(contract: str, names: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The JSON ABI of ``contract`` (only the entries named in ``names`` when given)."""
    return [entry.model_dump(mode="json", by_alias=True, exclude_none=True)
            for entry in contract_type(contract).abi
            if names is None or getattr(entry, "name", None) in names]


# The contract errors (their ABIs and @notice messages, ringfence.errors) come from the same source.
use_contract_types(lambda: contract_types().values())


# ------------------------------------------------------------------ encoders and names
def _named(contract: str, kind: str, name: str, n_inputs: int | None) -> Any:
    entries = [e for e in contract_type(contract).abi
               if e.type == kind and getattr(e, "name", None) == name
               and (n_inputs is None or len(e.inputs) == n_inputs)]
    if len(entries) != 1:
        what = f"{contract}.{name}" + ("" if n_inputs is None else f" with {n_inputs} inputs")
        if not entries:
            raise ContractNotFound(f"no {kind} {what} in the ABI")
        shapes = ", ".join(signature(e) for e in entries)
        raise LookupError(f"{what} is overloaded ({shapes}): pass n_inputs")
    return entries[0]


def method(contract: str, name: str, n_inputs: int | None = None) -> Any:
    """The ``MethodABI`` of ``contract.name`` (an overload chosen by its number of inputs)."""
    return _named(contract, "function", name, n_inputs)


def canonical_type(param: ABIType | dict[str, Any]) -> str:
    """The canonical ABI type of a parameter, tuples expanded: ``(uint128,bool)``, ``(address,uint8)[][]``.
    (ethpm_types' ``canonical_type`` keeps one ``[]`` of ``tuple[][]``.)"""
    data = param if isinstance(param, dict) else param.model_dump(mode="json", by_alias=True, exclude_none=True)
    return str(collapse_if_tuple(data))


def signature(entry: Any) -> str:
    """``name(type,...)`` of a function, error or event ABI entry, in canonical types."""
    return f"{entry.name}({','.join(canonical_type(p) for p in entry.inputs)})"


def fn(contract: str, name: str, n_inputs: int | None = None) -> Fn:
    """The raw encoder of ``contract.name``: canonical input and output types from the ABI (tuples
    expanded), its selector checked against the one eth_utils computes from the ABI entry."""
    return _fn(contract, name, n_inputs, source())


@cache
def _fn(contract: str, name: str, n_inputs: int | None, src: str) -> Fn:
    entry = method(contract, name, n_inputs)
    encoder = Fn(name, [canonical_type(t) for t in entry.inputs], [canonical_type(t) for t in entry.outputs])
    expected = function_abi_to_4byte_selector(entry.model_dump(mode="json", by_alias=True, exclude_none=True))
    if encoder.selector != expected:
        raise AssertionError(f"{contract}.{encoder.signature}: selector 0x{encoder.selector.hex()} is not "
                             f"the ABI's 0x{expected.hex()}")
    return encoder


def error_selector(contract: str, name: str) -> bytes:
    """The 4-byte selector of custom error ``name`` declared in ``contract``'s ABI."""
    return keccak(text=signature(_named(contract, "error", name, None)))[:4]


def event_topic(contract: str, name: str) -> bytes:
    """The first topic (the signature's hash) of event ``name`` of ``contract``."""
    return keccak(text=signature(_named(contract, "event", name, None)))


def struct_fields(contract: str, function: str, arg: int | str = "output", n_inputs: int | None = None,
                  *, types: ContractType | None = None) -> list[str]:
    """The component names of a tuple parameter of ``contract.function``: input number ``arg``, or its
    (first) output with ``arg="output"``. ``types``: read that contract type instead of the source's."""
    params = _params(contract, function, arg, n_inputs, types)
    components = params.components
    if not components:
        raise TypeError(f"{contract}.{function} {arg}: {canonical_type(params)} is not a tuple")
    return [str(c.name) for c in components]


def _params(contract: str, function: str, arg: int | str, n_inputs: int | None,
            types: ContractType | None) -> ABIType:
    if types is None:
        entry = method(contract, function, n_inputs)
    else:
        entry = next(e for e in types.abi if e.type == "function" and getattr(e, "name", None) == function
                     and (n_inputs is None or len(e.inputs) == n_inputs))
    if arg == "output":
        return entry.outputs[0]
    if isinstance(arg, int):
        return entry.inputs[arg]
    raise ValueError(f"arg is an input index or 'output', not {arg!r}")


# ------------------------------------------------------------------ the bundle
_EMBEDDED_METADATA = re.compile(r"a2646970667358221220[0-9a-f]{64}64736f6c6343[0-9a-f]{6}0033")


def strip_metadata(bytecode: str) -> str:
    """Bytecode (hex) without solc's CBOR metadata: the trailer, whose length is in the last two bytes,
    and the trailers of creation code embedded in it (a factory carries the code it deploys). The
    metadata hashes the sources' paths and NatSpec: it differs between checkouts of one commit."""
    code = bytecode.removeprefix("0x").lower()
    if len(code) >= 4:
        length = int(code[-4:], 16)
        start = len(code) - (length + 2) * 2
        if 0 < length and start >= 0 and code[start:start + 2] in ("a1", "a2", "a3"):  # a CBOR map
            code = code[:start]
    return "0x" + _EMBEDDED_METADATA.sub(lambda m: "0" * len(m.group(0)), code)


def bundle_entry(contract: ContractType) -> dict[str, Any]:
    """What the bundle keeps of one contract type."""
    data = contract.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {key: data[key] for key in BUNDLE_FIELDS if key in data}


def bundled_names(types: dict[str, ContractType]) -> list[str]:
    """The contracts the bundle holds: ``contracts/`` outside ``contracts/test/``, and :data:`MOCKS`."""
    return sorted(name for name, ct in types.items()
                  if name in MOCKS or not str(ct.source_id or "").startswith("contracts/test/"))


def read_bundle(path: str | Path = BUNDLE) -> dict[str, dict[str, Any]]:
    """The bundle's entries by contract name (what :func:`bundle_entry` keeps of each)."""
    return _bundle(Path(path).resolve())


def bundle_differences(path: str | Path = BUNDLE) -> list[str]:
    """How the bundle differs from the checkout's build: contracts missing or extra, and per contract
    the ABI, NatSpec or bytecode (compared without metadata, see :func:`strip_metadata`). Empty when
    the bundle is current."""
    types = _build_types()
    bundle = read_bundle(path)
    expected = bundled_names(types)
    out = [f"{name}: not in the bundle" for name in expected if name not in bundle]
    out += [f"{name}: in the bundle, not a bundled contract of the build" for name in bundle if name not in expected]
    for name in expected:
        if name not in bundle:
            continue
        built, kept = bundle_entry(types[name]), bundle[name]
        for key in BUNDLE_FIELDS:
            a, b = built.get(key), kept.get(key)
            if key.endswith("Bytecode"):
                a, b = (strip_metadata((x or {}).get("bytecode") or "") for x in (a, b))
            if a != b:
                out.append(f"{name}: {key} differs")
    return out


def _build_types() -> dict[str, ContractType]:
    if not _in_checkout():
        raise RuntimeError("the build is a checkout's: run this in the Ringfence repository")
    return {str(ct.name): ct for ct in _project().contracts.values()}


def export(out_path: str | Path = BUNDLE) -> Path:
    """Writes the bundle from the checkout's build (compiling what changed, as Ape does)."""
    types = _build_types()
    missing = [name for name in MOCKS if name not in types]
    if missing:
        raise RuntimeError(f"the build lacks {', '.join(missing)}: compile the contracts (make compile)")
    bundle = {"contractTypes": {name: bundle_entry(types[name]) for name in bundled_names(types)}}
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(bundle, indent=1, sort_keys=True) + "\n")
    _bundle.cache_clear()
    _contract_type.cache_clear()
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m ringfence.chain.contracts export|check [PATH]``: write the bundle, or list how it
    differs from the build (exit status 1 when it does)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("export", "check") or len(args) > 2:
        print("usage: python -m ringfence.chain.contracts export|check [PATH]", file=sys.stderr)
        return 2
    path = Path(args[1]) if len(args) > 1 else BUNDLE
    if args[0] == "check":
        differences = bundle_differences(path)
        for line in differences:
            print(line)
        if differences:
            print(f"{path} is stale: run `python -m ringfence.chain.contracts export`", file=sys.stderr)
        return 1 if differences else 0
    out = export(path)
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {', '.join(read_bundle(out))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

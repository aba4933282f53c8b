"""Compiled bench-only contracts, built with the repo's solc-js shim and cached under ``.build/bench/``.

Two compilations, each with the settings its code ships with:

* **Morpho Blue 1.0.0** (``Morpho``, and the package's ``IrmMock`` as the market's rate model) from
  ``node_modules/@morpho-org/morpho-blue/src`` with solc 0.8.19 (npm alias ``solc-0.8.19``), via-IR,
  optimizer 999,999 runs, EVM paris, no metadata hash — Morpho Blue's ``foundry.toml`` (the npm
  package ships no build config).
* **The feed and the Morpho-side bench contracts**: Chainlink's ``MockV3Aggregator`` and its aggregator
  proxy (``DataFeedsLegacyAggregatorProxy``, the phase-aware proxy mainnet feeds sit behind), plus
  ``contracts/test/bench/MorphoChainlinkOracle.sol`` (the oracle adapter) and
  ``contracts/test/bench/MorphoBundler.sol`` (the bundler), with solc 0.8.37 and the project's own settings
  (``ape-config.yaml``: via-IR, its optimizer runs and EVM version). The proxy is pinned to
  ``pragma solidity 0.8.26`` and no 0.8.26 compiler is installed: its pragma is relaxed to ``^0.8.26``
  in the compiler input only (the file in node_modules is untouched), nothing else changes.

Nothing here needs Ape's project compile, so the Morpho side builds even while the project does not.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ringfence.paths import ROOT

NODE_MODULES = ROOT / "node_modules"
CACHE_DIR = ROOT / ".build" / "bench"
SOLCX = ROOT / ".solcx"

MORPHO_SRC = "@morpho-org/morpho-blue/src/Morpho.sol"
IRM_MOCK_SRC = "@morpho-org/morpho-blue/src/mocks/IrmMock.sol"
EVENTS_LIB_SRC = "@morpho-org/morpho-blue/src/libraries/EventsLib.sol"
MOCK_V3_SRC = "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol"
PROXY_SRC = "@chainlink/contracts/src/v0.8/data-feeds/test/helpers/DataFeedsLegacyAggregatorProxy.sol"
ADAPTER_SRC = "contracts/test/bench/MorphoChainlinkOracle.sol"
BUNDLER_SRC = "contracts/test/bench/MorphoBundler.sol"

MORPHO_SETTINGS: dict[str, Any] = {
    "viaIR": True,
    "optimizer": {"enabled": True, "runs": 999_999},
    "evmVersion": "paris",
    "metadata": {"bytecodeHash": "none"},
}

_OUTPUT = {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}}


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what web3.py and Ape need to deploy and call it."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # creation code, 0x-prefixed
    runtime: str  # deployed code, 0x-prefixed
    compiler: str
    settings: dict[str, Any]

    def ape_container(self) -> Any:
        """An Ape ``ContractContainer`` (deployable with ``account.deploy``) on any provider."""
        from ape.contracts import ContractContainer
        from ethpm_types import ContractType

        return ContractContainer(ContractType.model_validate({
            "contractName": self.name,
            "abi": self.abi,
            "deploymentBytecode": {"bytecode": self.bytecode},
            "runtimeBytecode": {"bytecode": self.runtime},
        }))


class CompileError(RuntimeError):
    pass


def _project_solidity_settings() -> dict[str, Any]:
    """The project's own compiler settings (ape-config.yaml ``solidity:``) as standard-JSON settings."""
    import yaml

    cfg = yaml.safe_load((ROOT / "ape-config.yaml").read_text()).get("solidity", {})
    return {
        "viaIR": bool(cfg.get("via_ir", False)),
        "optimizer": {"enabled": bool(cfg.get("optimize", True)), "runs": int(cfg.get("optimization_runs", 200))},
        "evmVersion": str(cfg.get("evm_version", "prague")),
    }


def _shim(version: str) -> Path:
    path = SOLCX / f"solc-v{version}"
    if not path.exists():
        raise CompileError(f"{path} missing: run `make install` (tools/setup.sh links the solc-js shim)")
    return path


def _lock_digest() -> str:
    lock = ROOT / "package-lock.json"
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16] if lock.exists() else "nolock"


def _compile(version: str, sources: dict[str, dict[str, str]], settings: dict[str, Any], tag: str,
             force: bool = False) -> dict[str, Any]:
    """Standard-JSON compile through the shim, cached by the input, the compiler and the lockfile."""
    payload = {"language": "Solidity", "sources": sources,
               "settings": {**settings, "outputSelection": _OUTPUT}}
    text = json.dumps(payload, sort_keys=True)
    key = hashlib.sha256(f"{version}\n{_lock_digest()}\n{text}".encode()).hexdigest()[:20]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cache = CACHE_DIR / f"{tag}-{key}.json"
    if cache.exists() and not force:
        return json.loads(cache.read_text())
    proc = subprocess.run(
        [str(_shim(version)), "--standard-json", "--base-path", str(ROOT)],
        input=text, capture_output=True, text=True, cwd=ROOT, check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise CompileError(f"solc {version} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    for old in CACHE_DIR.glob(f"{tag}-*.json"):
        old.unlink()
    cache.write_text(json.dumps(out))
    return out


def _read(unit: str) -> str:
    return (NODE_MODULES / unit).read_text()


def _pick(out: dict[str, Any], unit: str, name: str, version: str, settings: dict[str, Any]) -> Artifact:
    c = out["contracts"][unit][name]
    return Artifact(
        name=name,
        abi=c["abi"],
        bytecode="0x" + c["evm"]["bytecode"]["object"],
        runtime="0x" + c["evm"]["deployedBytecode"]["object"],
        compiler=version,
        settings=settings,
    )


def morpho_artifacts(force: bool = False) -> dict[str, Artifact]:
    """``Morpho`` and ``IrmMock`` from Morpho Blue 1.0.0, with Morpho Blue's own compiler settings."""
    version = "0.8.19"
    sources = {MORPHO_SRC: {"content": _read(MORPHO_SRC)}, IRM_MOCK_SRC: {"content": _read(IRM_MOCK_SRC)}}
    out = _compile(version, sources, MORPHO_SETTINGS, "morpho-blue-1.0.0", force)
    morpho = _pick(out, MORPHO_SRC, "Morpho", version, MORPHO_SETTINGS)
    # Morpho emits its events from the EventsLib library; solc 0.8.19 leaves library events out of the
    # contract's ABI (0.8.20+ includes them): add them so receipts decode.
    events = out["contracts"].get(EVENTS_LIB_SRC, {}).get("EventsLib", {}).get("abi", [])
    names = {e.get("name") for e in morpho.abi if e.get("type") == "event"}
    morpho = replace(morpho, abi=morpho.abi + [e for e in events if e.get("type") == "event" and e["name"] not in names])
    return {
        "Morpho": morpho,
        "IrmMock": _pick(out, IRM_MOCK_SRC, "IrmMock", version, MORPHO_SETTINGS),
    }


def feed_artifacts(force: bool = False) -> dict[str, Artifact]:
    """Chainlink's ``MockV3Aggregator`` and aggregator proxy, the Morpho oracle adapter and the Morpho
    bundler (solc 0.8.37)."""
    version = "0.8.37"
    settings = _project_solidity_settings()
    proxy = re.sub(r"pragma solidity 0\.8\.26;", "pragma solidity ^0.8.26;", _read(PROXY_SRC), count=1)
    sources = {
        MOCK_V3_SRC: {"content": _read(MOCK_V3_SRC)},
        PROXY_SRC: {"content": proxy},
        ADAPTER_SRC: {"content": (ROOT / ADAPTER_SRC).read_text()},
        BUNDLER_SRC: {"content": (ROOT / BUNDLER_SRC).read_text()},
    }
    out = _compile(version, sources, settings, "feeds", force)
    return {
        "MockV3Aggregator": _pick(out, MOCK_V3_SRC, "MockV3Aggregator", version, settings),
        "AggregatorProxy": _pick(out, PROXY_SRC, "DataFeedsLegacyAggregatorProxy", version, settings),
        "MorphoChainlinkOracle": _pick(out, ADAPTER_SRC, "MorphoChainlinkOracle", version, settings),
        "MorphoBundler": _pick(out, BUNDLER_SRC, "MorphoBundler", version, settings),
    }


def all_artifacts(force: bool = False) -> dict[str, Artifact]:
    return {**morpho_artifacts(force), **feed_artifacts(force)}

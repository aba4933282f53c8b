"""Builds (and caches) the test-only BatchOpener artifact from BatchOpener.sol with the project's
solc (the solc-js shim in .solcx). The JSON artifact is kept next to the source, keyed by its hash,
so test runs do not compile unless the source changed."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE / "BatchOpener.sol"
ARTIFACT = HERE / "BatchOpener.json"
ROOT = HERE.parents[2]


def _solc() -> Path:
    return ROOT / ".solcx" / "solc-v0.8.37"


def source_hash() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def build() -> dict:
    """The artifact ``{"source_sha256", "abi", "bytecode", "runtime"}``, compiled if stale."""
    digest = source_hash()
    if ARTIFACT.exists():
        data = json.loads(ARTIFACT.read_text())
        if data.get("source_sha256") == digest:
            return data
    request = {
        "language": "Solidity",
        "sources": {"BatchOpener.sol": {"content": SOURCE.read_text()}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "prague",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    out = subprocess.run([str(_solc()), "--standard-json"], input=json.dumps(request),
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError(f"BatchOpener.sol does not compile: {errors}")
    contract = result["contracts"]["BatchOpener.sol"]["BatchOpener"]
    data = {
        "source_sha256": digest,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "runtime": "0x" + contract["evm"]["deployedBytecode"]["object"],
    }
    ARTIFACT.write_text(json.dumps(data, indent=1) + "\n")
    return data


def contract_container():
    """An ape ContractContainer of BatchOpener, ready for ``account.deploy``."""
    from ape.contracts import ContractContainer
    from ethpm_types import ContractType

    data = build()
    contract_type = ContractType.model_validate({
        "contractName": "BatchOpener",
        "sourceId": "tests/keeper/helpers/BatchOpener.sol",
        "abi": data["abi"],
        "deploymentBytecode": {"bytecode": data["bytecode"]},
        "runtimeBytecode": {"bytecode": data["runtime"]},
    })
    return ContractContainer(contract_type)


if __name__ == "__main__":
    print(ARTIFACT, build()["source_sha256"])

"""The solc standard-JSON input for Ringfence's own contracts, with Ape's compiler settings.

Standard library only: both the project venv (coverage) and slither's own venv import it.
The settings (version, evm_version, optimizer runs, via-IR, import remappings) are read from
ape-config.yaml, so slither and the coverage source maps see what `ape compile` builds.

    python tools/analysis/solc_input.py [--all] > input.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIM_DIR = ROOT / ".solcx"


def ape_solidity_settings(root: Path = ROOT) -> dict:
    """The `solidity:` block of ape-config.yaml (a flat reader: no YAML library in slither's venv)."""
    text = (root / "ape-config.yaml").read_text()
    block = re.search(r"^solidity:\n((?:[ \t]+.*\n|\n)*)", text, re.M)
    if not block:
        raise SystemExit("ape-config.yaml has no solidity: block")
    body = block.group(1)

    def scalar(key: str, default: str | None = None) -> str | None:
        m = re.search(rf"^\s+{key}:\s*([^\n#]+)", body, re.M)
        return m.group(1).strip().strip("\"'") if m else default

    remaps = re.findall(r"^\s+-\s*[\"']?([^\"'\n=]+=[^\"'\n]+)[\"']?\s*$", body, re.M)
    return {
        "version": scalar("version"),
        "evm_version": scalar("evm_version", "prague"),
        "optimize": (scalar("optimize", "true") or "true").lower() == "true",
        "runs": int(scalar("optimization_runs", "200") or 200),
        "via_ir": (scalar("via_ir", "false") or "false").lower() == "true",
        "remappings": remaps,
    }


def protocol_sources(root: Path = ROOT, include_tests: bool = False) -> list[str]:
    """contracts/**.sol relative to the project, without contracts/test and contracts/.cache."""
    out = []
    for p in sorted((root / "contracts").rglob("*.sol")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith("contracts/.cache/"):
            continue
        if rel.startswith("contracts/test/") and not include_tests:
            continue
        out.append(rel)
    return out


def standard_input(
    sources: list[str] | None = None,
    outputs: list[str] | None = None,
    root: Path = ROOT,
    inline: dict[str, str] | None = None,
) -> dict:
    """A standard-JSON input. `inline` adds sources given as text (tests use it for tiny contracts)."""
    cfg = ape_solidity_settings(root)
    srcs = {s: {"content": (root / s).read_text()} for s in (protocol_sources(root) if sources is None else sources)}
    for name, text in (inline or {}).items():
        srcs[name] = {"content": text}
    settings: dict = {
        "evmVersion": cfg["evm_version"],
        "optimizer": {"enabled": cfg["optimize"], "runs": cfg["runs"]},
        "viaIR": cfg["via_ir"],
        "remappings": cfg["remappings"],
        "outputSelection": {
            "*": {
                "*": outputs
                or ["abi", "evm.bytecode", "evm.deployedBytecode", "metadata", "devdoc", "userdoc"],
                "": ["ast"],
            }
        },
    }
    return {"language": "Solidity", "sources": srcs, "settings": settings}


def compiler_path(root: Path = ROOT) -> Path:
    version = ape_solidity_settings(root)["version"]
    return root / ".solcx" / f"solc-v{version}"


if __name__ == "__main__":
    json.dump(standard_input(protocol_sources(include_tests="--all" in sys.argv)), sys.stdout)

"""The ABIs of the compiled contracts as plain JSON files, for front ends and other tools.

``make abi`` runs ``python -m ringfence.deploy abi abi`` (:func:`main`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ringfence.chain.deployments import write_json

__all__ = ["export_abis", "main"]


def export_abis(out_dir: str | Path = "abi", deployments_dir: str | Path = "deployments") -> list[Path]:
    """Writes one ``<Contract>.json`` ABI per compiled contract of the project into ``out_dir``
    (test doubles from ``contracts/test/`` into ``out_dir/test/``), an ``index.json`` (name -> ABI
    file and source) and copies of the deployments files in ``out_dir/deployments/``. Returns the
    files written."""
    from ape import project  # lazily: ape's managers load every Ape plugin when first imported

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index: dict[str, dict[str, str | None]] = {}
    contract_types = {contract_type.name: contract_type for contract_type in project.contracts.values()}
    for name, contract_type in sorted(contract_types.items()):
        abi = [entry.model_dump(mode="json", by_alias=True, exclude_none=True)
               for entry in contract_type.abi]
        source_id = str(contract_type.source_id or "")
        # Test doubles and benchmarks (contracts/test/) apart from the protocol's contracts.
        target = out / ("test" if "/test/" in f"/{source_id}" else "") / f"{name}.json"
        write_json(target, abi)
        written.append(target)
        index[name] = {"abi": str(target.relative_to(out)), "source": source_id or None}
    write_json(out / "index.json", index)
    written.append(out / "index.json")
    source = Path(deployments_dir)
    if source.is_dir():
        for file in sorted(source.glob("*.json")):
            target = out / "deployments" / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.read_text())
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m ringfence.deploy abi [OUT_DIR]`` (what ``make abi`` runs)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "abi" or len(args) > 2:
        print("usage: python -m ringfence.deploy abi [OUT_DIR]", file=sys.stderr)
        return 2
    files = export_abis(args[1] if len(args) > 1 else "abi")
    print(f"wrote {len(files)} files to {args[1] if len(args) > 1 else 'abi'}/")
    return 0

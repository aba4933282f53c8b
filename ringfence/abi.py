"""Standard ABIs the SDK needs for contracts that are not Ringfence's own (any ERC-20)."""

from __future__ import annotations

from typing import Any


def _fn(name: str, inputs: list[tuple[str, str]], outputs: list[str], mutable: bool = False) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "stateMutability": "nonpayable" if mutable else "view",
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": t} for t in outputs],
    }


ERC20_ABI: list[dict[str, Any]] = [
    _fn("name", [], ["string"]),
    _fn("symbol", [], ["string"]),
    _fn("decimals", [], ["uint8"]),
    _fn("totalSupply", [], ["uint256"]),
    _fn("balanceOf", [("account", "address")], ["uint256"]),
    _fn("allowance", [("owner", "address"), ("spender", "address")], ["uint256"]),
    _fn("approve", [("spender", "address"), ("value", "uint256")], ["bool"], mutable=True),
    _fn("transfer", [("to", "address"), ("value", "uint256")], ["bool"], mutable=True),
    _fn("transferFrom", [("from", "address"), ("to", "address"), ("value", "uint256")], ["bool"], True),
]

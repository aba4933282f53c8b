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


def at(container: Any, address: Any) -> Any:
    """``container.at(address)``, trusting the container's contract type over Ape's address cache.

    Ape keeps the first contract type it saw at an address and detects EIP-1167 clones as proxies of
    their implementation. On a local chain that reverts snapshots, one address can hold a pool in one
    test and a vault in the next, and a vault is a clone: ``PositionVault.at(vault)`` could come back
    typed as whatever the cache remembered. Binding with ``replace=True`` and no proxy detection
    gives the type the caller asked for, and stores it for event decoding.
    """
    from ape import chain

    return chain.contracts.instance_at(
        address, contract_type=container.contract_type, replace=True, fetch_from_explorer=False,
        detect_proxy=False)

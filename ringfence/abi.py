"""The ERC-20 ABI the SDK uses for any settlement token (not only Ringfence's mock), and :func:`at`.

``ERC20_ABI`` is OpenZeppelin's ERC-20 as compiled into ``MockERC20``: the standard functions and
events, taken from the compiled contract type (:mod:`ringfence.chain.contracts`), never typed here.
"""

from __future__ import annotations

from typing import Any

from ringfence.chain.contracts import abi

ERC20_ENTRIES = ("name", "symbol", "decimals", "totalSupply", "balanceOf", "allowance", "approve", "transfer",
                 "transferFrom", "Transfer", "Approval")
"""The entries of the ERC-20 standard (EIP-20 with the optional metadata functions)."""


def erc20_abi() -> list[dict[str, Any]]:
    """The standard ERC-20 ABI (functions and events), from the compiled ``MockERC20``."""
    return abi("MockERC20", ERC20_ENTRIES)


def __getattr__(name: str) -> Any:
    if name == "ERC20_ABI":  # read on first use: the contract types load with Ape
        return erc20_abi()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

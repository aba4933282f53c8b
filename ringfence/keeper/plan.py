"""Packing confirmed vaults into ``Liquidator.liquidateBatch`` transactions (pure, no chain)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["Batches", "chunk_batches", "count_vaults", "split_batches", "vaults_per_tx"]

Batches = list[tuple[str, list[str]]]
"""One transaction's argument: ``[(pool, [vault, ...]), ...]`` (``ILiquidator.Batch[]``)."""


def count_vaults(batches: Batches) -> int:
    return sum(len(vaults) for _, vaults in batches)


def vaults_per_tx(batch_size: int, gas_cap: int, gas_per_vault: int, base_gas: int = 0) -> int:
    """How many vaults one transaction may carry: at most ``batch_size`` and, by the gas estimate
    per vault, no more than fits under ``gas_cap`` (at least one)."""
    by_gas = (gas_cap - base_gas) // max(1, gas_per_vault)
    return max(1, min(batch_size, by_gas))


def chunk_batches(confirmed: Mapping[str, Sequence[str]], max_vaults: int) -> list[Batches]:
    """Transactions of at most ``max_vaults`` vaults each, pools in the given order; a pool's vaults
    may span several transactions and one transaction may carry several pools."""
    if max_vaults < 1:
        raise ValueError("max_vaults must be >= 1")
    txs: list[Batches] = []
    current: Batches = []
    room = max_vaults
    for pool, vaults in confirmed.items():
        vaults = list(vaults)
        while vaults:
            take, vaults = vaults[:room], vaults[room:]
            current.append((pool, take))
            room -= len(take)
            if room == 0:
                txs.append(current)
                current, room = [], max_vaults
    if current:
        txs.append(current)
    return txs


def split_batches(batches: Batches) -> tuple[Batches, Batches]:
    """Two halves of one transaction's batches (by vault count), for a transaction over the gas cap."""
    total = count_vaults(batches)
    if total < 2:
        raise ValueError("cannot split a single vault")
    half = total // 2
    first: Batches = []
    second: Batches = []
    seen = 0
    for pool, vaults in batches:
        if seen >= half:
            second.append((pool, list(vaults)))
        elif seen + len(vaults) <= half:
            first.append((pool, list(vaults)))
        else:
            cut = half - seen
            first.append((pool, list(vaults[:cut])))
            second.append((pool, list(vaults[cut:])))
        seen += len(vaults)
    return first, second

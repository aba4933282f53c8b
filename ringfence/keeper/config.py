"""The keeper's settings and where it finds the protocol (a deployments file or explicit addresses)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

__all__ = ["KeeperConfig", "NoDeployment", "resolve_deployment"]


class NoDeployment(ValueError):
    """No Ringfence deployment where the keeper looked; ``path`` is the deployments file read."""

    def __init__(self, message: str, path: Path | None = None):
        super().__init__(message)
        self.path = path


@dataclass
class KeeperConfig:
    """How the keeper indexes, decides and sends."""

    batch_size: int = 100
    """At most this many vaults per ``Lens.liquidatable`` call and per liquidation transaction."""
    max_gas: int | None = None
    """Gas cap per liquidation transaction (``None``: ``gas_cap_ratio`` × the block gas limit; never
    above the block gas limit)."""
    gas_cap_ratio: float = 0.5
    gas_margin: float = 1.25
    """The gas limit sent is the estimate times this (room for a state change before inclusion)."""
    chunk_size: int = 2_000
    """Blocks per ``eth_getLogs`` request while catching up."""
    horizon: int = 3_600
    """Seconds ahead of the chain's clock at which liquidation prices are keyed (fee drift)."""
    horizon_lead: int = 600
    """Re-key when the chain's clock comes within this many seconds of the horizon."""
    confirmations: int = 0
    """Index and decide on the head minus this many blocks (reorg safety on live chains)."""
    dry_run: bool = False
    """Decide and confirm, log what would be sent, send nothing."""
    estimate_gas: bool | None = None
    """Size each transaction's gas limit with ``eth_estimateGas`` (times ``gas_margin``); ``None``:
    yes, except on the embedded py-evm chain (where estimation is a slow binary search), which uses
    the gas model alone."""
    gas_per_tx: int = 60_000
    gas_per_market: int = 250_000
    gas_per_vault: int = 100_000
    """The gas model, an upper bound per transaction: ``gas_per_tx + gas_per_market * markets +
    gas_per_vault * vaults`` (measured: ~150k for a market's first vault, ~36-47k per further vault;
    raised by half whenever a transaction uses more than 80 % of it, doubled when one fails without a
    named error). It packs transactions under the cap and is the gas limit sent when estimates are off."""
    settle_gas: int = 400_000
    """Gas limit of a ``settleDeposit`` / ``settleRedeem`` transaction (they use ~100k)."""
    shard: tuple[int, int] | None = None
    """``(i, n)``: act first on the vaults whose address hash mod ``n`` is ``i`` (:mod:`ringfence.keeper.shard`);
    None: every vault is this keeper's."""
    shard_grace: int = 30
    """Seconds (chain time) a vault of another shard must have been liquidatable before this keeper takes it."""

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.horizon_lead >= self.horizon:
            raise ValueError("horizon_lead must be shorter than the horizon")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        if self.shard is not None and not (self.shard[1] >= 1 and 0 <= self.shard[0] < self.shard[1]):
            raise ValueError("shard (i, n) needs 0 <= i < n")
        if self.shard_grace < 0:
            raise ValueError("shard_grace must be >= 0")


def resolve_deployment(*, factory: str | None = None, deployments: str | Path | None = None,
                       lens: str | None = None, start_block: int | None = None,
                       provider: Any = None) -> tuple[str, str | None, int]:
    """``(factory, lens, start_block)`` from explicit options, else from a deployments file
    (``deployments/<ecosystem>-<network>.json`` of :mod:`ringfence.chain.deployments` by default). The start
    block defaults to the block the factory was deployed in (0 when unknown). A deployments file
    without a factory raises :class:`NoDeployment` (its message says what to run)."""
    from ringfence.chain.deployments import (
        default_deployments_path,
        load_deployments,
        no_deployment_message,
    )

    data: dict[str, Any] = {}
    if deployments is not None or factory is None:
        path = Path(deployments) if deployments is not None else default_deployments_path(provider)
        data = load_deployments(path)
    contracts = data.get("contracts", {})
    if factory is None:
        factory = contracts.get("PoolFactory", {}).get("address")
        if not factory:
            raise NoDeployment(no_deployment_message(provider, path), path)
    if lens is None and contracts.get("Lens", {}).get("address"):
        lens = contracts["Lens"]["address"]
    if start_block is None:
        record = contracts.get("PoolFactory", {})
        same = record.get("address") and str(record["address"]).lower() == str(factory).lower()
        start_block = int(record.get("block") or 0) if same else 0
    return to_checksum_address(factory), (to_checksum_address(lens) if lens else None), int(start_block)

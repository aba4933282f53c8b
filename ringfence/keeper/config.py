"""The keeper's settings and where it finds the protocol (a deployments file or explicit addresses)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

__all__ = ["KeeperConfig", "NoDeployment", "resolve_deployment", "resolve_guard", "top_up_gas_cost"]


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
    guard: str | None = None
    """The factory's MarginGuard: with one, each pass tops up the vaults below their policy's trigger
    (``topUpBatch``) before it liquidates (:mod:`ringfence.keeper.topup`); None: no top-up pass."""
    top_up_gas: int = 100_000
    """Gas of one more top-up inside a ``topUpBatch``, for packing and for the fee-against-gas check
    (measured: ~82k per vault in a batch of 49)."""
    top_up_gas_per_batch: int = 150_000
    """Gas a ``topUpBatch`` needs besides ``gas_per_tx`` and ``top_up_gas`` a vault (the first vault's cold
    reads and the executor's first fee receipt: a single top-up takes ~154k-176k with the transaction's
    base). The gas limit sent is ``gas_per_tx + top_up_gas_per_batch + top_up_gas * vaults`` unless
    estimated; a batch that tops up fewer vaults than its simulation near its gas limit doubles ``top_up_gas``."""
    gas_price: int | None = None
    """Wei per gas for the fee-against-gas check (None: the chain's current gas price)."""
    native_price_wad: int | None = None
    """Settlement tokens per native coin (WAD, whole units: 3,000 USDC per ETH is ``3000 * 10**18``): a
    top-up is sent only when its fee pays for ``top_up_gas`` at ``gas_price`` (None: fees are not weighed
    against gas, every due top-up is sent)."""

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
        if self.top_up_gas < 1 or self.top_up_gas_per_batch < 0:
            raise ValueError("top_up_gas must be >= 1 and top_up_gas_per_batch >= 0")
        if (self.gas_price is not None and self.gas_price < 0) or (self.native_price_wad or 0) < 0:
            raise ValueError("gas_price and native_price_wad must be >= 0")
        if self.guard is not None:
            self.guard = to_checksum_address(self.guard)


def top_up_gas_cost(gas: int, gas_price_wei: int, native_price_wad: int, decimals: int) -> int:
    """What ``gas`` at ``gas_price_wei`` costs in units of a settlement token with ``decimals`` decimals
    priced ``native_price_wad`` tokens per native coin, rounded up (against the top-up)."""
    numerator = gas * gas_price_wei * native_price_wad * 10**decimals
    return -(-numerator // 10**36)


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


def resolve_guard(*, factory: str, guard: str | None = None, deployments: str | Path | None = None,
                  provider: Any = None) -> str | None:
    """The MarginGuard the keeper tops up through: ``guard`` when given, else the deployments file's
    ``contracts.MarginGuard`` (default file as :func:`resolve_deployment`) when that file records the
    same factory; None when there is none (an older deployments file, or no file: no top-up pass)."""
    if guard:
        return to_checksum_address(guard)
    from ringfence.chain.deployments import default_deployments_path, load_deployments

    try:
        path = Path(deployments) if deployments is not None else default_deployments_path(provider)
        contracts = load_deployments(path).get("contracts", {})
    except Exception:  # noqa: BLE001 - no file, or one without a guard: no top-up pass
        return None
    recorded = contracts.get("PoolFactory", {}).get("address")
    address = contracts.get("MarginGuard", {}).get("address")
    if not address or not recorded or str(recorded).lower() != str(factory).lower():
        return None
    return to_checksum_address(address)

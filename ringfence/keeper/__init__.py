"""Ringfence's liquidation keeper: an event-built index of open vaults ordered by liquidation price,
on-chain confirmation through the Lens and gas-sized ``Liquidator.liquidateBatch`` transactions; it
also settles the LPs' pending deposit and redemption requests after each new oracle round.

* :mod:`ringfence.keeper.index` — the chain-free index (:class:`VaultIndex`, :class:`MarketIndex`);
* :mod:`ringfence.keeper.plan` — packing vaults into transactions;
* :mod:`ringfence.keeper.policies` and :mod:`ringfence.keeper.topup` — the MarginGuard's policies, indexed
  from its events, and the top-up pass that runs before the liquidations when there is a guard;
* :mod:`ringfence.keeper.keeper` — :class:`Keeper`, the chain-facing loop (``ape run keeper``,
  ``bots/keeper.py``), with :mod:`~ringfence.keeper.settlement` (its LP-request half),
  :mod:`~ringfence.keeper.config` (:class:`KeeperConfig`, where the protocol is),
  :mod:`~ringfence.keeper.report` (what a pass did) and :mod:`~ringfence.keeper.failures`;
* :mod:`ringfence.keeper.settings` — the ``RINGFENCE_KEEPER_*`` environment (pydantic-settings) and
  logging, for the Silverback bot;
* :mod:`ringfence.keeper.ape_run` — ``ape run keeper``;
* :mod:`ringfence.keeper.decision_timing` — :func:`decision_time`, the time the keeper's off-chain decision takes.

Importing this package touches no network.
"""

from ringfence.keeper.config import KeeperConfig, NoDeployment, resolve_deployment
from ringfence.keeper.failures import describe_error
from ringfence.keeper.index import LpRequest, MarketIndex, VaultIndex, VaultRecord
from ringfence.keeper.keeper import Keeper
from ringfence.keeper.plan import chunk_batches, split_batches, vaults_per_tx
from ringfence.keeper.report import SentTx, SettledTx, StepReport

__all__ = [
    "Keeper",
    "KeeperConfig",
    "LpRequest",
    "MarketIndex",
    "NoDeployment",
    "SentTx",
    "SettledTx",
    "StepReport",
    "VaultIndex",
    "VaultRecord",
    "chunk_batches",
    "describe_error",
    "resolve_deployment",
    "split_batches",
    "vaults_per_tx",
]

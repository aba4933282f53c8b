"""`ape run keeper --network <choice> [--once] [--factory 0x… | --deployments file] [--account alias]
[--start-block N] [--batch-size N] [--max-gas N] [--dry-run]`: Ringfence's liquidation keeper.

Indexes open vaults and LP requests from the protocol's events, liquidates the underwater vaults
through the Liquidator in gas-sized batches, settles the LP deposit and redemption requests once an
oracle round published after them allows, and follows new blocks (or runs one pass with --once). The logic
is in ringfence/keeper/ (`ape run keeper --help` lists every option).
"""

from ringfence.keeper.ape_run import cli

__all__ = ["cli"]

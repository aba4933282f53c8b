"""Ringfence's liquidation keeper as a Silverback bot (the same code as `ape run keeper`).

    RINGFENCE_KEEPER_DEPLOYMENTS=deployments/ethereum-mainnet.json \
        silverback run keeper --network ethereum:mainnet:node --account <alias>

Configuration (environment, see ringfence.keeper.settings.KeeperSettings): RINGFENCE_KEEPER_FACTORY
or RINGFENCE_KEEPER_DEPLOYMENTS, RINGFENCE_KEEPER_LENS, RINGFENCE_KEEPER_START_BLOCK,
RINGFENCE_KEEPER_BATCH_SIZE, RINGFENCE_KEEPER_MAX_GAS, RINGFENCE_KEEPER_CONFIRMATIONS,
RINGFENCE_KEEPER_DRY_RUN, RINGFENCE_KEEPER_SHARD (i/n) and RINGFENCE_KEEPER_SHARD_GRACE,
RINGFENCE_KEEPER_METRICS_PORT (Prometheus /metrics and /health; off when unset) and
RINGFENCE_KEEPER_HEALTH_MAX_AGE; for MarginGuard top-ups RINGFENCE_KEEPER_GUARD (default: the deployments
file's contracts.MarginGuard, if any), RINGFENCE_KEEPER_TOP_UPS (0 turns them off),
RINGFENCE_KEEPER_NATIVE_PRICE and RINGFENCE_KEEPER_GAS_PRICE_GWEI (skip top-ups whose fee does not pay
their gas) and RINGFENCE_KEEPER_TOP_UP_GAS. The signer is Silverback's (--account, i.e. SILVERBACK_SIGNER_ALIAS);
without one the bot only decides and logs (dry run).

On startup the bot rebuilds its index from the protocol's events (nothing is persisted: a restart is
safe); on every new block it runs one keeper pass: index the block's events, top up the vaults below
their MarginGuard policy's trigger (when there is a guard), find the vaults whose liquidation price the
price crossed, confirm them with the Lens, liquidate them; then settle the LP
deposit and redemption requests that an oracle round published after them made ready (promptly: a
requester must not get to choose the round its request settles on). Passes never
overlap (a block that arrives during a pass is skipped; the next pass covers it).
"""

from __future__ import annotations

import logging
from typing import Any

from ape import chain
from silverback import SilverbackBot

from ringfence.keeper import Keeper
from ringfence.keeper.settings import configure_logging, keeper_from_env

configure_logging()

bot = SilverbackBot()

_keeper: Keeper | None = None


def keeper() -> Keeper:
    """The bot's keeper, built on first use from the environment."""
    global _keeper
    if _keeper is None:
        _keeper = keeper_from_env(account=bot.signer, name=f"silverback:{bot.identifier.name}")
    return _keeper


def catch_up(startup_state: Any = None) -> dict[str, int]:
    """Startup: index every event from the start block to the head."""
    k = keeper()
    k.sync()
    return {"open_vaults": len(k.index), "markets": len(k.index.markets),
            "lp_requests": len(k.index.pending_requests())}


def liquidate_underwater(block: Any) -> dict[str, int]:
    """Every new block: one keeper pass."""
    k = keeper()
    report = k.step()
    busy = report.candidates or report.errors or report.sent or report.settled
    k.log.log(logging.INFO if busy else logging.DEBUG, report.summary())
    return {
        "open_vaults": report.indexed,
        "candidates": sum(len(v) for v in report.candidates.values()),
        "liquidatable": sum(len(v) for v in report.confirmed.values()),
        "transactions": len(report.sent),
        "liquidated": report.liquidated,
        "top_up_candidates": len(report.top_up_candidates),
        "topped_up": report.topped_up,
        "top_up_transactions": len(report.top_ups),
        "lp_requests_pending": report.lp_pending,
        "lp_requests_settled": len(report.settled),
        "errors": len(report.errors),
    }


# Registered with Silverback; the module-level names stay the plain functions (callable in tests).
bot.on_startup()(catch_up)
bot.on_(chain.blocks)(liquidate_underwater)

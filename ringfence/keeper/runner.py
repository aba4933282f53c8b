"""Entry points shared by ``ape run keeper`` (:mod:`ringfence.keeper.cli`) and the Silverback bot
(``bots/keeper.py``): logging set-up, the keeper's settings from the environment, a one-line summary
of a pass."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from ringfence.keeper.keeper import Keeper, KeeperConfig, StepReport, resolve_deployment

__all__ = ["ENV_PREFIX", "configure_logging", "keeper_from_env", "summary"]

ENV_PREFIX = "RINGFENCE_KEEPER_"


def configure_logging(level: str | int = "INFO") -> None:
    """Sets the keeper logger's level (``ringfence.keeper``) and, when nothing would print its
    records (no handler on it or on the root logger), a timestamped console handler."""
    log = logging.getLogger("ringfence.keeper")
    log.setLevel(level if isinstance(level, int) else level.upper())
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        log.addHandler(handler)


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(ENV_PREFIX + name)
    return int(value, 0) if value not in (None, "") else None


def keeper_from_env(account: Any = None, *, env: Mapping[str, str] | None = None, provider: Any = None,
                    name: str = "keeper") -> Keeper:
    """A :class:`Keeper` configured by ``RINGFENCE_KEEPER_*`` variables:

    ``FACTORY`` or ``DEPLOYMENTS`` (default ``deployments/<ecosystem>-<network>.json``), ``LENS``,
    ``START_BLOCK``, ``BATCH_SIZE``, ``MAX_GAS``, ``CONFIRMATIONS``, ``CHUNK_SIZE``, ``HORIZON``,
    ``ESTIMATE_GAS`` (``1``/``0``), ``DRY_RUN`` (``1``: decide and log only; also when there is no
    ``account``).
    """
    env = os.environ if env is None else env
    if provider is None:
        from ape import chain

        provider = chain.provider
    factory, lens, start = resolve_deployment(
        factory=env.get(ENV_PREFIX + "FACTORY") or None,
        deployments=env.get(ENV_PREFIX + "DEPLOYMENTS") or None,
        lens=env.get(ENV_PREFIX + "LENS") or None,
        start_block=_int(env, "START_BLOCK"),
        provider=provider,
    )
    settings: dict[str, Any] = {}
    for key, field in (("BATCH_SIZE", "batch_size"), ("MAX_GAS", "max_gas"), ("CONFIRMATIONS", "confirmations"),
                       ("CHUNK_SIZE", "chunk_size"), ("HORIZON", "horizon")):
        value = _int(env, key)
        if value is not None:
            settings[field] = value
    if (estimate := env.get(ENV_PREFIX + "ESTIMATE_GAS")) not in (None, ""):
        settings["estimate_gas"] = estimate.lower() in ("1", "true", "yes")
    dry = env.get(ENV_PREFIX + "DRY_RUN", "").lower() in ("1", "true", "yes")
    settings["dry_run"] = dry or account is None
    if "horizon" in settings:
        settings["horizon_lead"] = min(KeeperConfig.horizon_lead, settings["horizon"] // 6)
    return Keeper(factory, account=account, lens=lens, start_block=start, config=KeeperConfig(**settings),
                  name=name)


def summary(report: StepReport) -> str:
    """One line for a pass."""
    if report.skipped:
        return "pass skipped (previous one still running)"
    confirmed = sum(len(v) for v in report.confirmed.values())
    candidates = sum(len(v) for v in report.candidates.values())
    line = (f"block {report.block}: {report.indexed} open vaults in the index, {candidates} candidate(s), "
            f"{confirmed} liquidatable, {len(report.sent)} transaction(s), {report.liquidated} liquidated, "
            f"{report.lost_races} lost to other keepers, {len(report.errors)} error(s)")
    if report.lp_pending or report.settled:
        line += (f"; LP requests: {report.lp_pending} pending, {len(report.settled)} settled"
                 + (f", {report.lp_waiting} waiting for free liquidity" if report.lp_waiting else ""))
    return line

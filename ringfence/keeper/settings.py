"""The keeper's settings from the environment (``RINGFENCE_KEEPER_*``), for the Silverback bot
(``bots/keeper.py``), and the keeper logger's set-up shared with ``ape run keeper``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ringfence.keeper.config import KeeperConfig, resolve_deployment, resolve_guard
from ringfence.keeper.keeper import Keeper
from ringfence.keeper.shard import parse_shard

if TYPE_CHECKING:
    from ringfence.keeper.metrics import KeeperMetrics

__all__ = ["ENV_PREFIX", "KeeperOptions", "KeeperSettings", "configure_logging", "keeper_from_env", "start_metrics"]

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


class KeeperOptions(BaseModel):
    """What the keeper's environment can set. Integers accept ``0x`` hex; booleans accept ``1``/``0``,
    ``true``/``false``, ``yes``/``no``."""

    factory: str | None = None
    """The factory's address (else read from the deployments file)."""
    deployments: Path | None = None
    """Deployments file (default ``deployments/<ecosystem>-<network>.json``)."""
    lens: str | None = None
    start_block: int | None = None
    batch_size: int | None = None
    max_gas: int | None = None
    confirmations: int | None = None
    chunk_size: int | None = None
    horizon: int | None = None
    estimate_gas: bool | None = None
    dry_run: bool = False
    shard: str | None = None
    """``i/n``: act first on the vaults whose address hash mod ``n`` is ``i`` (:mod:`ringfence.keeper.shard`)."""
    shard_grace: int | None = None
    """Seconds a vault of another shard must have been liquidatable before this keeper takes it (30)."""
    metrics_port: int | None = None
    """Serve Prometheus metrics and ``/health`` on this port (off when unset)."""
    metrics_host: str = "127.0.0.1"
    health_max_age: float = 60.0
    """``/health`` answers 503 when the last successful pass is older than this many seconds."""
    guard: str | None = None
    """The MarginGuard to top up through (else the deployments file's, when it records the same factory)."""
    top_ups: bool = True
    """Top up the vaults below their policy's trigger before liquidating (when there is a guard)."""
    native_price: Decimal | None = None
    """Settlement tokens per native coin: skip top-ups whose fee does not pay their gas (unset: not weighed)."""
    gas_price_gwei: Decimal | None = None
    """Gwei per gas for that check (unset: the chain's gas price)."""
    top_up_gas: int | None = None

    @field_validator("start_block", "batch_size", "max_gas", "confirmations", "chunk_size", "horizon",
                     "shard_grace", "metrics_port", "top_up_gas", mode="before")
    @classmethod
    def _any_base(cls, value: Any) -> Any:
        return int(value, 0) if isinstance(value, str) else value

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str | None) -> str | None:
        parse_shard(value)
        return value

    def keeper_config(self, *, has_account: bool, guard: str | None = None) -> KeeperConfig:
        """The :class:`KeeperConfig` these settings describe (dry run also when there is no signer;
        ``guard`` the MarginGuard resolved, used unless top-ups are off)."""
        fields = ("batch_size", "max_gas", "confirmations", "chunk_size", "horizon", "estimate_gas", "shard_grace",
                  "top_up_gas")
        settings: dict[str, Any] = {f: getattr(self, f) for f in fields if getattr(self, f) is not None}
        settings["guard"] = (guard or self.guard) if self.top_ups else None
        if self.native_price is not None:
            settings["native_price_wad"] = int(self.native_price * 10**18)
        if self.gas_price_gwei is not None:
            settings["gas_price"] = int(self.gas_price_gwei * 10**9)
        settings["dry_run"] = self.dry_run or not has_account
        settings["shard"] = parse_shard(self.shard)
        if self.horizon is not None:
            settings["horizon_lead"] = min(KeeperConfig.horizon_lead, self.horizon // 6)
        return KeeperConfig(**settings)


class KeeperSettings(KeeperOptions, BaseSettings):
    """:class:`KeeperOptions` read from ``RINGFENCE_KEEPER_<FIELD>`` variables (empty counts as unset)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore")


def keeper_from_env(account: Any = None, *, env: Mapping[str, str] | None = None, provider: Any = None,
                    name: str = "keeper") -> Keeper:
    """A :class:`Keeper` configured by the ``RINGFENCE_KEEPER_*`` variables (:class:`KeeperSettings`;
    ``env`` replaces the process environment when given)."""
    settings: KeeperOptions
    if env is None:
        settings = KeeperSettings()
    else:
        prefixed = {k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX) and v}
        settings = KeeperOptions.model_validate(prefixed)
    if provider is None:
        from ape import chain

        provider = chain.provider
    factory, lens, start = resolve_deployment(factory=settings.factory, deployments=settings.deployments,
                                              lens=settings.lens, start_block=settings.start_block,
                                              provider=provider)
    guard = resolve_guard(factory=factory, guard=settings.guard, deployments=settings.deployments,
                          provider=provider) if settings.top_ups else None
    return Keeper(factory, account=account, lens=lens, start_block=start,
                  config=settings.keeper_config(has_account=account is not None, guard=guard), name=name,
                  metrics=start_metrics(settings.metrics_port, host=settings.metrics_host,
                                        max_age=settings.health_max_age))


def start_metrics(port: int | None, *, host: str = "127.0.0.1", max_age: float = 60.0) -> KeeperMetrics | None:
    """A :class:`KeeperMetrics` serving ``/metrics`` and ``/health`` on ``port`` (None: metrics off)."""
    if port is None:
        return None
    from ringfence.keeper.metrics import KeeperMetrics  # prometheus_client: the `keeper` extra

    metrics = KeeperMetrics(max_age=max_age)
    bound = metrics.serve(port, host)
    logging.getLogger("ringfence.keeper").info("metrics on http://%s:%d/metrics, health on /health", host, bound)
    return metrics

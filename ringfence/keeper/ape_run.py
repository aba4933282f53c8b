"""``ape run keeper``: the liquidation keeper (which also settles LP requests) on any network
(``scripts/keeper.py`` is this command).

::

    ape run keeper --network ethereum:local:foundry --deployments deployments/ethereum-local.json
    ape run keeper --network ethereum:mainnet:node --account keeper --factory 0x... --lens 0x... --once

Continuous by default (one pass per new block, until interrupted); ``--once`` runs a single pass
(for cron and tests) and exits with status 1 when that pass logged an error (a revert, a stale
oracle), 0 otherwise. Without ``--factory`` the factory, Lens and start block come from the
deployments file (default ``deployments/<ecosystem>-<network>.json``). On a live network
``--account`` is required unless ``--dry-run``; on a local one the first test account is the default.

With a MarginGuard (``--guard``, else the deployments file's ``contracts.MarginGuard`` when the file
records the same factory) each pass first tops up the vaults below their policy's trigger
(:mod:`ringfence.keeper.topup`); ``--native-price`` (settlement tokens per native coin) makes it skip
the top-ups whose fee does not pay for their gas at ``--gas-price`` (gwei; default the chain's).
``--no-top-ups`` turns the pass off.
"""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from ape.cli import account_option

from ringfence.chain.connection import ChainCommand
from ringfence.keeper.config import KeeperConfig, resolve_deployment, resolve_guard
from ringfence.keeper.failures import describe_error
from ringfence.keeper.keeper import Keeper
from ringfence.keeper.settings import configure_logging, start_metrics
from ringfence.keeper.shard import parse_shard

__all__ = ["cli", "run"]


def run(provider: Any, *, account: Any = None, factory: str | None = None, deployments: Path | None = None,
        lens: str | None = None, start_block: int | None = None, once: bool = False,
        poll_interval: float = 2.0, max_steps: int | None = None, echo=click.echo,
        metrics_port: int | None = None, metrics_host: str = "127.0.0.1", health_max_age: float = 60.0,
        guard: str | None = None, top_ups: bool = True, **config: Any) -> int:
    """The command's body (also callable in-process): returns the exit status."""
    from ape import accounts

    from ringfence.chain.deployments import is_live

    live = is_live(provider)
    dry_run = bool(config.get("dry_run"))
    if account is None and not dry_run:
        if live:
            raise click.UsageError("--account is required on a live network (or --dry-run)")
        account = accounts.test_accounts[0]
    if live and account is not None and hasattr(account, "set_autosign"):
        account.set_autosign(True)  # a keyfile account: unlock once, sign every liquidation
    factory_address, lens_address, start = _deployment(provider, factory=factory, deployments=deployments,
                                                       lens=lens, start_block=start_block)
    settings = {k: v for k, v in config.items() if v is not None}
    if top_ups:
        settings["guard"] = resolve_guard(factory=factory_address, guard=guard, deployments=deployments,
                                          provider=provider)
    if isinstance(settings.get("shard"), str):
        settings["shard"] = parse_shard(settings["shard"])
    metrics = start_metrics(metrics_port, host=metrics_host, max_age=health_max_age)
    keeper = Keeper(factory_address, account=account, lens=lens_address, start_block=start,
                    config=KeeperConfig(**settings), metrics=metrics)
    echo(f"Ringfence keeper on {provider.network.choice} (chain id {provider.chain_id}): factory "
         f"{factory_address}, lens {lens_address or '-'}, liquidator {keeper.liquidator.address}, from block "
         f"{start}, account {getattr(account, 'address', None) or '- (dry run)'}, guard "
         f"{keeper.guard.address if keeper.guard is not None else '- (no top-ups)'}")
    if once:
        report = keeper.step()
        echo(report.summary())
        for tx in report.sent:
            echo(f"  {tx.txn_hash}: {tx.liquidated}/{tx.attempted} liquidated, gas {tx.gas_used}")
        for top in report.top_ups:
            echo(f"  {top.txn_hash}: {len(top.done)}/{top.attempted} topped up, fees {keeper.fees_text(top)}, "
                 f"gas {top.gas_used}")
        for st in report.settled:
            echo(f"  {st.txn_hash}: settled the {st.kind} request of {st.controller}, gas {st.gas_used}")
        return 1 if report.errors else 0
    try:
        keeper.run(poll_interval=poll_interval, max_steps=max_steps)
    except KeyboardInterrupt:
        echo("stopped")
    return 0


def _shard_option(value: str | None) -> tuple[int, int] | None:
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _wad_option(scale: int):
    """A click callback: a decimal number of whole units as an integer of ``scale`` units (None stays)."""

    def parse(ctx: Any, param: Any, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise click.BadParameter(f"{value!r} is not a number") from None
        if amount < 0:
            raise click.BadParameter("must be >= 0")
        return int(amount * scale)

    return parse


class DeploymentMissing(click.ClickException):
    """No factory where the keeper looked: one line, exit status 2 (as a usage error)."""

    exit_code = 2


def _deployment(provider: Any, *, factory: str | None, deployments: Path | None, lens: str | None,
                start_block: int | None) -> tuple[str, str | None, int]:
    """:func:`resolve_deployment`, and a factory with code on this chain; else :class:`DeploymentMissing`
    saying what to run (or which address to check)."""
    from ringfence.chain.deployments import default_deployments_path, no_deployment_message

    try:
        found = resolve_deployment(factory=factory, deployments=deployments, lens=lens,
                                   start_block=start_block, provider=provider)
    except Exception as exc:  # noqa: BLE001 - NoDeployment, an unreadable file, an address that is none
        raise DeploymentMissing(str(exc)) from None
    if not provider.get_code(found[0]):
        if factory is not None:
            raise DeploymentMissing(f"no contract at the factory address {found[0]} on "
                                    f"{provider.network.choice}: check --factory")
        path = deployments or default_deployments_path(provider)
        raise DeploymentMissing(f"{no_deployment_message(provider, path)} (the factory it records, "
                                f"{found[0]}, has no code on this chain)")
    return found


@click.command(cls=ChainCommand, short_help="Liquidate underwater Ringfence vaults, settle LP requests")
@click.option("--factory", default=None, help="The PoolFactory address [default: from the deployments file]")
@click.option("--deployments", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A deployments file of `ape run deploy` [default: deployments/<ecosystem>-<network>.json]")
@click.option("--lens", default=None, help="The Lens address [default: from the deployments file]")
@account_option(prompt=False)
@click.option("--start-block", type=int, default=None,
              help="Index events from this block [default: the factory's deployment block, else 0]")
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True,
              help="Vaults per Lens call and per liquidation transaction, at most")
@click.option("--max-gas", type=click.IntRange(min=100_000), default=None,
              help="Gas cap per liquidation transaction [default: half the block gas limit]")
@click.option("--once", is_flag=True, help="One pass, then exit (status 1 if it logged an error)")
@click.option("--dry-run", is_flag=True, help="Decide and confirm, send nothing")
@click.option("--confirmations", type=click.IntRange(min=0), default=0, show_default=True,
              help="Act on the head minus this many blocks")
@click.option("--chunk-size", type=click.IntRange(min=1), default=2_000, show_default=True,
              help="Blocks per eth_getLogs request while catching up")
@click.option("--estimate-gas/--no-estimate-gas", default=None,
              help="Gas limits from eth_estimateGas [default: yes, except on the embedded chain]")
@click.option("--poll-interval", type=float, default=2.0, show_default=True,
              help="Seconds between head checks when following the chain")
@click.option("--shard", default=None, callback=lambda ctx, param, value: _shard_option(value),
              help="i/n: act first on the vaults whose address hash mod n is i, on the others after --shard-grace")
@click.option("--shard-grace", type=click.IntRange(min=0), default=30, show_default=True,
              help="Seconds a vault of another shard stays liquidatable before this keeper takes it")
@click.option("--metrics-port", type=click.IntRange(min=0, max=65_535), default=None,
              help="Serve Prometheus /metrics and /health on this port [default: off]")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address the metrics server binds")
@click.option("--health-max-age", type=float, default=60.0, show_default=True,
              help="/health answers 503 when the last successful pass is older than this (seconds)")
@click.option("--guard", default=None,
              help="The MarginGuard to top up through [default: from the deployments file, if it has one]")
@click.option("--top-ups/--no-top-ups", default=True, show_default=True,
              help="Top up the vaults below their MarginGuard policy's trigger before liquidating")
@click.option("--native-price", default=None, callback=_wad_option(10**18),
              help="Settlement tokens per native coin: skip top-ups whose fee does not pay their gas [default: "
                   "fees not weighed]")
@click.option("--gas-price", default=None, callback=_wad_option(10**9),
              help="Gwei per gas for the top-up fee check [default: the chain's gas price]")
@click.option("--top-up-gas", type=click.IntRange(min=1), default=None,
              help="Gas of one top-up in a batch, for packing and the fee check [default: 100000]")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def cli(provider, factory, deployments, lens, account, start_block, batch_size, max_gas, once, dry_run,
        confirmations, chunk_size, estimate_gas, poll_interval, shard, shard_grace, metrics_port, metrics_host,
        health_max_age, guard, top_ups, native_price, gas_price, top_up_gas, log_level):
    """Index open vaults, MarginGuard policies and LP requests from events, top up the vaults below their
    policy's trigger, liquidate the underwater vaults, settle the LP requests an oracle round made ready,
    follow new blocks."""
    configure_logging(log_level)
    try:
        status = run(provider, account=account, factory=factory, deployments=deployments, lens=lens,
                     start_block=start_block, once=once, poll_interval=poll_interval, batch_size=batch_size,
                     max_gas=max_gas, dry_run=dry_run, confirmations=confirmations, chunk_size=chunk_size,
                     estimate_gas=estimate_gas, shard=shard, shard_grace=shard_grace, metrics_port=metrics_port,
                     metrics_host=metrics_host, health_max_age=health_max_age, guard=guard, top_ups=top_ups,
                     native_price_wad=native_price, gas_price=gas_price, top_up_gas=top_up_gas)
    except click.ClickException:
        raise
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        raise click.ClickException(describe_error(exc)) from None
    if status:
        sys.exit(status)

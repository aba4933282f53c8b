"""The ``ringfence`` command group and what every command shares: the options naming the network,
the account and the markets, the connection to the network (:func:`connected`), and the
:class:`Session` a connected command receives.

ape's managers (``networks``, ``accounts``, ``Contract``) and the contract types
(:mod:`ringfence.chain.contracts`) are loaded inside the functions that use them, here and in every
module of this package: loading them loads every Ape plugin (seconds), which ``ringfence --help``
should not wait for. Everything else is imported at module level. The commands run from any
directory: the contract types come from the checkout's build or the package's bundled copy.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from ape.exceptions import ApeException
from ape.logging import logger
from eth_utils import is_address, to_checksum_address

from ringfence.abi import at
from ringfence.chain.contracts import container
from ringfence.chain.deployments import (
    DEVNET_HINT,
    DeployError,
    check_chain_id,
    default_deployments_path,
    load_deployments,
)
from ringfence.cli.errors import CliError, first_line, redecode
from ringfence.cli.receipts import forget, recording, set_json_mode, show_progress
from ringfence.errors import RingfenceError
from ringfence.sdk import Market

__all__ = ["DEFAULT_NETWORK", "DEVNET_HINT", "DEV_ROLES", "Session", "common_options", "connected", "main",
           "resolve_account"]

DEFAULT_NETWORK = "ethereum:local"

DEV_ROLES = ("deployer", "lp", "lp2", "keeper", "keeper2", "trader", "trader2", "trader3", "trader4", "trader5")
"""The names of the ten test accounts on local chains and forks (``--account trader`` is ``TEST::5``):
the devnet (``ringfence devnet``) deploys from ``deployer``, the owner and guardian of its factory."""



class _Group(click.Group):
    """The command group; with ``--json`` among a command's arguments, a usage error (a missing or
    unknown option, a bad value) is one JSON object on stdout too, like every other error
    (``error``: ``UsageError``; exit status 2, as click's)."""

    def invoke(self, ctx: click.Context) -> Any:
        args = [*ctx.protected_args, *ctx.args]
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if "--json" not in args:
                raise
            click.echo(json.dumps({"error": "UsageError", "message": exc.format_message()}, indent=2))
            raise SystemExit(exc.exit_code) from None


@click.group(cls=_Group)
@click.version_option(package_name="ringfence")
def main() -> None:
    """Ringfence: isolated-margin trading."""
    forget()  # a new command: no transactions yet, no JSON until its --json


class Session:
    """What a command needs once connected: the provider, the account, the markets."""

    def __init__(self, provider: Any, opts: dict[str, Any]):
        self.provider = provider
        self.opts = opts
        self._account: Any = None

    @property
    def dev(self) -> bool:
        return bool(self.provider.network.is_dev)

    @property
    def account(self) -> Any:
        if self._account is None:
            self._account = resolve_account(self.opts.get("account"), self.dev)
        return self._account

    def address_of(self, value: str | None) -> str | None:
        """``value`` checksummed (``None`` stays ``None``), or a one-line refusal."""
        if value is None:
            return None
        if not is_address(value):
            raise CliError(f"{value!r} is not an address")
        return to_checksum_address(value)

    # ---------------------------------------------------------------- markets
    def deployments(self) -> tuple[Path, dict[str, Any]]:
        """The deployments file (``--deployments``, else this network's) and its record."""
        path = self.opts.get("deployments") or default_deployments_path(self.provider)
        try:
            data = load_deployments(path)
        except DeployError as exc:
            raise CliError(str(exc)) from None
        if not data:
            raise CliError(f"no deployments file {path}: give --deployments <file> or --pool <address>")
        if data.get("chain_id") != self.provider.chain_id:
            raise CliError(f"{path} is for chain id {data.get('chain_id')}, this network has chain id "
                           f"{self.provider.chain_id}{self._devnet_hint()}")
        genesis = data.get("genesis_hash")
        if genesis and self.dev and genesis.lower() != _genesis_hash(self.provider).lower():
            raise CliError(f"{path} was written on another chain (this one has another genesis block): "
                           f"its contracts are not here; {DEVNET_HINT}")
        return Path(path), data

    def _devnet_hint(self) -> str:
        return f" ({DEVNET_HINT})" if self.dev else ""

    def markets(self) -> list[tuple[str, Any]]:
        """``(id, Market)`` of every market in scope (one with --pool or --market)."""
        pool = self.address_of(self.opts.get("pool"))
        if pool is not None:
            return [(pool, self.market_at(pool))]
        path, data = self.deployments()
        # A market without a pool is one whose deployment stopped before creating it.
        entries = {k: v for k, v in data.get("markets", {}).items() if v.get("pool")}
        wanted = self.opts.get("market")
        if wanted is not None:
            if wanted not in entries:
                raise CliError(f"no market {wanted!r} in {path} (markets: {', '.join(entries) or 'none'})")
            entries = {wanted: entries[wanted]}
        if not entries:
            raise CliError(f"{path} holds no markets")
        return [(market_id, self.market_at(entry["pool"])) for market_id, entry in entries.items()]

    def market(self) -> tuple[str, Any]:
        """The one market in scope, or a one-line refusal naming the choices."""
        markets = self.markets()
        if len(markets) > 1:
            ids = ", ".join(m for m, _ in markets)
            raise CliError(f"several markets ({ids}): choose one with --market <id> or --pool <address>")
        return markets[0]

    def market_at(self, pool: str) -> Any:
        """The SDK's Market of the pool at ``pool``, or a one-line refusal."""
        if not self.provider.get_code(pool):
            hint = ""
            if self.dev:
                hint = f" (a chain that stopped, or one that ends with this command: {DEVNET_HINT})"
            raise CliError(f"no contract at pool {pool} on {self.provider.network.choice}{hint}")
        try:
            return Market(at(container("MarginPool"), pool), self.lens)
        except Exception as exc:  # noqa: BLE001 - a contract that is not a pool
            raise CliError(f"{pool} is not a Ringfence pool ({first_line(str(exc))})") from None

    @functools.cached_property
    def lens(self) -> Any:
        """The Lens of the deployments file, if there is one for this chain (``None`` otherwise: the
        SDK then reads the pools one figure at a time)."""
        path = self.opts.get("deployments") or default_deployments_path(self.provider)
        try:
            data = load_deployments(path)
        except DeployError:
            return None
        address = data.get("contracts", {}).get("Lens", {}).get("address")
        if data.get("chain_id") != self.provider.chain_id or not address:
            return None
        return at(container("Lens"), address)

    def vault_market(self, vault: str) -> tuple[str, Any]:
        """``vault`` checksummed and the Market of its pool, or a one-line refusal."""
        vault = self.address_of(vault) or ""
        if not self.provider.get_code(vault):
            raise CliError(f"no contract at vault {vault} on {self.provider.network.choice}")
        try:
            pool = str(at(container("PositionVault"), vault).pool(skip_trace=True))
        except Exception:  # noqa: BLE001
            raise CliError(f"{vault} is not a Ringfence vault") from None
        self._check_vault_scope(vault, pool)
        return vault, self.market_at(pool)

    def _check_vault_scope(self, vault: str, pool: str) -> None:
        """A ``--pool`` or ``--market`` given with a vault must be the vault's, or a one-line refusal
        naming the vault's market (a vault's command finds its market from the vault)."""
        wanted_pool, wanted_market = self.opts.get("pool"), self.opts.get("market")
        if wanted_pool is None and wanted_market is None:
            return
        if wanted_pool is not None and (self.address_of(wanted_pool) or "").lower() == pool.lower() \
                and wanted_market is None:
            return
        ids: list[str] = []
        if wanted_market is not None:
            _, data = self.deployments()
            markets = data.get("markets", {})
            ids = [k for k, v in markets.items() if str(v.get("pool", "")).lower() == pool.lower()]
            if wanted_market in ids and (wanted_pool is None or wanted_pool.lower() == pool.lower()):
                return
        given = " ".join(f"{k} {v}" for k, v in (("--market", wanted_market), ("--pool", wanted_pool)) if v)
        actual = f"market {ids[0]} (pool {pool})" if ids else f"pool {pool}"
        raise CliError(f"vault {vault} is in {actual}, not {given}")


def _genesis_hash(provider: Any) -> str:
    block_hash = provider.get_block(0).hash
    return block_hash if isinstance(block_hash, str) else "0x" + bytes(block_hash).hex()


def resolve_account(value: str | None, dev: bool) -> Any:
    """An Ape account: an alias, ``TEST::<n>``, on local networks and forks a role name of
    :data:`DEV_ROLES` (an alias of the same name wins), or there test account 0 by default."""
    from ape import accounts

    if value is None:
        if not dev:
            raise CliError("--account <alias> is required on a live network")
        return accounts.test_accounts[0]
    if value.upper().startswith("TEST::"):
        index = value[6:]
        if not index.isdigit() or int(index) >= len(accounts.test_accounts):
            raise CliError(f"no test account {value}")
        return accounts.test_accounts[int(index)]
    if value in accounts.aliases:
        return accounts.load(value)
    if dev and value.lower() in DEV_ROLES:
        return accounts.test_accounts[DEV_ROLES.index(value.lower())]
    roles = f", or a test account's role: {', '.join(DEV_ROLES)}" if dev else ""
    raise CliError(f"no Ape account with alias {value!r} (see `ape accounts list`{roles})")


def common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--network, --account, --deployments, --pool, --market, --json, --progress, -v on a command."""
    options = [
        click.option("--network", default=DEFAULT_NETWORK, show_default=True,
                     help="Ape network choice, e.g. ethereum:local:foundry, "
                          "ethereum:local:http://127.0.0.1:8545, ethereum:mainnet:node"),
        click.option("--account", default=None,
                     help="Ape account alias or TEST::<n>; on local networks also a role: "
                          "deployer (TEST::0), lp, lp2, keeper, keeper2, trader (TEST::5), trader2..5 "
                          "[default on local networks: TEST::0]"),
        click.option("--deployments", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Deployments file [default: deployments/<ecosystem>-<network>.json]"),
        click.option("--pool", default=None, help="A pool address (instead of the deployments file)"),
        click.option("--market", default=None, help="Market id in the deployments file"),
        click.option("--json", "as_json", is_flag=True, callback=set_json_mode,
                     help="Print the result (and any error) as JSON"),
        click.option("--progress/--no-progress", "progress", default=None,
                     help="Show each transaction's steps on stderr [default: when stderr is a terminal]"),
        click.option("-v", "--verbose", is_flag=True, help="Show Ape's log"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def connected(f: Callable[..., Any]) -> Callable[..., Any]:
    """Runs the command inside ``networks.parse_network_choice(--network)`` with a Session, turning
    every failure into one line on stderr and exit status 1."""

    @functools.wraps(f)
    def wrapper(**kwargs: Any) -> Any:
        opts = {k: kwargs.pop(k) for k in ("network", "account", "deployments", "pool", "market",
                                           "verbose")}
        as_json = kwargs.pop("as_json")
        progress = kwargs.pop("progress")
        _quiet(opts["verbose"])
        try:
            from ape import networks

            try:
                context = networks.parse_network_choice(opts["network"])
            except ApeException as exc:
                raise CliError(f"unknown network {opts['network']!r} ({first_line(str(exc))} "
                               f"see `ape networks list`)") from None
            try:
                provider = context.__enter__()
            except (ApeException, OSError) as exc:
                raise CliError(f"cannot connect to {opts['network']}: "
                               f"{first_line(str(exc)) or type(exc).__name__}") from None
            try:
                _check_chain_id(provider)
                with recording(show_progress(progress, as_json)):
                    return f(Session(provider, opts), as_json=as_json, **kwargs)
            finally:
                context.__exit__(None, None, None)
        except (click.ClickException, click.Abort, click.exceptions.Exit):
            raise
        except BrokenPipeError:  # the reader went away (`| head`)
            raise SystemExit(1) from None
        except RingfenceError as exc:
            error = redecode(exc)
            raise CliError(str(error.message), error.name) from None
        except ApeException as exc:
            raise CliError(first_line(str(exc)) or type(exc).__name__) from None
        except (ValueError, OSError) as exc:
            raise CliError(first_line(str(exc)) or type(exc).__name__) from None
        except Exception as exc:  # still one line; -v shows the traceback
            if opts["verbose"]:
                raise
            raise CliError(f"unexpected {type(exc).__name__}: {first_line(str(exc))} "
                           f"(run with -v for the traceback)") from None

    return wrapper


def _check_chain_id(provider: Any) -> None:
    """The node's chain id is the one Ape signs for, or a one-line refusal with the remedy."""
    try:
        check_chain_id(provider)
    except DeployError as exc:
        raise CliError(str(exc)) from None


def _quiet(verbose: bool) -> None:
    logger.set_level("INFO" if verbose else "ERROR")

"""``ringfence devnet`` (``make devnet``): a local chain that stays up, with the example markets on it.

Starts Anvil (the npm build, :class:`ringfence.chain.anvil.Anvil`) on ``127.0.0.1:<port>`` (8545 by
default) with chain id 1337 and the test mnemonic's ten accounts, deploys a markets file
(``markets/local.yaml``, mocks included) with :func:`ringfence.deploy.deploy` from ``TEST::0``, mints
the mock settlement tokens to the ten accounts, writes the deployments file, then mines a block every
``--block-time`` seconds (interval mining: bots that wait for blocks keep running) until Ctrl-C, which
stops Anvil. Every other command reaches it with ``--network ethereum:local:http://127.0.0.1:<port>``
(Ape's node provider, which signs for chain id 1337 there unless configured otherwise: so the devnet
uses 1337, also MetaMask's "Localhost 8545", and works from any directory, in or out of a checkout).

The accounts' roles (:data:`ringfence.cli.app.DEV_ROLES`, accepted by ``--account`` on local chains):
``deployer`` (``TEST::0``: the factory's owner and guardian), ``lp`` and ``lp2`` (1, 2), ``keeper`` and
``keeper2`` (3, 4), ``trader`` to ``trader5`` (5 to 9).
"""

from __future__ import annotations

import errno
import signal
import socket
import time
from pathlib import Path
from typing import Any

import click

from ringfence.abi import at
from ringfence.chain.anvil import DEFAULT_MNEMONIC, HARDFORK, Anvil
from ringfence.chain.contracts import container
from ringfence.chain.deployments import DeployError, check_chain_id
from ringfence.cli.app import DEV_ROLES, main
from ringfence.cli.arguments import parse_amount
from ringfence.cli.errors import CliError, first_line
from ringfence.errors import RingfenceError, one_line
from ringfence.paths import ROOT
from ringfence.units import from_units

__all__ = ["DEVNET_CHAIN_ID", "devnet", "devnet_network"]

DEVNET_CHAIN_ID = 1337
DEFAULT_PORT = 8545
ACCOUNT_BALANCE = 10_000  # ether per account


def devnet_network(port: int) -> str:
    """The ``--network`` every command takes to reach the devnet on ``port``."""
    return f"ethereum:local:http://127.0.0.1:{port}"


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="The loopback port Anvil listens on")
@click.option("--block-time", type=click.IntRange(min=0), default=1, show_default=True,
              help="Seconds between blocks (interval mining); 0: a block per transaction")
@click.option("--markets", "markets_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=ROOT / "markets" / "local.yaml", show_default="markets/local.yaml",
              help="The markets file to deploy (mocks allowed)")
@click.option("--deployments", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("deployments") / "ethereum-local.json", show_default=True,
              help="The deployments file to write (what the other commands read by default)")
@click.option("--mint", "mint_amount", default="1000000", show_default=True,
              help="Mock settlement tokens minted to each of the ten accounts")
@click.option("-v", "--verbose", is_flag=True, help="Show the deployment's transactions and Ape's log")
def devnet(port: int, block_time: int, markets_file: Path, deployments: Path, mint_amount: str,
           verbose: bool) -> None:
    """Start a local chain that stays up (Anvil, chain id 1337) with the example markets deployed,
    the mock tokens minted to ten named accounts, and a block every --block-time seconds; print how
    to reach it; run until Ctrl-C."""
    from ape.logging import logger

    logger.set_level("INFO" if verbose else "ERROR")
    _check_port_free(port)
    try:
        node = Anvil("--chain-id", str(DEVNET_CHAIN_ID), "--mnemonic", DEFAULT_MNEMONIC, "--accounts",
                     str(len(DEV_ROLES)), "--balance", str(ACCOUNT_BALANCE), "--hardfork", HARDFORK,
                     port=port, start_new_session=True)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        try:
            node.start()
        except RuntimeError as exc:
            raise CliError(f"anvil did not start on port {port}: {first_line(str(exc))}") from None
        summary = _set_up(node, markets_file, deployments, mint_amount, verbose)
        if block_time:
            node.rpc("evm_setIntervalMining", block_time)
        _print_summary(node, summary, deployments, block_time)
        _serve(node)
    except KeyboardInterrupt:
        click.echo("stopping the devnet")
    finally:
        node.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like a server's bind: connections closed a moment ago (TIME_WAIT) do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            reason = "in use (a devnet already running?)" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise CliError(f"port {port} is {reason}: stop what listens there, or choose another with "
                           f"--port") from None


def _set_up(node: Anvil, markets_file: Path, deployments: Path, mint_amount: str,
            verbose: bool) -> dict[str, Any]:
    """Deploys the markets and mints the mock tokens, through Ape's node provider; returns what to print."""
    from ape import accounts, networks

    from ringfence.deploy import DeployChecksFailed, deploy

    click.echo(f"deploying {markets_file} on {node.uri} ...")
    with networks.parse_network_choice(f"ethereum:local:{node.uri}") as provider:
        try:
            check_chain_id(provider)
            report = deploy(accounts.test_accounts[0], markets_file, path=deployments,
                            log=click.echo if verbose else None)
        except DeployChecksFailed as exc:
            raise CliError(f"{markets_file}: {'; '.join(exc.problems)}") from None
        except DeployError as exc:
            raise CliError(str(exc)) from None
        except RingfenceError as exc:
            raise CliError(one_line(exc.message)) from None
        data = report.data
        minted = _mint(data, mint_amount)
        markets = {market_id: _market_line(entry) for market_id, entry in data["markets"].items()}
    return {"data": data, "minted": minted, "markets": markets}


def _mint(data: dict[str, Any], amount: str) -> list[str]:
    """``amount`` of every mock token of the deployment to every test account; returns ``"1,000 USDC"``s."""
    from ape import accounts

    minter = accounts.test_accounts[0]
    minted = []
    for key, entry in data.get("mocks", {}).items():
        if not key.startswith("token:"):
            continue
        token = at(container("MockERC20"), entry["address"])
        decimals = int(token.decimals())
        units = parse_amount(amount, decimals, "--mint")
        for index in range(len(DEV_ROLES)):
            token.mint(accounts.test_accounts[index].address, units, sender=minter)
        minted.append(f"{from_units(units, decimals).normalize():,f} {token.symbol()}")
    return minted


def _market_line(entry: dict[str, Any]) -> str:
    feed = at(container("MockAggregator"), entry["feed"])
    price = from_units(int(feed.latestAnswer()), int(feed.decimals())).normalize()
    symbol = str(at(container("MockERC20"), entry["asset"]).symbol())
    return f"pool {entry['pool']}  price {price:,f} {symbol}  token {entry['asset']}  feed {entry['feed']}"


def _print_summary(node: Anvil, summary: dict[str, Any], deployments: Path, block_time: int) -> None:
    from ape import accounts

    data = summary["data"]
    contracts = data["contracts"]
    mining = f"a block every {block_time} s" if block_time else "a block per transaction"
    lines = [
        "",
        f"Ringfence devnet: Anvil at {node.uri}, chain id {DEVNET_CHAIN_ID}, {mining}",
        f"network:      {devnet_network(node.port)}",
        "              (--network of ringfence, ape run keeper, ape run deploy)",
        f"deployments:  {deployments}",
        f"factory:      {contracts['PoolFactory']['address']}  (owner and guardian: deployer)",
        f"liquidator:   {contracts['Liquidator']['address']}",
        f"lens:         {contracts['Lens']['address']}",
        f"guard:        {contracts['MarginGuard']['address']}  (margin top-ups: docs/guard.md)",
        "markets:",
        *(f"  {market_id:<8} {line}" for market_id, line in summary["markets"].items()),
        (f"accounts (mnemonic \"{DEFAULT_MNEMONIC}\"; {ACCOUNT_BALANCE:,} ETH and "
         f"{', '.join(summary['minted']) or 'no mock token'} each; --account <role> or TEST::<n>):"),
        *(f"  TEST::{i:<2} {role:<9} {accounts.test_accounts[i].address}" for i, role in enumerate(DEV_ROLES)),
        "",
        "Ready. Ctrl-C stops the devnet (and its chain).",
    ]
    click.echo("\n".join(lines))


def _serve(node: Anvil) -> None:
    """Until Ctrl-C (or SIGTERM), or Anvil's own end: a one-line error then."""
    process = node.process
    assert process is not None
    while process.poll() is None:
        time.sleep(0.5)
    raise CliError(f"anvil stopped (exit status {process.returncode})")

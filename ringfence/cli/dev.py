"""``ringfence dev``: what a developer does to a local chain (the devnet of ``ringfence devnet``, or any
local chain or fork): mint the mock settlement token, publish a round on a mock price feed, move the
chain's time, pause and unpause a market as the factory's guardian. Refused in one line on a live
network. ``ringfence mock round`` / ``mock mint`` are kept as aliases of ``dev round`` / ``dev mint``.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import click

from ringfence.abi import at
from ringfence.chain.contracts import container
from ringfence.chain.deployments import DeployError
from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import parse_amount
from ringfence.cli.errors import CliError
from ringfence.cli.formatting import emit, fmt_time
from ringfence.cli.view import MarketView
from ringfence.deploy.markets_file import parse_duration
from ringfence.errors import contract_errors
from ringfence.units import from_units

__all__ = ["dev", "dev_mint", "dev_pause", "dev_round", "dev_time", "dev_unpause", "mock"]


@main.group()
def dev() -> None:
    """Developer commands for local chains and forks (the devnet of `ringfence devnet`): mint test
    tokens, set a mock feed's price, move time, pause a market. Refused on a live network."""


@main.group(hidden=True)
def mock() -> None:
    """Aliases of `ringfence dev round` and `ringfence dev mint`."""


def _local_only(session: Session) -> None:
    if not session.dev:
        raise CliError(f"dev commands run on local chains and forks only, not {session.provider.network.choice}")


def _mock(session: Session, kind: str, address: str) -> str:
    """The deployments file's key of mock ``address`` (``token:…``, ``feed:…``), or a one-line refusal."""
    _local_only(session)
    path, data = session.deployments()
    for key, entry in data.get("mocks", {}).items():
        if key.startswith(f"{kind}:") and str(entry.get("address", "")).lower() == address.lower():
            return key
    raise CliError(f"the {kind} {address} is not a mock deployed by {path}")


@dev.command(name="round")
@click.option("--price", default=None, help="The new answer, e.g. 3100 [default: the same answer again]")
@common_options
@connected
def dev_round(session: Session, as_json: bool, price: str | None) -> None:
    """Publish a new round on the market's mock price feed (a new price with --price), dated after the
    chain's head (what LP requests wait for; it also refreshes a stale price)."""
    market_id, market = session.market()
    view = MarketView(market)
    feed_address = str(at(container("ChainlinkOracle"), market.oracle_address).feed())
    _mock(session, "feed", feed_address)
    feed = at(container("MockAggregator"), feed_address)
    decimals = int(feed.decimals())
    answer = int(feed.latestAnswer()) if price is None else parse_amount(price, decimals, "--price")
    head = int(session.provider.get_block("latest").timestamp)
    # A round in a later second than every request already mined; a node without
    # evm_setNextBlockTimestamp dates the block itself.
    with contextlib.suppress(Exception):
        session.provider.make_request("evm_setNextBlockTimestamp", [max(head + 1, int(time.time()))])
    with view.guard(), contract_errors():
        receipt = feed.setAnswer(answer, sender=session.account)
    updated_at = int(session.provider.get_block(receipt.block_number).timestamp)
    data = {"market": market_id, "feed": feed_address, "answer": answer, "updated_at": updated_at}
    emit(as_json, data, [("market", market_id), ("feed", feed_address),
                         ("answer", f"{from_units(answer, decimals).normalize():f}"),
                         ("round at", fmt_time(updated_at))])


@dev.command(name="mint")
@click.option("--amount", required=True, help="Settlement tokens to mint, e.g. 10000")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@common_options
@connected
def dev_mint(session: Session, as_json: bool, amount: str, receiver: str | None) -> None:
    """Mint the market's mock settlement token."""
    market_id, market = session.market()
    view = MarketView(market)
    _mock(session, "token", market.asset_address)
    units = parse_amount(amount, view.decimals, "--amount")
    to = session.address_of(receiver) or str(session.account.address)
    with view.guard():
        with contract_errors():
            at(container("MockERC20"), market.asset_address).mint(to, units, sender=session.account)
        balance = int(market.token().balanceOf(to))
    emit(as_json, {"market": market_id, "minted": units, "to": to, "balance": balance},
         [("market", market_id), ("minted", view.amount(units)), ("to", to), ("balance", view.amount(balance))])


mock.add_command(dev_round, name="round")
mock.add_command(dev_mint, name="mint")


@dev.command(name="time")
@click.argument("duration")
@common_options
@connected
def dev_time(session: Session, as_json: bool, duration: str) -> None:
    """Move the chain's time forward by DURATION (3600, 90m, 1h, 2d) and mine a block there
    (evm_increaseTime and evm_mine). Mock feeds keep their rounds: past the oracle's max age the
    price is stale until `ringfence dev round`."""
    _local_only(session)
    try:
        seconds = parse_duration(duration, "DURATION")
    except DeployError as exc:
        raise CliError(str(exc)) from None
    if seconds <= 0:
        raise CliError("DURATION must be positive, e.g. 1h")
    provider = session.provider
    before = int(provider.get_block("latest").timestamp)
    if provider.name == "test":  # the embedded chain: no evm_* methods, Ape's own clock
        from ape import chain

        chain.mine(timestamp=before + seconds)
        if chain.pending_timestamp <= chain.blocks.head.timestamp:
            chain.pending_timestamp = chain.blocks.head.timestamp + 1
    else:
        provider.make_request("evm_increaseTime", [seconds])
        # Dated explicitly: a next-block timestamp set earlier (evm_setNextBlockTimestamp) would win.
        provider.make_request("evm_mine", [before + seconds])
    head = provider.get_block("latest")
    after = int(head.timestamp)
    emit(as_json, {"seconds": seconds, "before": before, "after": after, "block": int(head.number)},
         [("moved", f"{seconds} s"), ("chain time", fmt_time(after)), ("block", str(head.number))])


def _guardian_sender(session: Session, factory: Any) -> Any:
    """``--account``, else the test account that is the factory's guardian (or owner)."""
    if session.opts.get("account") is not None:
        return session.account
    from ape import accounts

    for wanted in (str(factory.guardian()).lower(), str(factory.owner()).lower()):
        for account in accounts.test_accounts:
            if str(account.address).lower() == wanted:
                return account
    raise CliError(f"the factory's guardian {factory.guardian()} and owner {factory.owner()} are not test "
                   f"accounts: give --account")


def _set_paused(session: Session, as_json: bool, paused: bool) -> None:
    _local_only(session)
    market_id, market = session.market()
    view = MarketView(market)
    factory = at(container("PoolFactory"), str(market.pool.factory()))
    sender = _guardian_sender(session, factory)
    if bool(market.pool.paused()) == paused:
        raise CliError(f"market {market_id} is already {'paused' if paused else 'not paused'}")
    if str(sender.address).lower() not in (str(factory.guardian()).lower(), str(factory.owner()).lower()):
        raise CliError(f"{sender.address} is neither the factory's guardian ({factory.guardian()}) nor its "
                       f"owner ({factory.owner()})")
    with view.guard(), contract_errors():
        receipt = factory.setPaused(market.pool.address, paused, sender=sender)
    data = {"market": market_id, "pool": str(market.pool.address), "paused": paused,
            "by": str(sender.address), "tx": str(receipt.txn_hash)}
    emit(as_json, data, [("market", market_id), ("paused", "yes (opening refused)" if paused else "no"),
                         ("by", str(sender.address))])


@dev.command(name="pause")
@common_options
@connected
def dev_pause(session: Session, as_json: bool) -> None:
    """Pause opening on a market, as the factory's guardian (the devnet's deployer, TEST::0)."""
    _set_paused(session, as_json, True)


@dev.command(name="unpause")
@common_options
@connected
def dev_unpause(session: Session, as_json: bool) -> None:
    """Unpause a market, as the factory's guardian (the devnet's deployer, TEST::0)."""
    _set_paused(session, as_json, False)

"""``ringfence mock``: the test doubles of a local deployment (a markets file's ``deploy-mock``):
a new round on the mock price feed, and minting the mock settlement token."""

from __future__ import annotations

import contextlib
import time

import click

from ringfence.abi import at
from ringfence.chain.contracts import container
from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import parse_amount
from ringfence.cli.errors import CliError
from ringfence.cli.formatting import emit, fmt_time
from ringfence.cli.view import MarketView
from ringfence.errors import contract_errors
from ringfence.units import from_units

__all__ = ["mock", "mock_mint", "mock_round"]


@main.group()
def mock() -> None:
    """Test doubles of a local deployment (a markets file's deploy-mock): local chains and forks only."""


def _mock(session: Session, kind: str, address: str) -> str:
    """The deployments file's key of mock ``address`` (``token:…``, ``feed:…``), or a one-line refusal."""
    if not session.dev:
        raise CliError("mock commands run on local chains and forks only")
    path, data = session.deployments()
    for key, entry in data.get("mocks", {}).items():
        if key.startswith(f"{kind}:") and str(entry.get("address", "")).lower() == address.lower():
            return key
    raise CliError(f"the {kind} {address} is not a mock deployed by {path}")


@mock.command(name="round")
@click.option("--price", default=None, help="The new answer, e.g. 3100 [default: the same answer again]")
@common_options
@connected
def mock_round(session: Session, as_json: bool, price: str | None) -> None:
    """Publish a new round on the market's mock price feed, dated after the chain's head (what LP
    requests wait for; it also refreshes a stale price)."""
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


@mock.command(name="mint")
@click.option("--amount", required=True, help="Settlement tokens to mint, e.g. 10000")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@common_options
@connected
def mock_mint(session: Session, as_json: bool, amount: str, receiver: str | None) -> None:
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

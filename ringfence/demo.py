"""The demo: deploy a market on the local chain, open a few positions, show each vault, and let a
second LP enter by request across an oracle round."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from ringfence.sdk import Market, MarketParams, Protocol, VaultState, deploy_oracle
from ringfence.units import to_units, to_wad

USDC_DECIMALS = 6


def vault_table(states: list[tuple[str, VaultState]], title: str) -> Table:
    """A rich table of vault states, one row per vault."""
    table = Table(title=title)
    columns = ["trader", "side", "size", "entry", "price", "margin", "pnl", "equity", "leverage",
               "health", "liq. price", "bankruptcy"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("trader", "side") else "right")
    for who, state in states:
        row = state.human()
        table.add_row(who, *(row[c] for c in columns[1:]))
    return table


@dataclass
class DemoResult:
    """What the demo did: the final vault states, the market, and the second LP's deposit request
    (assets paid, the shares quoted at the request, the shares minted at settlement)."""

    states: list[VaultState]
    market: Market
    newcomer: Any
    deposit_assets: int
    quote_shares: int
    settled_shares: int


def _next_second(chain: Any) -> None:
    """The next block in a later second than the head (an oracle round after a request in the head)."""
    head = chain.blocks.head.timestamp
    chain.mine(timestamp=head + 1)
    if chain.pending_timestamp <= head + 1:
        chain.pending_timestamp = head + 2


def _usdc(amount: int) -> str:
    return f"{amount / 10**USDC_DECIMALS:,.2f} USDC"


def run_demo(accounts: Any, project: Any, console: Console | None = None) -> DemoResult:
    """Deploys the protocol and an ETH/USD market, opens four positions, has a second LP request a
    deposit, moves the price in the next oracle round, settles the deposit and prints the vaults and
    the pool before and after."""
    from ape import chain

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=150)
    owner, guardian, lp, alice, bob, carol, dave = accounts[:7]
    usdc = owner.deploy(project.MockERC20, "USD Coin", "USDC", USDC_DECIMALS)
    feed = owner.deploy(project.MockAggregator, 8, 3000 * 10**8)
    oracle = deploy_oracle(owner, feed, max_age=3600)
    protocol = Protocol.deploy(owner, guardian)
    market: Market = protocol.create_market(owner, asset=usdc, oracle=oracle,
                                            params=MarketParams.default(USDC_DECIMALS),
                                            name="Ringfence ETH/USD LP", symbol="rfETH")
    console.print(f"[bold]Ringfence[/] factory {protocol.factory.address}, ETH/USD pool {market.address}")

    usdc.mint(lp, to_units(1_000_000, USDC_DECIMALS), sender=owner)
    market.deposit(lp, to_units(1_000_000, USDC_DECIMALS))  # the pool's first deposit: immediate
    for trader in (alice, bob, carol, dave):
        usdc.mint(trader, to_units(100_000, USDC_DECIMALS), sender=owner)

    stories: list[tuple[str, Any, dict[str, Any]]] = [
        ("alice", alice, {"is_long": True, "size": to_wad(2), "margin": to_units(1_000, USDC_DECIMALS)}),
        ("alice", alice, {"is_long": False, "size": to_wad("0.5"), "margin": to_units(300, USDC_DECIMALS),
                              "nonce": 1}),
        ("bob", bob, {"is_long": True, "size": to_wad(10), "margin": to_units(3_500, USDC_DECIMALS)}),
        ("carol", carol, {"is_long": False, "size": to_wad(5), "margin": to_units(5_000, USDC_DECIMALS)}),
    ]
    vaults = [(name, market.open(trader, **kw)) for name, trader, kw in stories]
    console.print(vault_table([(n, market.state(v)) for n, v in vaults], "Vaults at ETH = 3,000"))

    # Once the pool has shares, an LP enters by request: the assets now, the shares after the next
    # oracle round, at the worse of the two share prices.
    assets = to_units(100_000, USDC_DECIMALS)
    quote = market.request_deposit(dave, assets)
    console.print(f"dave requests a deposit of {_usdc(assets)} at ETH = 3,000: at most "
                  f"{quote / 10**int(market.pool.decimals()):,.4f} shares, settled after the next oracle round")

    _next_second(chain)
    feed.setAnswer(2800 * 10**8, sender=owner)  # the next oracle round
    market.add_margin(bob, vaults[2][1], to_units(1_000, USDC_DECIMALS))
    shares = market.settle_deposit(owner, dave)  # anyone may settle it
    final = [(n, market.state(v)) for n, v in vaults]
    console.print(vault_table(final, "ETH falls to 2,800; bob tops up 1,000 USDC"))
    pool = market.pool
    console.print(
        f"dave's deposit settles for {shares / 10**int(pool.decimals()):,.4f} shares, worth "
        f"{_usdc(int(pool.convertToAssets(shares)))} (the longs' loss raised the share price; a request "
        f"gets the worse of its two prices)"
    )
    console.print(
        f"pool: {_usdc(int(pool.totalAssets()))} of LP assets marked to ETH = 2,800 "
        f"({_usdc(int(pool.liquidity()))} realized), {_usdc(int(pool.reserved()))} reserved for maximum payouts"
    )
    return DemoResult(states=[s for _, s in final], market=market, newcomer=dave, deposit_assets=assets,
                      quote_shares=quote, settled_shares=shares)

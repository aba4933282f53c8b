"""The demo: deploy a market on the local chain, open a few positions, show each vault."""

from __future__ import annotations

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


def run_demo(accounts: Any, project: Any, console: Console | None = None) -> list[VaultState]:
    """Deploys the protocol and an ETH/USD market, opens four positions, moves the price and prints
    the vaults before and after. Returns the final states."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=150)
    owner, guardian, lp, alice, bob, carol = accounts[:6]
    usdc = owner.deploy(project.MockERC20, "USD Coin", "USDC", USDC_DECIMALS)
    feed = owner.deploy(project.MockAggregator, 8, 3000 * 10**8)
    oracle = deploy_oracle(owner, feed, max_age=3600)
    protocol = Protocol.deploy(owner, guardian)
    market: Market = protocol.create_market(owner, asset=usdc, oracle=oracle,
                                            params=MarketParams.default(USDC_DECIMALS),
                                            name="Ringfence ETH/USD LP", symbol="rfETH")
    console.print(f"[bold]Ringfence[/] factory {protocol.factory.address}, ETH/USD pool {market.address}")

    usdc.mint(lp, to_units(1_000_000, USDC_DECIMALS), sender=owner)
    market.deposit(lp, to_units(1_000_000, USDC_DECIMALS))
    for trader in (alice, bob, carol):
        usdc.mint(trader, to_units(100_000, USDC_DECIMALS), sender=owner)

    stories = [
        ("alice", alice, dict(is_long=True, size=to_wad(2), margin=to_units(1_000, USDC_DECIMALS))),
        ("alice", alice, dict(is_long=False, size=to_wad("0.5"), margin=to_units(300, USDC_DECIMALS),
                              nonce=1)),
        ("bob", bob, dict(is_long=True, size=to_wad(10), margin=to_units(3_500, USDC_DECIMALS))),
        ("carol", carol, dict(is_long=False, size=to_wad(5), margin=to_units(5_000, USDC_DECIMALS))),
    ]
    vaults = [(name, market.open(trader, **kw)) for name, trader, kw in stories]
    console.print(vault_table([(n, market.state(v)) for n, v in vaults], "Vaults at ETH = 3,000"))

    feed.setAnswer(2800 * 10**8, sender=owner)
    market.add_margin(bob, vaults[2][1], to_units(1_000, USDC_DECIMALS))
    final = [(n, market.state(v)) for n, v in vaults]
    console.print(vault_table(final, "ETH falls to 2,800; bob tops up 1,000 USDC"))
    console.print(
        f"pool: {market.pool.totalAssets() / 10**USDC_DECIMALS:,.2f} USDC of LP assets, "
        f"{market.pool.reserved() / 10**USDC_DECIMALS:,.2f} reserved for maximum payouts"
    )
    return [s for _, s in final]

"""The README's demo runs end to end and shows consistent vaults, and a second LP's deposit request
settles after the next oracle round at the worse of the two share prices."""

from __future__ import annotations

import io

from rich.console import Console

from ringfence.demo import run_demo

USDC = 10**6


def test_demo_opens_four_isolated_vaults_and_prints_them(accounts, project):
    out = io.StringIO()
    result = run_demo(accounts, project, Console(file=out, width=160))
    states = result.states
    assert len(states) == 4
    assert len({s.address for s in states}) == 4
    text = out.getvalue()
    assert "Vaults at ETH = 3,000" in text and "liq. price" in text
    for s in states:
        assert s.price_wad == 2800 * 10**18
        assert not s.liquidatable
        # Longs are liquidated below their liquidation price, shorts above it.
        assert (s.liquidation_price_wad < s.price_wad) if s.is_long else (s.liquidation_price_wad > s.price_wad)


def test_demo_deposit_request_settles_at_the_worse_share_price(accounts, project):
    out = io.StringIO()
    result = run_demo(accounts, project, Console(file=out, width=160))
    pool = result.market.pool
    text = out.getvalue()
    assert "dave requests a deposit of 100,000.00 USDC" in text and "dave's deposit settles for" in text

    # The marked LP assets: the realized liquidity plus the fees the open positions owe minus their PnL
    # (from the vaults' own views; a few units of rounding per vault, and the borrow fee of the seconds
    # between the reads).
    marked = int(pool.totalAssets())
    expected = int(pool.liquidity()) + sum(s.fees for s in result.states) - sum(s.pnl for s in result.states)
    assert abs(marked - expected) <= USDC // 100
    # The fall to 2,800 in the round after the request made the traders lose (12 ETH long against
    # 5.5 short): the LPs' share price rose, so the deposit got fewer shares than quoted ...
    assert sum(s.pnl for s in result.states) < -1_000 * USDC
    assert 0 < result.settled_shares < result.quote_shares
    assert int(pool.balanceOf(result.newcomer)) == result.settled_shares
    assert int(pool.pendingDeposits()) == 0
    # ... exactly what its assets buy at the settlement's price: worth what it paid, not the ~130 USDC
    # more that the quote's shares would be worth now.
    worth = int(pool.convertToAssets(result.settled_shares))
    assert abs(worth - result.deposit_assets) <= USDC // 100
    assert int(pool.convertToAssets(result.quote_shares)) > result.deposit_assets + 100 * USDC
    # Conservation: the pool holds the LPs' liquidity and the unclaimed credits, nothing pending.
    token = result.market.token()
    assert int(token.balanceOf(pool.address)) == int(pool.liquidity()) + int(pool.totalClaimable())

"""``ringfence markets``' market data: the LP share price and its change over 24 hours (n/a while
the chain is younger), the insurance fund, open interest against its cap, the profit cap and the
oracle's age. In this process on the session's chain."""

from __future__ import annotations

import re
from fractions import Fraction

from tests.conftest import ETH, USDC, advance_to, refresh_feeds
from tests.integration.test_cli_in_process import cli, one_line_error  # noqa: F401

DAY = 86_400


def test_markets_shows_the_share_price_its_change_the_fund_caps_and_oracle_age(
        cli, protocol, market, chain, owner, alice, usdc, params):
    first = cli("markets", "--json").json()[0]
    one_share = 10 ** market.share_decimals()
    assert first["share_price"] == market.pool.convertToAssets(one_share)
    assert first["share_price_change_7d"] is None
    text = cli("markets").out
    assert re.search(r"share price 7d:\s+n/a \(the chain is younger\)", text), text
    assert re.search(r"LP share price:\s+1\.0+ USDC per share", text), text
    assert "profit cap:" in text and f"{params.max_profit_wad // 10**18}x the margin" in text
    assert re.search(r"open interest:\s+long 0\.00 USDC of [\d,.]+ USDC cap \(0\.00%\)", text), text
    # A day later, a round trip pays the LPs its fees: the share price rises over 24 hours.
    before = market.pool.convertToAssets(one_share)
    advance_to(chain, chain.blocks.head.timestamp + DAY + 60)
    refresh_feeds(protocol, owner)
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC)
    market.close(alice, vault)
    data = cli("markets", "--json").json()[0]
    now = market.pool.convertToAssets(one_share)
    assert now > before and data["share_price"] == now
    if data["share_price_24h"] is None:
        # Anvil drops the state of past blocks once a test's snapshot is reverted: the CLI says so.
        assert chain.provider.name == "foundry", data["share_price_24h_unavailable"]
        assert data["share_price_24h_unavailable"].startswith("no state at block")
        assert data["share_price_change_24h"] is None
    else:
        assert data["share_price_24h"] == before and data["share_price_24h_unavailable"] is None
        assert Fraction(data["share_price_change_24h"]) == Fraction(now - before, before)
        assert re.search(r"share price 24h:\s+\+0\.\d{4}%", cli("markets").out)
    assert data["share_price_7d_unavailable"] == "the chain is younger"
    fund = market.pool.insuranceFund()
    assert data["insurance_fund"] == fund and data["insurance_fund_balance"] == usdc.balanceOf(fund)
    updated = market.latest_round_time()
    assert data["oracle_updated_at"] == updated
    assert data["oracle_age"] == chain.blocks.head.timestamp - updated and data["oracle_max_age"] == 3600


def test_markets_refuses_an_unknown_market(cli):
    line = one_line_error(cli("markets", "--market", "DOGE-USD"))
    assert "no market 'DOGE-USD'" in line and "ETH-USD" in line

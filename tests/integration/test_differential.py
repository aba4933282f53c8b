"""Differential property tests: the contracts' fees, equity, health, liquidation and bankruptcy
prices equal the Python reference model (ringfence.model) to the unit, over fuzzed sizes, prices,
margins, elapsed times, sides and settlement-token decimals (6 and 18)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence import model
from ringfence.sdk import MarketParams, deploy_oracle
from tests.conftest import sync_clock

WAD = 10**18


@pytest.fixture(scope="session", params=[6, 18], ids=["usd6", "usd18"])
def diff_market(request, project, chain, owner, protocol, lp, alice):
    """A market over a token of `decimals`, priced by an 18-decimal feed (every WAD price exact)."""
    sync_clock(chain)
    decimals = request.param
    token = owner.deploy(project.MockERC20, f"USD{decimals}", f"U{decimals}", decimals)
    feed = owner.deploy(project.MockAggregator, 18, 3000 * WAD)
    oracle = deploy_oracle(owner, feed, max_age=2 * 24 * 3600)
    params = MarketParams.default(decimals).with_(max_position_notional=10**9 * 10**decimals,
                                                  max_open_interest=10**10 * 10**decimals)
    market = protocol.create_market(owner, asset=token, oracle=oracle, params=params,
                                    name=f"d{decimals}", symbol=f"d{decimals}")
    token.mint(lp, 10**12 * 10**decimals, sender=owner)
    market.deposit(lp, 10**12 * 10**decimals)
    token.mint(alice, 10**12 * 10**decimals, sender=owner)
    token.approve(market.pool, 2**256 - 1, sender=alice)
    return market, feed, decimals


@given(
    is_long=st.booleans(),
    size=st.integers(min_value=10**17, max_value=10**22),  # 0.1 to 100,000 units
    entry=st.integers(min_value=500 * WAD, max_value=100_000 * WAD),
    leverage_tenths=st.integers(min_value=10, max_value=95),  # 1.0x to 9.5x
    move_bp=st.integers(min_value=-5_000, max_value=5_000),  # price move in basis points
    dust=st.integers(min_value=0, max_value=10**12),  # wei-level noise on the new price
    elapsed=st.integers(min_value=0, max_value=90 * 24 * 3600),
)
def test_vault_views_equal_reference_model(
    diff_market, chain, alice, owner, is_long, size, entry, leverage_tenths, move_bp, dust, elapsed
):
    market, feed, decimals = diff_market
    params = market.params()
    scale = 10 ** (36 - decimals)
    notional = model.notional_up(size, entry, scale)
    margin = notional * 10 // leverage_tenths + model.requirement_up(notional, params.open_fee_wad) + 1
    if notional < params.min_notional or margin < params.min_margin:
        return
    # Not chain.isolate(): it swallows exceptions (ape 0.8.51), so failed asserts would pass.
    snapshot = chain.snapshot()
    try:
        feed.setAnswer(entry, sender=owner)
        vault = market.open(alice, is_long=is_long, size=size, margin=margin, approve=False)
        price = max(1, entry * (10_000 + move_bp) // 10_000 + dust)
        chain.mine(timestamp=chain.pending_timestamp + elapsed)
        feed.setAnswer(price, sender=owner)
        state = market.state(vault)

        raw = market.pool.position(vault)
        position = model.Position.from_struct(raw)
        assert position.entry_price == entry and position.margin == margin
        fee_index = int(market.pool.currentFeeIndex())
        fees = model.position_fees_up(position, fee_index, scale)
        mm = params.maintenance_margin_wad

        assert state.fees == fees
        assert state.equity == model.equity_down(position, price, fees, scale)
        assert state.health_wad == model.health_down(position, price, fees, scale, mm)
        assert state.liquidation_price_wad == model.position_liquidation_price(position, fees, scale, mm)
        assert state.bankruptcy_price_wad == model.bankruptcy_price(
            is_long, size, entry, margin, fees, scale)
        assert state.liquidatable == model.is_liquidatable(is_long, price, state.liquidation_price_wad)

        # Rounding favours the protocol: fees never below, equity never above the exact values.
        exact_fees = Fraction(model.entry_notional_up(position, scale) * (fee_index - position.fee_base), WAD)
        assert fees >= exact_fees > fees - 1
        move = Fraction(size * (price - entry), scale) * (1 if is_long else -1)
        exact_equity = margin + min(move, position.max_profit) - fees
        assert exact_equity - 1 < state.equity <= exact_equity
        # The liquidation price is the exact boundary of `equity < MM * notional` (loss side).
        liq = state.liquidation_price_wad
        if liq > 0:
            def liquidatable_exact(p: int) -> bool:
                e = margin + Fraction(size * (p - entry), scale) * (1 if is_long else -1) - fees
                return e < Fraction(mm, WAD) * Fraction(size * p, scale)
            healthy_side, bad_side = (liq, liq - 1) if is_long else (liq, liq + 1)
            assert not liquidatable_exact(healthy_side)
            assert bad_side <= 0 or liquidatable_exact(bad_side)
    finally:
        chain.restore(snapshot)


def test_fee_index_grows_linearly_with_time(diff_market, chain):
    market, _, _ = diff_market
    rate = market.params().borrow_rate_wad
    start_time = chain.blocks.head.timestamp
    start = int(market.pool.currentFeeIndex())
    chain.mine(timestamp=start_time + 86_400)
    elapsed = chain.blocks.head.timestamp - start_time
    assert int(market.pool.currentFeeIndex()) - start == elapsed * rate

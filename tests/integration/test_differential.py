"""Differential property tests: the contracts' fees, equity, health, liquidation and bankruptcy
prices, open fee, profit cap and close settlement equal the Python reference model
(ringfence.model) to the unit, over fuzzed sizes, prices, margins, elapsed times, sides and
settlement-token decimals (6 and 18). Every composed amount (fees, requirements, the profit cap) is
rounded once in the protocol's favour, so it is also held within one unit of the exact rational
value."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence import model
from ringfence.sdk import MarketParams, deploy_oracle
from tests.conftest import apply_params, sync_clock

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
    margin = notional * 10 // leverage_tenths + model.notional_ratio_up(size, entry, params.open_fee_wad, scale) + 1
    if notional < params.min_notional or margin < params.min_margin:
        return
    # Not chain.isolate(): it swallows exceptions (ape 0.8.51), so failed asserts would pass.
    snapshot = chain.snapshot()
    try:
        feed.setAnswer(entry, sender=owner)
        open_receipt = market.pool.openPosition(0, is_long, size, margin, 0, sender=alice)
        vault = market.vault_address(alice, 0)
        opened = open_receipt.decode_logs(market.pool.PositionOpened)[0]
        mp = model.MarketParams.from_chain(params, decimals)
        k = params.max_profit_wad
        # The open as the model books it, and its amounts within one unit of the exact ones.
        index_at_open = int(opened.feeBaseWad) + params.open_fee_wad
        expected = model.open_position(
            mp, is_long=is_long, size=size, price_wad=entry, margin=margin,
            fee_index_wad=index_at_open, open_interest=0, free_liquidity=2**256 - 1,
        )
        assert model.Position.from_chain(market.pool.position(vault)) == expected.position
        assert int(opened.openFee) == expected.open_fee
        assert int(opened.maxProfit) == expected.max_profit
        exact_open_fee = Fraction(size * entry * params.open_fee_wad, scale * WAD)
        assert exact_open_fee <= int(opened.openFee) < exact_open_fee + 1
        exact_cap = model.exact_max_profit(margin, k, Fraction(size * entry, scale))
        assert exact_cap - 1 < int(opened.maxProfit) <= exact_cap
        price = max(1, entry * (10_000 + move_bp) // 10_000 + dust)
        chain.mine(timestamp=chain.pending_timestamp + elapsed)
        feed.setAnswer(price, sender=owner)
        state = market.state(vault)

        raw = market.pool.position(vault)
        position = model.Position.from_chain(raw)
        assert position.entry_price_wad == entry and position.margin == margin
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

        # Rounding favours the protocol: fees never below, equity never above the exact values;
        # the fees, rounded once on the exact entry notional s * E, are within one unit.
        exact_fees = Fraction(size * entry * (fee_index - position.fee_base_wad), scale * WAD)
        assert exact_fees <= state.fees < exact_fees + 1
        # The keeper's ranking estimate on the rounded-up entry notional is never below them.
        assert state.fees <= model.fees_on_notional_up(
            model.entry_notional_up(position, scale), fee_index, position.fee_base_wad)
        # The maintenance requirement behind the health, rounded once: within one unit.
        requirement = model.notional_ratio_up(size, price, mm, scale)
        exact_requirement = Fraction(size * price * mm, scale * WAD)
        assert exact_requirement <= requirement < exact_requirement + 1
        if requirement > 0 and state.equity > 0:
            assert state.health_wad == state.equity * WAD // requirement
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

        # Close: the fees owed and the close fee, rounded up once, at the index of the close block.
        receipt = market.pool.closePosition(vault, alice, 0, sender=alice)
        closed = receipt.decode_logs(market.pool.PositionClosed)[0]
        index_at_close = index_at_open + params.borrow_rate_wad * (
            receipt.timestamp - open_receipt.timestamp)
        charged = model.closing_fees_up(position, index_at_close, price, params.close_fee_wad, scale)
        exact_charged = Fraction(
            size * (entry * (index_at_close - position.fee_base_wad) + price * params.close_fee_wad),
            scale * WAD)
        assert exact_charged <= charged < exact_charged + 1
        settlement = model.close_position(mp, position, price, index_at_close, insurance_fund=0)
        assert int(closed.fees) == charged
        assert int(closed.pnl) == model.pnl_down(is_long, size, entry, price, scale, position.max_profit)
        assert int(closed.payout) == settlement.payout
        assert int(closed.badDebt) == settlement.bad_debt
    finally:
        chain.restore(snapshot)


@given(
    size=st.integers(min_value=10**16, max_value=10**21),
    margin_tenths=st.integers(min_value=2, max_value=200),  # 0.2x to 20x the notional
    removed_bp=st.integers(min_value=1, max_value=9_000),
)
def test_remove_margin_lowers_the_profit_cap_like_the_model(
    diff_market, chain, alice, owner, size, margin_tenths, removed_bp
):
    """Removing margin lowers the position's cap (and the pool's reserve) to the cap of the margin
    left when that is smaller, never raising it, as ``model.remove_margin`` does."""
    market, feed, decimals = diff_market
    params = market.params()
    mp = model.MarketParams.from_chain(params, decimals)
    scale = 10 ** (36 - decimals)
    entry = 3000 * WAD
    notional = model.notional_up(size, entry, scale)
    margin = notional * margin_tenths // 10 + 1
    if notional < params.min_notional or margin < params.min_margin:
        return
    snapshot = chain.snapshot()
    try:
        feed.setAnswer(entry, sender=owner)
        vault = market.open(alice, is_long=True, size=size, margin=margin, approve=False)
        before = model.Position.from_chain(market.pool.position(vault))
        reserved_before = int(market.pool.reserved())
        # An hour of borrow fee beyond now: if the model allows the removal then, the pool does
        # in the next block (the result does not depend on the fee index, only the test does).
        fee_index = int(market.pool.currentFeeIndex()) + params.borrow_rate_wad * 3600
        amount = max(1, margin * removed_bp // 10_000)
        try:
            expected = model.remove_margin(mp, before, amount, entry, fee_index)
        except (model.InsufficientMargin, model.MarginBelowMinimum):
            return  # refused by the model (the contract's refusals are tested elsewhere)
        market.pool.removeMargin(vault, amount, alice, sender=alice)
        after = model.Position.from_chain(market.pool.position(vault))
        assert after == expected
        assert after.max_profit <= before.max_profit
        cap_left = model.profit_cap_down(after.margin, size, entry, scale, params.max_profit_wad)
        assert after.max_profit == min(before.max_profit, cap_left)
        exact = model.exact_max_profit(after.margin, params.max_profit_wad, Fraction(size * entry, scale))
        assert after.max_profit <= exact
        assert reserved_before - int(market.pool.reserved()) == before.max_profit - after.max_profit
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


def test_fee_index_bends_where_the_rate_changes(diff_market, chain, owner, protocol):
    """No operation writes the index; a parameter change moves its checkpoint to that second at the old
    rate, then the new rate applies: the index is continuous and only its slope changes."""
    market, _, _ = diff_market
    snapshot = chain.snapshot()
    try:
        old_rate = market.params().borrow_rate_wad
        start_time = chain.blocks.head.timestamp
        start = int(market.pool.currentFeeIndex())
        new_rate = old_rate * 3 + 7
        receipt = apply_params(protocol, market.pool, market.params().with_(borrow_rate_wad=new_rate), owner)
        changed = chain.blocks[receipt.block_number].timestamp
        assert market.params().borrow_rate_wad == new_rate
        chain.mine(timestamp=changed + 10_000)
        now = chain.blocks.head.timestamp
        expected = start + old_rate * (changed - start_time) + new_rate * (now - changed)
        assert int(market.pool.currentFeeIndex()) == expected
    finally:
        chain.restore(snapshot)

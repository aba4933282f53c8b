"""The reference model's top-up trigger price (``model.top_up_price``) against its own health figure:
below the price (a long; above it, a short) the position's health is under the policy's trigger, on the
other side of it, beyond the rounding of one asset unit, it is not."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ringfence import model as m
from ringfence.model import WAD

SCALE = 10**30  # a 6-decimal settlement token


def _position(is_long: bool, size: int, entry: int, margin: int) -> m.Position:
    return m.Position(size=size, entry_price_wad=entry, margin=margin, max_profit=2**95,
                      fee_base_wad=WAD, is_long=is_long)


@settings(max_examples=300, deadline=None)
@given(
    is_long=st.booleans(),
    size=st.integers(10**15, 10**21),
    entry=st.integers(100 * WAD, 100_000 * WAD),
    leverage=st.integers(2, 20),
    fees=st.integers(0, 10**6),
    mm_bps=st.integers(100, 2_000),
    trigger_bps=st.integers(10_001, 30_000),
)
def test_top_up_price_is_where_health_crosses_the_trigger(is_long, size, entry, leverage, fees, mm_bps,
                                                          trigger_bps):
    notional = size * entry // SCALE
    margin = notional // leverage
    assume(margin > fees + 10)
    position = _position(is_long, size, entry, margin)
    mm, trigger = mm_bps * 10**14, trigger_bps * 10**14
    price = m.top_up_price(position, fees, SCALE, mm, trigger)
    assume(0 < price < m.MAX_UINT256)
    # the health rounds its two parts by an asset unit each (equity down, requirement up: a relative
    # error up to ~1e-9 at these sizes); a billionth of the price plus a few units of equity covers it
    slack = 16 * (-(-SCALE // size)) + price // 10**9 + 2
    below, above = (price - slack, price + slack) if is_long else (price + slack, price - slack)
    assume(below > 0 and above > 0)
    assert m.health_down(position, below, fees, SCALE, mm) < trigger
    assert m.health_down(position, above, fees, SCALE, mm) >= trigger


def test_top_up_price_sits_between_the_liquidation_price_and_the_entry():
    position = _position(True, 10**18, 3_000 * WAD, 300 * 10**6)
    mm = 5 * 10**16
    liquidation = m.position_liquidation_price(position, 0, SCALE, mm)
    at_trigger = m.top_up_price(position, 0, SCALE, mm, 13 * 10**17)
    assert liquidation < at_trigger < 3_000 * WAD
    short = _position(False, 10**18, 3_000 * WAD, 300 * 10**6)
    assert 3_000 * WAD < m.top_up_price(short, 0, SCALE, mm, 13 * 10**17) < m.position_liquidation_price(
        short, 0, SCALE, mm)


def test_a_long_whose_trigger_times_mm_reaches_one_is_always_below_it():
    position = _position(True, 10**18, 3_000 * WAD, 300 * 10**6)
    assert m.top_up_price(position, 0, SCALE, 5 * 10**17, 2 * WAD) == m.MAX_UINT256

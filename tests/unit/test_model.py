"""Unit tests of the Python reference model (``ringfence.model``): the integer mirrors of
``MarginMath.sol`` against the exact-rational formulas of docs/maths.md, the flows of the pool, and
worked examples by hand. No chain is used."""

from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ringfence import model as m
from ringfence.model import WAD

USDC = 10**6
ETH = 10**18
USDC_SCALE = m.scale_for(6)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

decimals_st = st.sampled_from([6, 8, 18, 24])
size_st = st.integers(min_value=10**12, max_value=10**30)
price_st = st.integers(min_value=10**6, max_value=10**30)
mm_st = st.one_of(
    st.sampled_from([0, 10**16, 5 * 10**16, 10**17, WAD // 3]),
    st.integers(min_value=0, max_value=WAD - 1),
)


@st.composite
def position_states(draw: st.DrawFn) -> tuple[bool, int, int, int, int, int, int]:
    """``(is_long, size, entry, margin, fees, scale, mm)`` with the margin and fees spread around
    the position's notional, so liquidation prices land on both sides of the entry and at 0."""
    scale = m.scale_for(draw(decimals_st))
    size = draw(size_st)
    entry = draw(price_st)
    notional = m.notional_up(size, entry, scale)
    margin = draw(
        st.one_of(
            st.integers(min_value=0, max_value=2 * notional + 10),
            st.integers(min_value=0, max_value=notional // 10 + 10),
        )
    )
    fees = draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=2 * margin + 10)))
    return draw(st.booleans()), size, entry, margin, fees, scale, draw(mm_st)


def _params(**changes: int) -> m.MarketParams:
    base = {
        "asset_decimals": 6,
        "initial_margin_wad": 10**17,
        "maintenance_margin_wad": 5 * 10**16,
    }
    base.update(changes)
    return m.MarketParams(**base)


# ------------------------------------------------------------------ liquidation boundary


@PROPERTY
@given(state=position_states())
def test_liquidation_price_at_integer_boundary_is_exact_threshold(
    state: tuple[bool, int, int, int, int, int, int],
) -> None:
    is_long, size, entry, margin, fees, scale, mm = state
    liq = m.liquidation_price(is_long, size, entry, margin, fees, scale, mm)

    def exact(price: int) -> bool:
        return m.exact_is_liquidatable(is_long, size, entry, price, margin, fees, scale, mm)

    if is_long:
        if liq == 0:  # never liquidatable: the margin covers the price falling to zero
            assert not exact(0) and not exact(1) and not exact(entry)
        else:
            assert exact(liq - 1)
            assert not exact(liq)
    elif liq == 0:  # liquidatable at every positive price
        assert exact(1) and exact(entry)
    else:
        assert not exact(liq)
        assert exact(liq + 1)


@PROPERTY
@given(state=position_states(), price=price_st)
def test_is_liquidatable_any_positive_price_matches_exact_rule(
    state: tuple[bool, int, int, int, int, int, int], price: int
) -> None:
    is_long, size, entry, margin, fees, scale, mm = state
    liq = m.liquidation_price(is_long, size, entry, margin, fees, scale, mm)
    expected = m.exact_is_liquidatable(is_long, size, entry, price, margin, fees, scale, mm)
    assert m.is_liquidatable(is_long, price, liq) == expected


@PROPERTY
@given(state=position_states())
def test_liquidation_price_any_state_rounds_exact_price_towards_danger(
    state: tuple[bool, int, int, int, int, int, int],
) -> None:
    is_long, size, entry, margin, fees, scale, mm = state
    liq = m.liquidation_price(is_long, size, entry, margin, fees, scale, mm)
    exact = m.exact_liquidation_price(is_long, size, entry, margin, fees, scale, mm)
    if exact <= 0:
        assert liq == 0
    elif is_long:
        assert liq == ceil(exact)
    else:
        assert liq == floor(exact)


# ------------------------------------------------------------------ bankruptcy price


@PROPERTY
@given(state=position_states())
def test_bankruptcy_price_any_state_within_one_wei_towards_danger(
    state: tuple[bool, int, int, int, int, int, int],
) -> None:
    is_long, size, entry, margin, fees, scale, _ = state
    price = m.bankruptcy_price(is_long, size, entry, margin, fees, scale)
    exact = m.exact_bankruptcy_price(is_long, size, entry, margin, fees, scale)
    if exact <= 0:
        assert price == 0
    elif is_long:  # a long is bankrupt below: round up
        assert exact <= price < exact + 1
    else:  # a short is bankrupt above: round down
        assert exact - 1 < price <= exact


@PROPERTY
@given(state=position_states())
def test_bankruptcy_price_any_state_separates_solvent_from_insolvent(
    state: tuple[bool, int, int, int, int, int, int],
) -> None:
    is_long, size, entry, margin, fees, scale, _ = state
    price = m.bankruptcy_price(is_long, size, entry, margin, fees, scale)
    assume(price > 0)
    pnl = m.exact_pnl(is_long, size, entry, price, scale)
    next_pnl = m.exact_pnl(is_long, size, entry, price + (-1 if is_long else 1), scale)
    # Solvent at the integer bankruptcy price, insolvent one wei further towards danger, and
    # its equity is less than one wei's worth of price move.
    assert m.exact_equity(margin, next_pnl, fees) < 0 <= m.exact_equity(margin, pnl, fees)
    assert m.exact_equity(margin, pnl, fees) < Fraction(size, scale)


# ------------------------------------------------------------------ PnL, notional, fees


@PROPERTY
@given(
    is_long=st.booleans(),
    decimals=decimals_st,
    size=size_st,
    entry=price_st,
    price=price_st,
    cap=st.one_of(st.just(m.MAX_UINT128), st.integers(min_value=0, max_value=10**40)),
)
def test_pnl_down_any_move_never_exceeds_exact_and_within_one_unit(
    is_long: bool, decimals: int, size: int, entry: int, price: int, cap: int
) -> None:
    scale = m.scale_for(decimals)
    pnl = m.pnl_down(is_long, size, entry, price, scale, cap)
    exact = m.exact_pnl(is_long, size, entry, price, scale, max_profit=cap)
    assert exact - 1 < pnl <= exact
    assert pnl <= m.exact_pnl(is_long, size, entry, price, scale)  # the cap only lowers it


@PROPERTY
@given(decimals=decimals_st, size=size_st, price=price_st)
def test_notional_any_inputs_brackets_exact_within_one_unit(
    decimals: int, size: int, price: int
) -> None:
    scale = m.scale_for(decimals)
    exact = m.exact_notional(size, price, scale)
    down, up = m.notional_down(size, price, scale), m.notional_up(size, price, scale)
    assert exact - 1 < down <= exact <= up < exact + 1
    assert up - down == (0 if exact.denominator == 1 else 1)


fee_base_st = st.integers(min_value=0, max_value=2 * WAD)
growth_st = st.one_of(st.just(0), st.integers(min_value=0, max_value=10 * WAD))
ratio_st = st.one_of(st.sampled_from([0, 1, 10**15, 10**16, WAD]), st.integers(0, 10 * WAD))


def _exact_fees(size: int, entry: int, index: int, base: int, scale: int) -> Fraction:
    """``s * E * (index - base)`` in assets, exactly (no rounded entry notional)."""
    return m.exact_fees(m.exact_notional(size, entry, scale), index, base)


def _exact_ratio(size: int, price: int, ratio: int, scale: int) -> Fraction:
    """``ratio * s * P`` in assets, exactly."""
    return m.exact_requirement(m.exact_notional(size, price, scale), ratio)


@PROPERTY
@given(
    decimals=decimals_st,
    size=st.integers(min_value=0, max_value=10**30),
    entry=price_st,
    fee_base=fee_base_st,
    growth=growth_st,
    ratio=ratio_st,
)
def test_fees_up_and_requirement_up_any_inputs_at_least_exact(
    decimals: int, size: int, entry: int, fee_base: int, growth: int, ratio: int
) -> None:
    """Fees and requirements are owed by the trader: never below the exact amount, and rounded
    once, so less than one unit above it. The old estimate on a rounded-up entry notional (kept
    for the keeper's ranking) is never below the fees the pool charges."""
    scale = m.scale_for(decimals)
    index = fee_base + growth
    fees = m.fees_up(size, entry, index, fee_base, scale)
    exact = _exact_fees(size, entry, index, fee_base, scale)
    assert exact <= fees < exact + 1
    assert fees == ceil(exact)
    estimate = m.fees_on_notional_up(m.notional_up(size, entry, scale), index, fee_base)
    assert fees <= estimate < exact + Fraction(growth, WAD) + 1
    requirement = m.notional_ratio_up(size, entry, ratio, scale)
    exact_requirement = _exact_ratio(size, entry, ratio, scale)
    assert exact_requirement <= requirement < exact_requirement + 1
    # Never above the two-rounding requirement on the rounded-up notional it replaces.
    assert requirement <= m.requirement_up(m.notional_up(size, entry, scale), ratio)
    notional = m.notional_up(size, entry, scale)
    exact_on_notional = m.exact_requirement(notional, ratio)
    assert exact_on_notional <= m.requirement_up(notional, ratio) < exact_on_notional + 1


# ------------------------------------------------------------------ one rounding: within one unit


@PROPERTY
@given(
    decimals=decimals_st,
    size=st.integers(min_value=0, max_value=10**30),
    entry=price_st,
    fee_base=fee_base_st,
    growth=growth_st,
)
def test_fees_up_any_inputs_within_one_unit_above_exact(
    decimals: int, size: int, entry: int, fee_base: int, growth: int
) -> None:
    scale = m.scale_for(decimals)
    exact = _exact_fees(size, entry, fee_base + growth, fee_base, scale)
    fees = m.fees_up(size, entry, fee_base + growth, fee_base, scale)
    assert exact <= fees < exact + 1
    position = m.Position(
        size=size, entry_price_wad=entry, margin=0, max_profit=0, fee_base_wad=fee_base, is_long=True
    )
    assert m.position_fees_up(position, fee_base + growth, scale) == fees


@PROPERTY
@given(decimals=decimals_st, size=st.integers(0, 10**30), price=price_st, ratio=ratio_st)
def test_notional_ratio_up_and_down_any_inputs_within_one_unit_of_exact(
    decimals: int, size: int, price: int, ratio: int
) -> None:
    scale = m.scale_for(decimals)
    exact = _exact_ratio(size, price, ratio, scale)
    up = m.notional_ratio_up(size, price, ratio, scale)
    down = m.notional_ratio_down(size, price, ratio, scale)
    assert exact <= up < exact + 1
    assert exact - 1 < down <= exact
    assert up - down == (0 if exact.denominator == 1 else 1)


@PROPERTY
@given(
    decimals=decimals_st,
    size=st.integers(0, 10**30),
    entry=price_st,
    price=price_st,
    fee_base=fee_base_st,
    growth=growth_st,
    close_fee=st.one_of(st.sampled_from([0, 10**15, 10**16]), st.integers(0, 10**16)),
)
def test_closing_fees_up_any_inputs_within_one_unit_above_exact(
    decimals: int, size: int, entry: int, price: int, fee_base: int, growth: int, close_fee: int
) -> None:
    """Fees owed plus the close fee, rounded once: within one unit above the exact sum, never
    above the two amounts rounded apart, and at least each of them."""
    scale = m.scale_for(decimals)
    index = fee_base + growth
    position = m.Position(
        size=size, entry_price_wad=entry, margin=0, max_profit=0, fee_base_wad=fee_base, is_long=True
    )
    closing = m.closing_fees_up(position, index, price, close_fee, scale)
    exact = _exact_fees(size, entry, index, fee_base, scale) + _exact_ratio(
        size, price, close_fee, scale
    )
    assert exact <= closing < exact + 1
    fees = m.fees_up(size, entry, index, fee_base, scale)
    fee_on_close = m.notional_ratio_up(size, price, close_fee, scale)
    assert max(fees, fee_on_close) <= closing <= fees + fee_on_close


@PROPERTY
@given(
    decimals=decimals_st,
    size=st.integers(0, 10**30),
    entry=price_st,
    margin=st.one_of(st.integers(0, 10**20), st.integers(0, m.MAX_UINT128)),
    cap=st.integers(min_value=WAD, max_value=10 * WAD),
)
def test_profit_cap_down_any_inputs_within_one_unit_below_exact(
    decimals: int, size: int, entry: int, margin: int, cap: int
) -> None:
    """``floor(k * min(m, s * E))``: never above the exact cap on the margin or on the exact
    notional, and within one unit below the smaller."""
    scale = m.scale_for(decimals)
    profit_cap = m.profit_cap_down(margin, size, entry, scale, cap)
    exact = m.exact_max_profit(margin, cap, m.exact_notional(size, entry, scale))
    assert exact - 1 < profit_cap <= exact
    assert profit_cap == floor(exact)
    assert profit_cap <= m.exact_max_profit(margin, cap)
    assert profit_cap <= m.exact_requirement(m.exact_notional(size, entry, scale), cap)


def test_fees_up_rounds_once_large_position_example() -> None:
    """27.96 units at 4,590.07246464 (6-decimal token) with a fee index 0.0202... above the
    base: the exact fee is 2,595.351512997401... assets, charged 2,595.351513. Rounding the entry
    notional up first (128,338.962302 for 128,338.962301...) charged one unit more."""
    size, entry, delta = 27960116815150390770, 4590072464640000000000, 20222631276256702
    exact = _exact_fees(size, entry, WAD + delta, WAD, USDC_SCALE)
    assert 2595351512 < exact < 2595351513
    assert exact - 2595351512 > Fraction(9974, 10**4)  # 2595351512.9974...
    assert m.fees_up(size, entry, WAD + delta, WAD, USDC_SCALE) == 2595351513
    position = m.Position(
        size=size, entry_price_wad=entry, margin=0, max_profit=0, fee_base_wad=WAD, is_long=True
    )
    assert m.position_fees_up(position, WAD + delta, USDC_SCALE) == 2595351513
    assert m.closing_fees_up(position, WAD + delta, entry, 0, USDC_SCALE) == 2595351513
    # The old composition (and the keeper's ranking estimate) on ceil(s * E):
    entry_notional = m.notional_up(size, entry, USDC_SCALE)
    assert entry_notional == 128338962302
    assert m.fees_on_notional_up(entry_notional, WAD + delta, WAD) == 2595351514


@PROPERTY
@given(rate=st.integers(min_value=0, max_value=10**12), seconds=st.integers(0, 10**9))
def test_fee_index_at_any_time_grows_linearly_from_wad(rate: int, seconds: int) -> None:
    index = m.fee_index_at(rate, seconds)
    assert index == WAD + rate * seconds
    assert m.fee_index_at(rate, 1, index) - index == rate


# ------------------------------------------------------------------ equity, health, margin tests


@PROPERTY
@given(
    state=position_states(),
    price=price_st,
    cap_fraction=st.integers(min_value=0, max_value=20),
)
def test_equity_down_any_state_never_exceeds_exact_and_within_one_unit(
    state: tuple[bool, int, int, int, int, int, int], price: int, cap_fraction: int
) -> None:
    is_long, size, entry, margin, fees, scale, mm = state
    assume(margin <= m.MAX_UINT128)
    cap = min(m.MAX_UINT128, margin * cap_fraction)
    position = m.Position(
        size=size, entry_price_wad=entry, margin=margin, max_profit=cap, fee_base_wad=0, is_long=is_long
    )
    equity = m.equity_down(position, price, fees, scale)
    pnl = m.exact_pnl(is_long, size, entry, price, scale, max_profit=cap)
    exact = m.exact_equity(margin, pnl, fees)
    assert exact - 1 < equity <= exact
    assert equity == m.equity(margin, m.pnl_down(is_long, size, entry, price, scale, cap), fees)

    health = m.health_down(position, price, fees, scale, mm)
    requirement = m.notional_ratio_up(size, price, mm, scale)
    exact_requirement = _exact_ratio(size, price, mm, scale)
    assert exact_requirement <= requirement < exact_requirement + 1
    if requirement == 0:
        assert health == m.MAX_UINT256
    elif equity <= 0:
        assert health == 0
    else:
        exact_health = m.exact_health(exact, size, price, scale, mm)
        assert health <= exact_health * WAD  # never shows the position healthier than it is
        assert health == equity * WAD // requirement


@PROPERTY
@given(
    state=position_states(),
    price=price_st,
    im=st.integers(min_value=10**15, max_value=WAD),
)
def test_initial_margin_test_passing_any_state_implies_exact_design_rule(
    state: tuple[bool, int, int, int, int, int, int], price: int, im: int
) -> None:
    is_long, size, entry, margin, fees, scale, _ = state
    assume(margin <= m.MAX_UINT128)
    position = m.Position(
        size=size,
        entry_price_wad=entry,
        margin=margin,
        max_profit=m.MAX_UINT128,
        fee_base_wad=0,
        is_long=is_long,
    )
    available, required = m.initial_margin_test(position, price, fees, scale, im)
    pnl = m.exact_pnl(is_long, size, entry, price, scale)
    assert available <= m.exact_available_margin(margin, pnl, fees)
    exact_required = m.exact_requirement(m.exact_notional(size, price, scale), im)
    assert exact_required <= required < exact_required + 1
    if available >= required:
        assert m.exact_margin_sufficient(is_long, size, entry, price, margin, fees, scale, im)


# ------------------------------------------------------------------ open, margin, close flows


@PROPERTY
@given(
    is_long=st.booleans(),
    decimals=decimals_st,
    size=st.integers(min_value=10**15, max_value=10**24),
    price=st.integers(min_value=10**16, max_value=10**24),
    open_fee=st.integers(min_value=0, max_value=10**16),
    close_fee=st.integers(min_value=0, max_value=10**16),
    rate=st.integers(min_value=0, max_value=10**10),
    seconds=st.integers(min_value=0, max_value=365 * 24 * 3600),
    extra=st.integers(min_value=0, max_value=10**12),
)
def test_open_then_close_at_same_price_any_fees_returns_at_most_margin(
    is_long: bool,
    decimals: int,
    size: int,
    price: int,
    open_fee: int,
    close_fee: int,
    rate: int,
    seconds: int,
    extra: int,
) -> None:
    params = _params(
        asset_decimals=decimals,
        open_fee_wad=open_fee,
        close_fee_wad=close_fee,
        borrow_rate_wad=rate,
    )
    scale = params.scale
    margin = (
        m.notional_ratio_up(size, price, params.initial_margin_wad, scale)
        + m.notional_ratio_up(size, price, open_fee, scale)
        + extra
    )
    assume(0 < margin <= m.MAX_UINT88)  # a position's margin field (MarginPool.StoredPosition)
    opened = _open(params, is_long=is_long, size=size, price_wad=price, margin=margin,
                   free_liquidity=m.MAX_UINT256)
    assert opened.open_fee == m.notional_ratio_up(size, price, open_fee, scale)
    assert m.position_fees_up(opened.position, WAD, scale) == opened.open_fee
    later = m.fee_index_at(rate, seconds)
    closed = m.close_position(params, opened.position, price, later, insurance_fund=0)
    assert closed.payout <= margin  # the A1 round trip never pays the trader
    # Fees owed (open and borrow) and the close fee, rounded up once.
    charged = m.closing_fees_up(opened.position, later, price, close_fee, scale)
    exact = _exact_fees(size, price, later, opened.position.fee_base_wad, scale) + _exact_ratio(
        size, price, close_fee, scale
    )
    assert exact <= charged < exact + 1
    assert closed.payout == max(0, margin - charged)
    assert closed.result == margin - charged
    assert margin - exact - 1 < closed.result <= margin - exact
    if open_fee == close_fee == 0 and (rate == 0 or seconds == 0):
        assert closed.payout == closed.vault_to_owner == margin
        assert closed.vault_to_pool == closed.pool_to_owner == closed.pool_net == 0


@PROPERTY
@given(
    margin=st.integers(min_value=0, max_value=10**30),
    pnl=st.integers(min_value=-(10**31), max_value=10**31),
    fees=st.integers(min_value=0, max_value=10**30),
    close_fee=st.integers(min_value=0, max_value=10**30),
    insurance=st.integers(min_value=0, max_value=10**31),
)
def test_settle_close_any_outcome_conserves_tokens(
    margin: int, pnl: int, fees: int, close_fee: int, insurance: int
) -> None:
    s = m.settle_close(margin, pnl, fees, close_fee, insurance)
    result = margin + pnl - fees - close_fee
    flows = (s.vault_to_owner, s.vault_to_pool, s.pool_to_owner, s.insurance_to_pool, s.lp_loss)
    assert all(flow >= 0 for flow in flows)
    assert s.result == result
    assert s.vault_to_owner + s.vault_to_pool == margin
    assert s.vault_to_owner + s.pool_to_owner == s.payout == max(result, 0)
    assert s.payout + s.pool_net == margin + s.insurance_to_pool
    assert s.pool_net == fees + close_fee - pnl - s.lp_loss
    assert s.insurance_to_pool + s.lp_loss == s.bad_debt == max(-result, 0)
    assert s.insurance_to_pool == min(insurance, s.bad_debt)
    assert s.pool_to_owner == 0 or s.vault_to_owner == margin  # the vault pays first


def _open(
    params: m.MarketParams,
    *,
    is_long: bool = True,
    size: int = ETH,
    price_wad: int = 3000 * WAD,
    margin: int = 400 * USDC,
    open_interest: int = 0,
    free_liquidity: int = 10**6 * USDC,
) -> m.OpenResult:
    """1 ETH long at 3,000 (USDC market) with 400 USDC at fee index 1, unless told otherwise."""
    return m.open_position(
        params,
        is_long=is_long,
        size=size,
        price_wad=price_wad,
        margin=margin,
        fee_index_wad=WAD,
        open_interest=open_interest,
        free_liquidity=free_liquidity,
    )


@pytest.mark.parametrize(
    ("changes", "param_changes", "error", "attrs"),
    [
        ({"size": 0}, {}, m.ZeroSize, {}),
        ({}, {"min_margin": 401 * USDC}, m.MarginBelowMinimum, {"margin": 400 * USDC}),
        ({}, {"min_notional": 3001 * USDC}, m.NotionalBelowMinimum, {"notional": 3000 * USDC}),
        ({}, {"max_position_notional": 2999 * USDC}, m.PositionTooLarge, {"maximum": 2999 * USDC}),
        (
            {"open_interest": 7001 * USDC},
            {"max_open_interest": 10_000 * USDC},
            m.OpenInterestCapExceeded,
            {"open_interest": 10_001 * USDC, "cap": 10_000 * USDC},
        ),
        (
            {"margin": 302 * USDC},
            {"open_fee_wad": 10**15},
            m.LeverageTooHigh,
            {"available": 299 * USDC, "required": 300 * USDC},
        ),
        (
            {"free_liquidity": 3599 * USDC},
            {},
            m.InsufficientLiquidity,
            {"free": 3599 * USDC, "needed": 3600 * USDC},
        ),
    ],
)
def test_open_position_each_failed_check_raises_typed_error(
    changes: dict[str, int],
    param_changes: dict[str, int],
    error: type[m.ModelError],
    attrs: dict[str, int],
) -> None:
    with pytest.raises(error) as raised:
        _open(_params(**param_changes), **changes)
    assert isinstance(raised.value, m.ModelError)
    for name, value in attrs.items():
        assert getattr(raised.value, name) == value


def test_open_position_eth_long_books_fee_base_and_profit_cap() -> None:
    params = _params(open_fee_wad=10**15, max_profit_wad=9 * WAD)
    opened = _open(params, open_interest=5000 * USDC)
    assert opened.entry_notional == 3000 * USDC
    assert opened.open_fee == 3 * USDC  # 0.1 % of 3,000 USDC
    assert opened.max_profit == 3600 * USDC  # 9 x 400 USDC
    assert opened.open_interest_after == 8000 * USDC
    assert opened.position == m.Position(
        size=ETH,
        entry_price_wad=3000 * WAD,
        margin=400 * USDC,
        max_profit=3600 * USDC,
        fee_base_wad=WAD - 10**15,
        is_long=True,
    )


def test_open_position_exactly_at_initial_margin_succeeds() -> None:
    params = _params(open_fee_wad=10**15)  # IM 10 % of 3,000 = 300, open fee 3
    opened = _open(params, margin=303 * USDC)
    assert opened.position.margin == 303 * USDC


# ------------------------------------------------------------------ the profit cap k * min(m, N)


def test_open_position_huge_margin_on_minimum_notional_reserves_only_the_notional_cap() -> None:
    """60 USDC of notional (0.02 ETH at 3,000) with 200,000 USDC of margin at k = 5: the pool
    reserves 5 x 60 = 300 USDC, not 5 x 200,000 = 1,000,000."""
    params = _params(max_profit_wad=5 * WAD, min_notional=50 * USDC)
    opened = _open(params, size=ETH // 50, margin=200_000 * USDC, free_liquidity=300 * USDC)
    assert opened.entry_notional == 60 * USDC
    assert m.exact_max_profit(200_000 * USDC, 5 * WAD) == 1_000_000 * USDC  # k * m alone
    assert opened.max_profit == opened.position.max_profit == 300 * USDC
    assert m.exact_max_profit(200_000 * USDC, 5 * WAD, 60 * USDC) == 300 * USDC
    with pytest.raises(m.InsufficientLiquidity) as raised:
        _open(params, size=ETH // 50, margin=200_000 * USDC, free_liquidity=300 * USDC - 1)
    assert (raised.value.free, raised.value.needed) == (300 * USDC - 1, 300 * USDC)
    # What it reserves is what it can win: 0.02 ETH gaining 27,000 USDC each is 540, paid 300.
    closed = m.close_position(params, opened.position, 30_000 * WAD, WAD, insurance_fund=0)
    assert closed.payout == 200_000 * USDC + 300 * USDC
    # With a margin below the notional the margin side binds, as before: 5 x 400.
    assert _open(_params(max_profit_wad=5 * WAD)).max_profit == 2000 * USDC


@PROPERTY
@given(
    is_long=st.booleans(),
    decimals=decimals_st,
    size=st.integers(min_value=10**12, max_value=10**24),
    price=st.integers(min_value=10**16, max_value=10**24),
    leverage_up=st.booleans(),
    over=st.integers(min_value=0, max_value=10**6),
    k=st.integers(min_value=WAD, max_value=10 * WAD),
)
def test_open_position_any_margin_reserves_k_times_the_smaller_of_margin_and_notional(
    is_long: bool, decimals: int, size: int, price: int, leverage_up: bool, over: int, k: int
) -> None:
    params = _params(asset_decimals=decimals, max_profit_wad=k)
    scale = params.scale
    required = m.notional_ratio_up(size, price, params.initial_margin_wad, scale)
    notional = m.notional_up(size, price, scale)
    # Either just above the initial margin or a multiple (up to 1e6 x) of the notional.
    margin = required + over if leverage_up else max(required, notional * (1 + over))
    assume(0 < margin <= m.MAX_UINT88)  # a position's margin field (MarginPool.StoredPosition)
    opened = _open(params, is_long=is_long, size=size, price_wad=price, margin=margin,
                   free_liquidity=m.MAX_UINT256)
    exact = m.exact_max_profit(margin, k, m.exact_notional(size, price, scale))
    assert opened.max_profit == m.profit_cap_down(margin, size, price, scale, k)
    assert exact - 1 < opened.max_profit <= exact
    assert opened.max_profit <= m.exact_max_profit(margin, k)  # never above the old cap k * m
    assert opened.max_profit <= m.exact_requirement(m.exact_notional(size, price, scale), k)


def test_remove_margin_lowers_the_profit_cap_to_the_margin_left_and_never_raises_it() -> None:
    params = _params(max_profit_wad=5 * WAD)
    position = _open(params).position  # 1 ETH at 3,000 with 400: min(5 x 400, 5 x 3,000)
    assert position.max_profit == 2000 * USDC
    less = m.remove_margin(params, position, 50 * USDC, 3000 * WAD, WAD)
    assert (less.margin, less.max_profit) == (350 * USDC, 1750 * USDC)  # 5 x 350
    more = m.add_margin(less, 100 * USDC)
    assert (more.margin, more.max_profit) == (450 * USDC, 1750 * USDC)  # adding never raises it
    again = m.remove_margin(params, more, 10 * USDC, 3000 * WAD, WAD)
    assert (again.margin, again.max_profit) == (440 * USDC, 1750 * USDC)  # 5 x 440 = 2,200: kept
    last = m.remove_margin(params, again, 100 * USDC, 3000 * WAD, WAD)
    assert (last.margin, last.max_profit) == (340 * USDC, 1700 * USDC)
    # A position capped on its notional keeps k * N until the margin falls below N.
    big = _open(params, size=ETH // 50, margin=200_000 * USDC).position
    assert big.max_profit == 300 * USDC
    kept = m.remove_margin(params, big, 199_900 * USDC, 3000 * WAD, WAD)
    assert (kept.margin, kept.max_profit) == (100 * USDC, 300 * USDC)
    down = m.remove_margin(params, big, 199_950 * USDC, 3000 * WAD, WAD)
    assert (down.margin, down.max_profit) == (50 * USDC, 250 * USDC)


@PROPERTY
@given(
    decimals=st.sampled_from([6, 18]),
    size=st.integers(min_value=10**15, max_value=10**22),
    margin_x=st.integers(min_value=1, max_value=10**4),
    removed_bp=st.integers(min_value=1, max_value=10_000),
    price_bp=st.integers(min_value=5_000, max_value=15_000),
    k=st.integers(min_value=WAD, max_value=10 * WAD),
    added=st.integers(min_value=0, max_value=10**12),
)
def test_remove_margin_any_amount_caps_profit_at_margin_left_never_raising_it(
    decimals: int,
    size: int,
    margin_x: int,
    removed_bp: int,
    price_bp: int,
    k: int,
    added: int,
) -> None:
    params = _params(asset_decimals=decimals, max_profit_wad=k, min_margin=1)
    scale = params.scale
    entry = 3000 * WAD
    notional = m.notional_up(size, entry, scale)
    margin = notional * margin_x // 10 + 1  # 0.1x to 1,000x the notional
    assume(margin + added <= m.MAX_UINT88)  # a position's margin field (MarginPool.StoredPosition)
    position = _open(params, size=size, margin=margin, free_liquidity=m.MAX_UINT256).position
    if added:
        position = m.add_margin(position, added)
    amount = max(1, position.margin * removed_bp // 10_000)
    price = entry * price_bp // 10_000
    try:
        after = m.remove_margin(params, position, amount, price, WAD)
    except (m.InsufficientMargin, m.MarginBelowMinimum):
        return
    assert after.margin == position.margin - amount
    cap_left = m.profit_cap_down(after.margin, size, entry, scale, k)
    assert after.max_profit == min(position.max_profit, cap_left)
    assert after.max_profit <= position.max_profit  # never raised
    exact_notional = m.exact_notional(size, entry, scale)
    assert after.max_profit <= m.exact_max_profit(after.margin, k, exact_notional)
    assert (after.size, after.entry_price_wad, after.fee_base_wad) == (
        position.size,
        position.entry_price_wad,
        position.fee_base_wad,
    )


def test_remove_margin_beyond_initial_margin_raises_insufficient_margin() -> None:
    params = _params()
    position = _open(params).position
    # At 2,900 the loss is 100: available = 400 - amount - 100, required = ceil(290) = 290.
    assert m.remove_margin_allowed(params, position, 10 * USDC, 2900 * WAD, WAD)
    with pytest.raises(m.InsufficientMargin) as raised:
        m.remove_margin_allowed(params, position, 10 * USDC + 1, 2900 * WAD, WAD)
    assert (raised.value.available, raised.value.required) == (290 * USDC - 1, 290 * USDC)
    # A profit never counts: at 3,500 the requirement grows to 350 and only 50 may leave.
    assert m.remove_margin(params, position, 50 * USDC, 3500 * WAD, WAD).margin == 350 * USDC
    with pytest.raises(m.InsufficientMargin):
        m.remove_margin(params, position, 50 * USDC + 1, 3500 * WAD, WAD)


def test_remove_margin_zero_or_below_minimum_raises_like_the_pool() -> None:
    params = _params(min_margin=100 * USDC)
    position = _open(params).position
    with pytest.raises(m.ZeroAmount):
        m.remove_margin(params, position, 0, 3000 * WAD, WAD)
    with pytest.raises(m.MarginBelowMinimum) as below:
        m.remove_margin(params, position, 300 * USDC + 1, 3000 * WAD, WAD)
    assert (below.value.margin, below.value.minimum) == (100 * USDC - 1, 100 * USDC)
    with pytest.raises(m.MarginBelowMinimum) as beyond:
        m.remove_margin(params, position, 401 * USDC, 3000 * WAD, WAD)
    assert beyond.value.margin == 0
    assert m.add_margin(position, 5 * USDC).margin == 405 * USDC


# ------------------------------------------------------------------ worked examples (USDC, 6 dp)


def test_liquidation_price_eth_long_300_usdc_is_2842_ceil() -> None:
    # 1 ETH long at 3,000 with 300 USDC, MM 5 %: (3000 - 300) / 0.95 = 2842.1052631578947368421...
    exact = m.exact_liquidation_price(True, ETH, 3000 * WAD, 300 * USDC, 0, USDC_SCALE, 5 * 10**16)
    assert exact == Fraction(2700 * WAD * 100, 95)
    liq = m.liquidation_price(True, ETH, 3000 * WAD, 300 * USDC, 0, USDC_SCALE, 5 * 10**16)
    assert liq == 2842_105263157894736843
    assert m.bankruptcy_price(True, ETH, 3000 * WAD, 300 * USDC, 0, USDC_SCALE) == 2700 * WAD


def test_liquidation_price_eth_short_300_usdc_is_3142_floor() -> None:
    # 1 ETH short at 3,000 with 300 USDC, MM 5 %: (3000 + 300) / 1.05 = 3142.857142857142857142...
    liq = m.liquidation_price(False, ETH, 3000 * WAD, 300 * USDC, 0, USDC_SCALE, 5 * 10**16)
    assert liq == 3142_857142857142857142
    assert m.bankruptcy_price(False, ETH, 3000 * WAD, 300 * USDC, 0, USDC_SCALE) == 3300 * WAD


def test_liquidation_price_eth_long_after_a_day_of_fees_moves_up() -> None:
    # Open fee 0.1 % (3 USDC) plus 1e-9 per second for a day (0.00864 % = 0.2592 USDC).
    params = _params(initial_margin_wad=8 * 10**16, open_fee_wad=10**15, borrow_rate_wad=10**9)
    position = _open(params, margin=300 * USDC).position
    index = m.fee_index_at(10**9, 86_400)
    fees = m.position_fees_up(position, index, params.scale)
    assert fees == 3_259_200  # 3,000 * 0.0010864
    # (3000 - (300 - 3.2592)) / 0.95 = 2703.2592 / 0.95 = 2845.536 exactly.
    liq = m.position_liquidation_price(position, fees, params.scale, params.maintenance_margin_wad)
    assert liq == 2845_536 * 10**15
    assert (
        m.health_down(position, 3000 * WAD, fees, params.scale, 5 * 10**16) == 1_978_272 * 10**12
    )  # 296.7408 / 150
    assert m.health_down(position, 3000 * WAD, 0, params.scale, 5 * 10**16) == 2 * WAD


def test_liquidation_test_eth_long_after_a_day_of_fees_flips_at_its_liquidation_price() -> None:
    # The position above: fees 3.2592 USDC, liquidatable iff the price is below 2,845.536.
    params = _params(initial_margin_wad=8 * 10**16, open_fee_wad=10**15, borrow_rate_wad=10**9)
    position = _open(params, margin=300 * USDC).position
    index = m.fee_index_at(10**9, 86_400)
    liq = 2845_536 * 10**15
    mm = params.maintenance_margin_wad
    assert m.liquidation_test(position, liq, index, params.scale, mm) == (False, liq, 3_259_200)
    assert m.liquidation_test(position, liq - 1, index, params.scale, mm) == (True, liq, 3_259_200)


def test_close_position_eth_long_profit_is_paid_by_vault_then_pool() -> None:
    params = _params(initial_margin_wad=8 * 10**16, open_fee_wad=10**15, close_fee_wad=10**15)
    position = _open(params, margin=300 * USDC).position
    closed = m.close_position(params, position, 3300 * WAD, WAD, insurance_fund=0)
    # 300 + 300 profit - 3 open fee - 3.3 close fee = 593.7 USDC.
    assert closed.payout == 593_700_000
    assert (closed.vault_to_owner, closed.vault_to_pool, closed.pool_to_owner) == (
        300 * USDC,
        0,
        293_700_000,
    )
    assert closed.pool_net == -293_700_000


def test_close_position_eth_long_crash_is_bad_debt_covered_by_insurance_first() -> None:
    params = _params(initial_margin_wad=8 * 10**16, open_fee_wad=10**15, close_fee_wad=10**15)
    position = _open(params, margin=300 * USDC).position
    closed = m.close_position(params, position, 2500 * WAD, WAD, insurance_fund=100 * USDC)
    # 300 - 500 loss - 3 open fee - 2.5 close fee = -205.5 USDC.
    assert closed.result == -205_500_000 and closed.payout == 0
    assert closed.vault_to_pool == 300 * USDC
    assert (closed.bad_debt, closed.insurance_to_pool, closed.lp_loss) == (
        205_500_000,
        100 * USDC,
        105_500_000,
    )


def test_rounding_one_wei_of_eth_favours_protocol_both_ways() -> None:
    # 1e-18 ETH at 3,000 USDC is 3e-12 USDC: credited 0, charged 1 unit.
    assert m.notional_down(1, 3000 * WAD, USDC_SCALE) == 0
    assert m.notional_up(1, 3000 * WAD, USDC_SCALE) == 1
    assert m.pnl_down(True, 1, 3000 * WAD, 3001 * WAD, USDC_SCALE, 10**9) == 0
    assert m.pnl_down(True, 1, 3000 * WAD, 2999 * WAD, USDC_SCALE, 10**9) == -1
    assert m.pnl_down(False, ETH, 3000 * WAD, 2000 * WAD, USDC_SCALE, 500 * USDC) == 500 * USDC


# ------------------------------------------------------------------ EVM semantics


def test_mul_div_overflow_or_zero_divisor_panics_like_openzeppelin() -> None:
    with pytest.raises(m.EvmPanic) as zero:
        m.mul_div_down(1, 1, 0)
    assert zero.value.code == m.PANIC_DIVISION_BY_ZERO
    with pytest.raises(m.EvmPanic) as overflow:
        m.mul_div_down(2**255, 4, 1)
    assert overflow.value.code == m.PANIC_UNDER_OVERFLOW
    # floor(x * y / d) is exactly 2**256 - 1 with a remainder: the rounding-up `+ 1` overflows.
    d = 2**128 + 1
    x = -(-(m.MAX_UINT256 * d + 1) // (d + 1))
    assert m.mul_div_down(x, d + 1, d) == m.MAX_UINT256
    with pytest.raises(m.EvmPanic) as ceil_overflow:
        m.mul_div_up(x, d + 1, d)
    assert ceil_overflow.value.code == m.PANIC_UNDER_OVERFLOW
    assert m.mul_div_up(m.MAX_UINT256, m.MAX_UINT256, m.MAX_UINT256) == m.MAX_UINT256


def test_fees_up_base_above_index_panics_underflow() -> None:
    with pytest.raises(m.EvmPanic) as raised:
        m.fees_up(1, 3000 * WAD, WAD, WAD + 1, USDC_SCALE)
    assert raised.value.code == m.PANIC_UNDER_OVERFLOW
    position = m.Position(
        size=ETH, entry_price_wad=3000 * WAD, margin=0, max_profit=0, fee_base_wad=WAD + 1, is_long=True
    )
    with pytest.raises(m.EvmPanic) as closing:
        m.closing_fees_up(position, WAD, 3000 * WAD, 0, USDC_SCALE)
    assert closing.value.code == m.PANIC_UNDER_OVERFLOW
    with pytest.raises(m.EvmPanic) as estimate:
        m.fees_on_notional_up(1, WAD, WAD + 1)
    assert estimate.value.code == m.PANIC_UNDER_OVERFLOW


def test_health_wad_zero_requirement_or_equity_takes_contract_order() -> None:
    assert m.health_wad(-5, 0) == m.MAX_UINT256  # the requirement is checked first, as on chain
    assert m.health_wad(0, 10) == 0
    assert m.health_wad(15, 10) == 15 * WAD // 10


def test_position_from_chain_tuple_reads_solidity_field_order() -> None:
    raw = (ETH, 3000 * WAD, 400 * USDC, 3600 * USDC, WAD - 10**15, True, 1)
    position = m.Position.from_chain(raw)
    assert position.fee_base_wad == WAD - 10**15 and position.is_long and position.margin == 400 * USDC


def test_market_params_inconsistent_margins_rejected() -> None:
    with pytest.raises(ValueError):
        _params(maintenance_margin_wad=10**17)
    with pytest.raises(ValueError):
        _params(open_fee_wad=2**64)

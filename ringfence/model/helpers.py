"""Integer helpers of the protocol: the asset scale, the fee index, equity, the margin the
initial-margin test counts and the display health."""

from __future__ import annotations

from ringfence.model.constants import MAX_UINT256, WAD
from ringfence.model.evm import _checked, _int256, _uint
from ringfence.model.margin_math import mul_div_down


def scale_for(asset_decimals: int) -> int:
    """``10**(36 - asset_decimals)``: turns ``size * price`` (WAD * WAD) into assets."""
    if not 0 <= asset_decimals <= 36:
        raise ValueError(f"asset_decimals = {asset_decimals} is not in [0, 36]")
    return int(10 ** (36 - asset_decimals))


def fee_index_at(borrow_rate_wad: int, seconds: int, start_index_wad: int = WAD) -> int:
    """The fee index ``seconds`` after ``start_index_wad`` at a per-second WAD borrow rate:
    linear and exact, ``start + rate * seconds`` (the pool's index starts at ``WAD``)."""
    _uint("borrow_rate_wad", borrow_rate_wad)
    _uint("seconds", seconds)
    _uint("start_index_wad", start_index_wad)
    return _checked(start_index_wad + _checked(borrow_rate_wad * seconds))


def equity(margin: int, pnl: int, fees: int) -> int:
    """Equity ``e = m + pnl - f`` in assets, exact on integers: the rounding is in the inputs
    (pass :func:`pnl_down` and :func:`fees_up`), so ``e`` never exceeds the exact equity.
    :func:`equity_down` is the checked on-chain form for a position."""
    return margin + pnl - fees


def available_margin(margin: int, pnl: int, fees: int) -> int:
    """``m + min(pnl, 0) - f``: the collateral the initial-margin test counts (unrealised profit
    never does). See :func:`initial_margin_test` for the on-chain form."""
    return margin + min(pnl, 0) - fees


def health_wad(equity_assets: int, requirement: int) -> int:
    """Display health ``floor(equity * WAD / requirement)`` in WAD, rounded **down**.

    ``requirement`` is the maintenance requirement ``requirement_up(notional_up(s, P), MM)``.
    As on chain (``healthDown``) a zero requirement is checked first and gives ``2**256 - 1``;
    otherwise a non-positive equity gives 0. Below ``WAD`` the position is under maintenance
    by the rounded figures; the binding test is :func:`is_liquidatable`.
    """
    _int256("equity_assets", equity_assets)
    _uint("requirement", requirement)
    if requirement == 0:
        return MAX_UINT256
    if equity_assets <= 0:
        return 0
    return mul_div_down(equity_assets, WAD, requirement)

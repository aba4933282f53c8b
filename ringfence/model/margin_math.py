"""Integer mirrors of ``contracts/libraries/MarginMath.sol``, bit for bit: full-precision
``mulDiv``, notionals, PnL, fees, the profit cap, requirements and the liquidation and
bankruptcy prices, each rounded in the direction its name says."""

from __future__ import annotations

from ringfence.model.constants import (
    _INT256_MIN,
    PANIC_DIVISION_BY_ZERO,
    PANIC_UNDER_OVERFLOW,
    WAD,
)
from ringfence.model.errors import EvmPanic
from ringfence.model.evm import _ceil_div, _checked, _div, _to_int256, _uint


def mul_div_down(x: int, y: int, d: int) -> int:
    """``floor(x * y / d)`` with full precision (``Math.mulDiv``).

    Rounds **down**. Panics 0x12 when ``d == 0`` and 0x11 when the result exceeds uint256.
    """
    _uint("x", x)
    _uint("y", y)
    _uint("d", d)
    if d == 0:
        raise EvmPanic(PANIC_DIVISION_BY_ZERO)
    return _checked(x * y // d)


def mul_div_up(x: int, y: int, d: int) -> int:
    """``ceil(x * y / d)`` with full precision (``Math.mulDiv(.., Rounding.Ceil)``).

    Rounds **up**. Panics as :func:`mul_div_down`, and 0x11 when the floor is ``2**256 - 1`` and
    the remainder is non-zero (the checked ``+ 1`` overflows).
    """
    down = mul_div_down(x, y, d)
    return _checked(down + (1 if (x * y) % d else 0))


def notional_down(size: int, price_wad: int, scale: int) -> int:
    """Notional ``size * price`` in assets, rounded **down** (what a trader is credited)."""
    return mul_div_down(size, price_wad, scale)


def notional_up(size: int, price_wad: int, scale: int) -> int:
    """Notional ``size * price`` in assets, rounded **up** (what requirements and fees use)."""
    return mul_div_up(size, price_wad, scale)


def pnl_down(
    is_long: bool, size: int, entry_wad: int, price_wad: int, scale: int, max_profit: int
) -> int:
    """The trader's PnL in assets: a profit rounds **down** and is capped at ``max_profit``; a
    loss rounds **up** (away from zero). Either way the result never exceeds the exact PnL.

    Mirrors the Solidity casts exactly: ``int256(uint256)`` is an unchecked reinterpretation and
    the negation of ``type(int256).min`` panics 0x11; outside ``|pnl| < 2**255`` neither is
    reachable with sane inputs.
    """
    _uint("size", size)
    _uint("entry_wad", entry_wad)
    _uint("price_wad", price_wad)
    _uint("scale", scale)
    _uint("max_profit", max_profit)
    profit = price_wad >= entry_wad if is_long else price_wad <= entry_wad
    move = price_wad - entry_wad if price_wad >= entry_wad else entry_wad - price_wad
    if profit:
        return _to_int256(min(mul_div_down(size, move, scale), max_profit))
    loss = _to_int256(mul_div_up(size, move, scale))
    if loss == _INT256_MIN:
        raise EvmPanic(PANIC_UNDER_OVERFLOW)
    return -loss


def fees_up(size: int, entry_wad: int, fee_index_wad: int, fee_base_wad: int, scale: int) -> int:
    """Fees owed in assets, rounded **up** once:
    ``ceil(size * entry * (index - base) / (scale * WAD))`` (within one unit of the exact fee).

    The open fee is folded into ``fee_base_wad`` (set below the index at open), so the one
    difference carries the open fee and the borrow fee accrued since. Panics 0x11 when
    ``fee_base_wad > fee_index_wad``.
    """
    _uint("fee_index_wad", fee_index_wad)
    _uint("fee_base_wad", fee_base_wad)
    per_size = _checked(entry_wad * _checked(fee_index_wad - fee_base_wad))
    return mul_div_up(size, per_size, _checked(scale * WAD))


def fees_on_notional_up(entry_notional: int, fee_index_wad: int, fee_base_wad: int) -> int:
    """An estimate of the fees owed from an entry notional in assets (no size at hand):
    ``ceil(entry_notional * (index - base) / WAD)``; at most one unit above :func:`fees_up`
    of the same position plus its entry notional's rounding. For off-chain ranking only."""
    return mul_div_up(entry_notional, _checked(fee_index_wad - fee_base_wad), WAD)


def notional_ratio_up(size: int, price_wad: int, ratio_wad: int, scale: int) -> int:
    """``ratio * size * price`` in assets, rounded **up** once (a requirement or a fee)."""
    return mul_div_up(size, _checked(price_wad * ratio_wad), _checked(scale * WAD))


def notional_ratio_down(size: int, price_wad: int, ratio_wad: int, scale: int) -> int:
    """``ratio * size * price`` in assets, rounded **down** once (paid out of the equity)."""
    return mul_div_down(size, _checked(price_wad * ratio_wad), _checked(scale * WAD))


def profit_cap_down(margin: int, size: int, entry_wad: int, scale: int, max_profit_wad: int) -> int:
    """A position's profit cap ``k * min(margin, size * entry)``, each side rounded **down** once
    (``MarginMath.profitCapDown``): over-collateralising cannot reserve more than the cap multiple
    of the notional."""
    return min(
        mul_div_down(margin, max_profit_wad, WAD),
        notional_ratio_down(size, entry_wad, max_profit_wad, scale),
    )


def requirement_up(notional: int, ratio_wad: int) -> int:
    """A requirement ``ratio * notional`` in assets, rounded **up**."""
    return mul_div_up(notional, ratio_wad, WAD)


def _long_bankruptcy_numerator(
    size: int, entry_wad: int, margin: int, fees: int, scale: int
) -> tuple[bool, int]:
    """Long: ``s*E - (m - f)*scale`` with its sign (``(False, 0)`` when not positive)."""
    debt = _checked(size * entry_wad)
    if fees >= margin:
        return True, _checked(debt + _checked((fees - margin) * scale))
    collateral = _checked((margin - fees) * scale)
    return (False, 0) if collateral >= debt else (True, debt - collateral)


def _short_bankruptcy_numerator(
    size: int, entry_wad: int, margin: int, fees: int, scale: int
) -> tuple[bool, int]:
    """Short: ``s*E + (m - f)*scale`` with its sign (``(False, 0)`` when not positive)."""
    credit = _checked(size * entry_wad)
    if margin >= fees:
        return True, _checked(credit + _checked((margin - fees) * scale))
    shortfall = _checked((fees - margin) * scale)
    return (False, 0) if shortfall >= credit else (True, credit - shortfall)


def _check_position_args(size: int, entry_wad: int, margin: int, fees: int, scale: int) -> None:
    _uint("size", size)
    _uint("entry_wad", entry_wad)
    _uint("margin", margin)
    _uint("fees", fees)
    _uint("scale", scale)


def liquidation_price(
    is_long: bool,
    size: int,
    entry_wad: int,
    margin: int,
    fees: int,
    scale: int,
    mm_wad: int,
) -> int:
    """The exact integer liquidation boundary, in WAD.

    The position is liquidatable iff ``e < MM * N`` in exact rational arithmetic (uncapped,
    loss-side PnL, fees as given), which for an integer price is ``price < liq`` for a long and
    ``price > liq`` for a short.

    * Long: ``ceil((s*E - (m - f)*scale) * WAD / (s * (WAD - MM)))`` (rounded **up**, towards
      danger); 0 when the numerator is not positive (never liquidatable).
    * Short: ``floor((s*E + (m - f)*scale) * WAD / (s * (WAD + MM)))`` (rounded **down**,
      towards danger); 0 when the numerator is not positive (liquidatable at every price > 0;
      at price 0 :func:`is_liquidatable` says no, where the exact test says yes if the numerator
      is negative: the one place the two differ).
    """
    _check_position_args(size, entry_wad, margin, fees, scale)
    _uint("mm_wad", mm_wad)
    if is_long:
        positive, k = _long_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
        if not positive:
            return 0
        return mul_div_up(k, WAD, _checked(size * _checked(WAD - mm_wad)))
    positive_short, k_short = _short_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
    if not positive_short:
        return 0
    return mul_div_down(k_short, WAD, _checked(size * _checked(WAD + mm_wad)))


def bankruptcy_price(
    is_long: bool, size: int, entry_wad: int, margin: int, fees: int, scale: int
) -> int:
    """The bankruptcy price (equity zero) in WAD, rounded towards danger.

    Long ``ceil(E - (m - f)*scale/s)`` (rounded **up**), short ``floor(E + (m - f)*scale/s)``
    (rounded **down**); 0 when there is none (the numerator is not positive).
    """
    _check_position_args(size, entry_wad, margin, fees, scale)
    if is_long:
        positive, k = _long_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
        return _ceil_div(k, size) if positive else 0
    positive_short, k_short = _short_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
    return _div(k_short, size) if positive_short else 0


def is_liquidatable(is_long: bool, price_wad: int, liq_price_wad: int) -> bool:
    """Whether a position is liquidatable at ``price_wad``: long ``price < liq``, short
    ``price > liq`` (exact, see :func:`liquidation_price`)."""
    _uint("price_wad", price_wad)
    _uint("liq_price_wad", liq_price_wad)
    return price_wad < liq_price_wad if is_long else price_wad > liq_price_wad

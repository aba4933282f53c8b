"""Integer mirrors of ``MarginMath.sol`` applied to a position as a whole: entry notional, fees
owed, closing fees, equity, health, the initial-margin test, the liquidation price and the liquidation
test."""

from __future__ import annotations

from ringfence.model.constants import MAX_UINT256, WAD
from ringfence.model.evm import _checked, _checked_i, _to_int256, _uint
from ringfence.model.helpers import health_wad
from ringfence.model.margin_math import (
    fees_up,
    is_liquidatable,
    liquidation_price,
    mul_div_up,
    notional_ratio_up,
    notional_up,
    pnl_down,
)
from ringfence.model.structs import Position


def entry_notional_up(position: Position, scale: int) -> int:
    """The entry notional ``notional_up(size, entry_price)`` in assets, rounded **up**: fees are
    owed on it and the side's open interest counts it."""
    return notional_up(position.size, position.entry_price_wad, scale)


def position_fees_up(position: Position, fee_index_wad: int, scale: int) -> int:
    """Fees the position owes at ``fee_index_wad`` (open fee plus borrow fee), rounded **up**."""
    return fees_up(position.size, position.entry_price_wad, fee_index_wad, position.fee_base_wad, scale)


def closing_fees_up(
    position: Position, fee_index_wad: int, price_wad: int, close_fee_wad: int, scale: int
) -> int:
    """Fees owed plus the close fee on ``size * price``, rounded **up** once
    (``MarginMath.closingFeesUp``)."""
    per_size = _checked(
        position.entry_price_wad * _checked(fee_index_wad - position.fee_base_wad)
        + _checked(price_wad * close_fee_wad)
    )
    return mul_div_up(position.size, per_size, _checked(scale * WAD))


def _pnl_of(position: Position, price_wad: int, scale: int) -> int:
    return pnl_down(
        position.is_long,
        position.size,
        position.entry_price_wad,
        price_wad,
        scale,
        position.max_profit,
    )


def equity_down(position: Position, price_wad: int, fees: int, scale: int) -> int:
    """Equity ``margin + pnl_down - fees`` in assets (int256, checked). With ``fees`` from
    :func:`position_fees_up` it is never above the exact equity."""
    _uint("fees", fees)
    pnl = _pnl_of(position, price_wad, scale)
    return _checked_i(_checked_i(position.margin + pnl) - _to_int256(fees))


def health_down(position: Position, price_wad: int, fees: int, scale: int, mm_wad: int) -> int:
    """Health ``equity / (MM * notional)`` in WAD, rounded **down**: see :func:`health_wad`.

    The requirement is ``notional_ratio_up(size, price, MM)``; ``2**256 - 1`` when it
    is zero (checked first), 0 when the equity is not positive.
    """
    requirement = notional_ratio_up(position.size, price_wad, mm_wad, scale)
    if requirement == 0:
        return MAX_UINT256
    return health_wad(equity_down(position, price_wad, fees, scale), requirement)


def initial_margin_test(
    position: Position, price_wad: int, fees: int, scale: int, im_wad: int
) -> tuple[int, int]:
    """``(available, required)`` of the initial-margin test, which passes iff
    ``available >= required``:

    * ``available = margin + min(pnl_down, 0) - fees`` (int256, checked; unrealised profit never
      counts), never above the exact value;
    * ``required = notional_ratio_up(size, price, IM)``, rounded **up** once.
    """
    _uint("fees", fees)
    pnl = _pnl_of(position, price_wad, scale)
    available = _checked_i(_checked_i(position.margin + min(pnl, 0)) - _to_int256(fees))
    required = notional_ratio_up(position.size, price_wad, im_wad, scale)
    return available, required


def position_liquidation_price(position: Position, fees: int, scale: int, mm_wad: int) -> int:
    """:func:`liquidation_price` of the position given the ``fees`` it owes."""
    return liquidation_price(
        position.is_long,
        position.size,
        position.entry_price_wad,
        position.margin,
        fees,
        scale,
        mm_wad,
    )


def liquidation_test(
    position: Position, price_wad: int, fee_index_wad: int, scale: int, mm_wad: int
) -> tuple[bool, int, int]:
    """``MarginMath.liquidationTest``: ``(liquidatable, liquidation_price, fees)`` of the position at
    ``price_wad`` with fees accrued to ``fee_index_wad``: :func:`position_fees_up`, then
    :func:`position_liquidation_price`, then :func:`is_liquidatable`."""
    fees = position_fees_up(position, fee_index_wad, scale)
    liq_price = position_liquidation_price(position, fees, scale, mm_wad)
    return is_liquidatable(position.is_long, price_wad, liq_price), liq_price, fees

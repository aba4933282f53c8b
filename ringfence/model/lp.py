"""LP accounting: the marked share price (``MarginPool.totalAssets``), OpenZeppelin's ERC-4626
conversions with the pool's decimals offset, and the worse-of settlement of LP requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import ParamSpec

from ringfence.model.constants import WAD
from ringfence.model.evm import _checked, _uint
from ringfence.model.margin_math import mul_div_down, mul_div_up
from ringfence.model.position import entry_notional_up
from ringfence.model.structs import Position

SHARE_DECIMALS_OFFSET: int = 6
"""``MarginPool._decimalsOffset()``: shares carry 6 more decimals than the asset (OpenZeppelin's
ERC-4626 virtual shares ``10**6`` and virtual asset ``1``)."""

P = ParamSpec("P")


@dataclass(frozen=True, slots=True, kw_only=True)
class Marking:
    """The parts of ``MarginPool._markedAssets`` at one price and fee index (see
    :func:`marking`): ``total_assets = max(0, liquidity - min(trader_gain, reserved))``."""

    liquidity: int
    fees_owed: int  # floor((index * (EN_long + EN_short) - fee_weight) / WAD)
    long_value: int  # ceil(long size * price / scale)
    short_value: int  # floor(short size * price / scale)
    trader_gain: int  # long_value - EN_long + EN_short - short_value - fees_owed (signed, unclamped)
    reserved: int
    total_assets: int

    @property
    def clamped(self) -> bool:
        """The traders' net gain is above the reserve: it counts as the reserve."""
        return self.trader_gain > self.reserved

    @property
    def floored(self) -> bool:
        """``liquidity - min(gain, reserved)`` is negative: ``totalAssets`` is 0. Unreachable while the
        pool keeps ``liquidity >= reserved`` (then the result is at least ``liquidity - reserved``)."""
        return self.liquidity - min(self.trader_gain, self.reserved) < 0


def fee_weight(positions: Sequence[Position], scale: int) -> int:
    """``MarginPool._feeWeight`` rebuilt from the open positions: ``Σ notional_up(size, entry) *
    fee_base`` (the pool keeps it as this sum through opens, closes and partial liquidations, which
    reset the fee base to the index of the liquidation)."""
    return sum(_checked(entry_notional_up(p, scale) * p.fee_base_wad) for p in positions)


def fees_owed(fee_index_wad: int, long_notional: int, short_notional: int, weight: int) -> int:
    """The fees all open positions owe, as the pool marks them: ``floor((index * Σ EN - weight) /
    WAD)`` (rounded **down**: in the traders' favour, against the LPs' mark). Panics 0x11 when the
    weight exceeds ``index * Σ EN`` (a fee base above the index)."""
    _uint("fee_index_wad", fee_index_wad)
    total = _checked(fee_index_wad * _checked(long_notional + short_notional))
    return _checked(total - weight) // WAD


def marking(
    liquidity: int,
    longs: tuple[int, int],
    shorts: tuple[int, int],
    fee_index_wad: int,
    weight: int,
    reserved: int,
    price_wad: int,
    scale: int,
) -> Marking:
    """``MarginPool._markedAssets(price)`` with its parts. ``longs`` and ``shorts`` are the sides'
    ``(size, entry notional)`` as ``openInterest`` returns them; ``weight`` is the private
    ``_feeWeight`` (:func:`fee_weight` of the open positions); ``fee_index_wad`` is
    ``currentFeeIndex()`` at the block the mark is for.

    Rounding, all against the LPs: the long side's value rounds **up**, the short side's value
    **down** (each side's gain up), the fees owed round **down**; the traders' net gain is clamped
    at ``reserved`` (their payouts can never exceed it) and the result is floored at 0.
    """
    for name, value in (("liquidity", liquidity), ("reserved", reserved), ("price_wad", price_wad),
                        ("weight", weight), ("long size", longs[0]), ("long notional", longs[1]),
                        ("short size", shorts[0]), ("short notional", shorts[1])):
        _uint(name, value)
    owed = fees_owed(fee_index_wad, longs[1], shorts[1], weight)
    long_value = mul_div_up(longs[0], price_wad, scale)
    short_value = mul_div_down(shorts[0], price_wad, scale)
    gain = long_value - longs[1] + shorts[1] - short_value - owed
    assets = liquidity - min(gain, reserved)
    return Marking(
        liquidity=liquidity, fees_owed=owed, long_value=long_value, short_value=short_value,
        trader_gain=gain, reserved=reserved, total_assets=max(assets, 0),
    )


def _total_assets_of(mark: Callable[P, Marking]) -> Callable[P, int]:
    """``mark`` (taking the same arguments) answering only its :attr:`Marking.total_assets`."""

    def marked_assets(*args: P.args, **kwargs: P.kwargs) -> int:
        return mark(*args, **kwargs).total_assets

    return marked_assets


marked_assets = _total_assets_of(marking)
marked_assets.__doc__ = """``MarginPool.totalAssets()``: the LPs' assets marked to ``price_wad``; the
arguments are :func:`marking`'s."""


def convert_to_shares(assets: int, total_assets: int, total_supply: int,
                      offset: int = SHARE_DECIMALS_OFFSET) -> int:
    """OpenZeppelin ERC-4626 ``_convertToShares(assets, Floor)``:
    ``floor(assets * (supply + 10**offset) / (total_assets + 1))``."""
    return mul_div_down(assets, _checked(total_supply + 10**offset), _checked(total_assets + 1))


def convert_to_assets(shares: int, total_assets: int, total_supply: int,
                      offset: int = SHARE_DECIMALS_OFFSET) -> int:
    """OpenZeppelin ERC-4626 ``_convertToAssets(shares, Floor)``:
    ``floor(shares * (total_assets + 1) / (supply + 10**offset))``."""
    return mul_div_down(shares, _checked(total_assets + 1), _checked(total_supply + 10**offset))


def share_price(total_assets: int, total_supply: int, offset: int = SHARE_DECIMALS_OFFSET) -> Fraction:
    """The exact assets per share both conversions round: ``(total_assets + 1) / (supply + 10**offset)``
    (``convert_to_assets(s) = floor(s * price)``, ``convert_to_shares(a) = floor(a / price)``)."""
    return Fraction(total_assets + 1, total_supply + 10**offset)


def settle_deposit_shares(assets: int, quote_shares: int, total_assets: int, total_supply: int) -> int:
    """``settleDeposit``: the worse of the quote (shares the assets bought at the request) and what
    they buy at the settlement's marked ``total_assets`` and ``total_supply`` (escrowed shares
    included), both rounded down."""
    return min(quote_shares, convert_to_shares(assets, total_assets, total_supply))


def settle_redeem_assets(shares: int, quote_assets: int, total_assets: int, total_supply: int) -> int:
    """``settleRedeem``: the worse of the quote (assets the shares were worth at the request) and what
    they are worth at the settlement's marked ``total_assets`` and ``total_supply``, rounded down."""
    return min(quote_assets, convert_to_assets(shares, total_assets, total_supply))


def realization_bounds(fee_index_gaps: Sequence[int]) -> tuple[Fraction, Fraction]:
    """Exclusive bounds of what closing or liquidating positions at one price and one fee index may
    move ``totalAssets()`` by, besides the realization's documented effects:

        ΔtotalAssets - close fee (exact) + keeper pay from the pool + bad debt borne by the LPs

    lies strictly between the bounds, with one ``index - fee_base`` per position closed or
    liquidated (``fee_index_gaps``, in WAD), when the closed part of each position is below its
    profit cap and the traders' gain is below the reserve before and after (no clamp).

    Derivation, per position (``π`` its exact PnL, ``φ = s * E * (index - base) / (scale * WAD)`` its
    exact fees owed, ``κ`` its exact close fee; ``ε = (index - base) / WAD``): the pool books
    ``fees - pnl`` into ``liquidity`` while the mark drops the position's PnL and fees, so the change
    is ``a - b + c - d`` with ``a = fees - φ - κ`` in ``[0, 1)`` (fees rounded up once), ``b = pnl - π``
    in ``(-1, 0]`` (``pnl_down``), ``c`` = the side aggregate's PnL drop minus ``π`` in ``(-2, 2)``
    (a side value rounded once before and once after, the entry notional rounded up; for a partial
    liquidation the closed part's entry notional is a difference of two roundings up) and ``d`` = the
    aggregate fee drop minus ``φ`` in ``(-1, 1 + ε)`` (two floors of the aggregate, and the weight
    counts the rounded-up entry notional, at most ``ε`` above ``φ``). Hence ``(-3 - ε, 5)`` per
    position, summed over the positions of a batch.
    """
    lo = -sum((3 + Fraction(gap, WAD) for gap in fee_index_gaps), Fraction(0))
    return lo, Fraction(5 * len(fee_index_gaps))

"""Exact rationals (:class:`fractions.Fraction`) of the formulas in ``docs/design.md``, with no
rounding and no profit cap unless asked for: the yardstick of the integer mirrors' rounding."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ringfence.model.constants import WAD
from ringfence.model.outcomes import LiquidationOutcome
from ringfence.model.structs import MarketParams, Position


def exact_notional(size: int, price_wad: int, scale: int) -> Fraction:
    """``N = s * P`` in assets, exactly."""
    return Fraction(size * price_wad, scale)


def exact_pnl(
    is_long: bool,
    size: int,
    entry_wad: int,
    price_wad: int,
    scale: int,
    max_profit: int | None = None,
) -> Fraction:
    """PnL in assets, exactly: long ``s(P - E)``, short ``s(E - P)``; a profit is capped at
    ``max_profit`` when one is given (``None``: uncapped)."""
    move = price_wad - entry_wad if is_long else entry_wad - price_wad
    pnl = Fraction(size * move, scale)
    if max_profit is not None and pnl > max_profit:
        return Fraction(max_profit)
    return pnl


def exact_fees(entry_notional: int | Fraction, fee_index_wad: int, fee_base_wad: int) -> Fraction:
    """Fees in assets, exactly: ``entry_notional * (index - base) / WAD``."""
    return Fraction(entry_notional) * (fee_index_wad - fee_base_wad) / WAD


def exact_requirement(notional: int | Fraction, ratio_wad: int) -> Fraction:
    """A requirement ``ratio * notional`` in assets, exactly."""
    return Fraction(notional) * ratio_wad / WAD


def exact_max_profit(
    margin: int, max_profit_wad: int, notional: int | Fraction | None = None
) -> Fraction:
    """The profit cap ``k * min(m, N)`` exactly (``k * m`` when no notional is given)."""
    base = Fraction(margin) if notional is None else min(Fraction(margin), Fraction(notional))
    return base * Fraction(max_profit_wad, WAD)


def exact_equity(margin: int | Fraction, pnl: int | Fraction, fees: int | Fraction) -> Fraction:
    """Equity ``e = m + PnL - f``, exactly."""
    return Fraction(margin) + Fraction(pnl) - Fraction(fees)


def exact_available_margin(
    margin: int | Fraction, pnl: int | Fraction, fees: int | Fraction
) -> Fraction:
    """``m + min(PnL, 0) - f``, exactly."""
    return Fraction(margin) + min(Fraction(pnl), Fraction(0)) - Fraction(fees)


def _pnl_and_requirement(
    is_long: bool, size: int, entry_wad: int, price_wad: int, scale: int, ratio_wad: int
) -> tuple[Fraction, Fraction]:
    """The uncapped PnL at ``price_wad`` and the requirement ``ratio * N`` on the notional at that
    price, exactly: the two sides of the margin tests below."""
    return (exact_pnl(is_long, size, entry_wad, price_wad, scale),
            exact_requirement(exact_notional(size, price_wad, scale), ratio_wad))


def exact_margin_sufficient(
    is_long: bool,
    size: int,
    entry_wad: int,
    price_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
    im_wad: int,
) -> bool:
    """The open / remove-margin test of ``docs/design.md``: ``m + min(PnL, 0) - f >= IM * N``,
    exactly."""
    pnl, required = _pnl_and_requirement(is_long, size, entry_wad, price_wad, scale, im_wad)
    return exact_available_margin(margin, pnl, fees) >= required


def exact_is_liquidatable(
    is_long: bool,
    size: int,
    entry_wad: int,
    price_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
    mm_wad: int,
) -> bool:
    """The liquidation test of ``docs/design.md``, ``e < MM * N``, exactly, with the uncapped
    PnL."""
    pnl, required = _pnl_and_requirement(is_long, size, entry_wad, price_wad, scale, mm_wad)
    return exact_equity(margin, pnl, fees) < required


def exact_liquidation_price(
    is_long: bool,
    size: int,
    entry_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
    mm_wad: int,
) -> Fraction:
    """The liquidation price in WAD, exactly: long ``(E - (m - f)/s) / (1 - MM)``, short
    ``(E + (m - f)/s) / (1 + MM)`` (with ``(m - f)/s`` converted to WAD price units). May be
    zero or negative, meaning no liquidation price exists on that side of zero."""
    cushion = (Fraction(margin) - Fraction(fees)) * scale / size
    if is_long:
        return (entry_wad - cushion) * WAD / (WAD - mm_wad)
    return (entry_wad + cushion) * WAD / (WAD + mm_wad)


def exact_bankruptcy_price(
    is_long: bool,
    size: int,
    entry_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
) -> Fraction:
    """The bankruptcy price (equity zero) in WAD, exactly: long ``E - (m - f)/s``, short
    ``E + (m - f)/s``. May be zero or negative (none)."""
    cushion = (Fraction(margin) - Fraction(fees)) * scale / size
    return entry_wad - cushion if is_long else entry_wad + cushion


def exact_health(
    equity_assets: int | Fraction, size: int, price_wad: int, scale: int, mm_wad: int
) -> Fraction:
    """Health ``e / (MM * N)`` as a plain ratio (1 is the maintenance boundary), exactly.
    Raises :class:`ZeroDivisionError` when the requirement is zero."""
    return Fraction(equity_assets) / exact_requirement(
        exact_notional(size, price_wad, scale), mm_wad
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialLiquidationCheck:
    """A partial liquidation in exact rationals: the position's equity and notional before and
    after at the liquidation price (exact PnL, profit capped; fees as owed before, none after as
    they are settled), against the target ``T`` (``docs/design.md``: ``e' >= T * N'``, healthier
    than before)."""

    equity_before: Fraction
    notional_before: Fraction
    equity_after: Fraction
    notional_after: Fraction
    target_wad: int

    @property
    def target_after(self) -> Fraction:
        """``T * N'``."""
        return exact_requirement(self.notional_after, self.target_wad)

    @property
    def slack(self) -> Fraction:
        """``e' - T * N'`` in assets: not negative when the target is restored."""
        return self.equity_after - self.target_after

    @property
    def restores_target(self) -> bool:
        """``e' >= T * N'``."""
        return self.slack >= 0

    @property
    def healthier(self) -> bool:
        """``e' / N' > e / N`` (strictly healthier than before)."""
        return self.equity_after * self.notional_before > self.equity_before * self.notional_after


def exact_partial_liquidation_check(
    params: MarketParams, before: Position, outcome: LiquidationOutcome
) -> PartialLiquidationCheck:
    """:class:`PartialLiquidationCheck` of a partial ``outcome`` of ``before`` (raises
    :class:`ValueError` for a full liquidation)."""
    after = outcome.position
    if outcome.full or after is None:
        raise ValueError("not a partial liquidation")
    scale = params.scale
    price = outcome.price_wad

    def exact_equity_of(position: Position, fees: int) -> Fraction:
        pnl = exact_pnl(
            position.is_long,
            position.size,
            position.entry_price_wad,
            price,
            scale,
            position.max_profit,
        )
        return exact_equity(position.margin, pnl, fees)

    return PartialLiquidationCheck(
        equity_before=exact_equity_of(before, outcome.fees),
        notional_before=exact_notional(before.size, price, scale),
        equity_after=exact_equity_of(after, 0),
        notional_after=exact_notional(after.size, price, scale),
        target_wad=params.liquidation_target_wad,
    )

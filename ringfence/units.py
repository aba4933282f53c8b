"""Fixed-point conversions between human numbers and the contracts' integers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

WAD = 10**18

Number = int | float | str | Decimal | Fraction


def to_wad(value: Number) -> int:
    """``value`` (a price, a ratio or an index-asset size) as an 18-decimal integer, exactly."""
    return to_units(value, 18)


def to_units(value: Number, decimals: int) -> int:
    """``value`` in token units of ``decimals`` (floats go through their decimal string)."""
    if isinstance(value, float):
        value = repr(value)
    exact = Fraction(Decimal(value)) if isinstance(value, str) else Fraction(value)
    scaled = exact * 10**decimals
    if scaled.denominator != 1:
        raise ValueError(f"{value} has more than {decimals} decimals")
    return int(scaled)


def from_units(amount: int, decimals: int) -> Decimal:
    """``amount`` token units as an exact decimal number of tokens."""
    return Decimal(amount).scaleb(-decimals)


def from_wad(amount: int) -> Decimal:
    """A WAD integer as an exact decimal."""
    return from_units(amount, 18)

"""Fixed-point conversions between human numbers and the contracts' integers, and the parsers of
human values (``1,000.5``, ``10%``, ``5x``) shared by the markets file and the command line."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

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


class UnitError(ValueError):
    """A human value that is not a number of the expected form; ``str(error)`` is one line that
    starts with what was being read (``"--slippage: 'abc' is not a number"``)."""


def parse_number(value: Any, what: str = "number") -> Fraction:
    """A human scalar (a YAML value or a command-line argument) as an exact rational: integers,
    decimals, fractions, and strings such as ``"1_000.5"`` or ``"1,000.5"``; floats go through
    their shortest decimal string. Booleans are refused."""
    if isinstance(value, bool):
        raise UnitError(f"{what}: {value!r} is not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if isinstance(value, (Decimal, Fraction)):
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "")
        try:
            return Fraction(Decimal(text))
        except (InvalidOperation, ValueError):
            pass
    raise UnitError(f"{what}: {value!r} is not a number")


def parse_ratio(value: Any, what: str = "ratio") -> Fraction:
    """``10%`` -> 1/10; ``0.1`` -> 1/10."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_number(value.strip()[:-1], what) / 100
    return parse_number(value, what)


def parse_multiple(value: Any, what: str = "multiple") -> Fraction:
    """``5x`` -> 5; ``5`` -> 5."""
    if isinstance(value, str) and value.strip().lower().endswith("x"):
        return parse_number(value.strip()[:-1], what)
    return parse_number(value, what)

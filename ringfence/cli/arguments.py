"""Command-line values in human units: amounts, sizes and prices, exact or refused in one line."""

from __future__ import annotations

from ringfence.cli.errors import CliError
from ringfence.units import to_units, to_wad

__all__ = ["parse_amount", "parse_price", "parse_size"]


def parse_amount(text: str, decimals: int, what: str) -> int:
    """A positive amount in units of ``decimals`` decimals (``what``: the option, for the error)."""
    try:
        value = to_units(text, decimals)
    except (ValueError, ArithmeticError):
        raise CliError(f"{what}: {text!r} is not an amount with at most {decimals} decimals") from None
    if value <= 0:
        raise CliError(f"{what} must be positive")
    return value


def parse_size(text: str) -> int:
    """``--size``: a positive number of index-asset units, as WAD."""
    try:
        value = to_wad(text)
    except (ValueError, ArithmeticError):
        raise CliError(f"--size: {text!r} is not a number with at most 18 decimals") from None
    if value <= 0:
        raise CliError("--size must be positive")
    return value


def parse_price(text: str | None, what: str) -> int:
    """A price as WAD; none given is 0 (no bound)."""
    if text is None:
        return 0
    try:
        value = to_wad(text)
    except (ValueError, ArithmeticError):
        raise CliError(f"{what}: {text!r} is not a price with at most 18 decimals") from None
    if value < 0:
        raise CliError(f"{what} must not be negative")
    return value


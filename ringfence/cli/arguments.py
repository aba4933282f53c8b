"""Command-line values in human units: amounts, sizes and prices, exact or refused in one line."""

from __future__ import annotations

from fractions import Fraction

from ringfence.cli.errors import CliError
from ringfence.units import UnitError, parse_number, to_units, to_wad

__all__ = ["DEFAULT_SLIPPAGE", "SLIPPAGE_HELP", "parse_amount", "parse_price", "parse_size", "parse_slippage",
           "price_bound"]

DEFAULT_SLIPPAGE = "0.5"
"""The slippage bound of ``open`` and ``close`` without ``--slippage`` or ``--acceptable-price``:
0.5 % of the price the command read (GMX's default)."""

SLIPPAGE_HELP = (f"The most the price may move against you, in percent of the price read now: 0.5 (or 0.5%) "
                 f"is half a percent [default: {DEFAULT_SLIPPAGE}]")


def parse_amount(text: str, decimals: int, what: str, *, zero: bool = False) -> int:
    """A positive amount (or zero, where ``zero`` allows it) in units of ``decimals`` decimals
    (``what``: the option, for the error)."""
    try:
        value = to_units(text, decimals)
    except (ValueError, ArithmeticError):
        raise CliError(f"{what}: {text!r} is not an amount with at most {decimals} decimals") from None
    if value < 0 or (value == 0 and not zero):
        raise CliError(f"{what} must be {'zero or more' if zero else 'positive'}")
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



def parse_slippage(text: str) -> Fraction:
    """``--slippage``: a percentage, with or without ``%`` (``0.5`` is 0.5 %), as a fraction of 1."""
    body = text.strip().removesuffix("%")
    try:
        ratio = parse_number(body, "--slippage") / 100
    except UnitError as exc:
        raise CliError(str(exc)) from None
    if not 0 <= ratio < 1:
        raise CliError(f"--slippage {text}: a percentage from 0 to below 100, e.g. 0.5")
    return ratio


def price_bound(price_wad: int, buying: bool, slippage: str) -> int:
    """The acceptable price of a trade at ``price_wad`` that moves at most ``slippage`` percent
    against the trader. Buying (open a long, close a short) fails above the bound: ``price·(1+s)``
    rounded down; selling (open a short, close a long) fails below it: ``price·(1−s)`` rounded up.
    Either way the rounding never lets a worse price through."""
    ratio = parse_slippage(slippage)
    bound = price_wad * (1 + ratio if buying else 1 - ratio)
    return bound.numerator // bound.denominator if buying else -(-bound.numerator // bound.denominator)

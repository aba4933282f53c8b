"""Human units on the command line's output: token amounts, prices, shares, times, ratios."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import click

from ringfence.units import from_units, from_wad

__all__ = ["emit", "fmt_amount", "fmt_price", "fmt_ratio", "fmt_shares", "fmt_time"]


def fmt_amount(amount: int, decimals: int, symbol: str = "") -> str:
    text = f"{from_units(amount, decimals):,.2f}"
    return f"{text} {symbol}".rstrip()


def fmt_price(price_wad: int) -> str:
    value = from_wad(price_wad)
    return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.8f}".rstrip("0")


def fmt_shares(shares: int, decimals: int) -> str:
    return f"{from_units(shares, decimals):,.4f}"


def fmt_time(timestamp: int) -> str:
    return datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_ratio(wad: int) -> str:
    percent = (from_wad(wad) * 100).quantize(Decimal("0.0001")).normalize()
    return f"{percent:f}%"


def emit(as_json: bool, data: dict[str, Any], lines: list[tuple[str, str]]) -> None:
    """A command's result: ``data`` as JSON with ``--json``, else ``lines`` as aligned
    ``key: value`` lines."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    width = max((len(k) for k, _ in lines), default=0)
    for key, value in lines:
        click.echo(f"{key + ':':<{width + 1}} {value}")


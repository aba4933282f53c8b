"""Human units on the command line's output: token amounts, prices, shares, times, ratios."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import click

from ringfence.cli.receipts import transactions
from ringfence.units import from_units, from_wad

__all__ = ["distinct_places", "emit", "fmt_amount", "fmt_price", "fmt_ratio", "fmt_shares", "fmt_time", "tx_line"]


def _rounded(value: Decimal, places: int, up: bool) -> str:
    """``value`` with ``places`` decimals, thousands separated, rounded up (towards +inf) or down."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return f"{rounded.copy_abs() if rounded == 0 else rounded:,.{places}f}"  # no "-0.00"


def fmt_amount(amount: int, decimals: int, symbol: str = "", *, up: bool = False, places: int = 2) -> str:
    """Token units as tokens with ``places`` decimals (at most the token's), rounded as the contracts
    round: down for what one holds or receives (a payout, a claim, a balance), ``up`` for what one
    owes or needs (a requirement, fees owed)."""
    text = _rounded(from_units(amount, decimals), min(places, max(decimals, 0)), up)
    return f"{text} {symbol}".rstrip()


def distinct_places(values: list[int], decimals: int, places: int = 2) -> int:
    """The fewest decimals (at least ``places``, at most ``decimals``) at which the differences
    between the distinct ``values`` (token units) show."""
    distinct = sorted(set(values))
    gaps = [b - a for a, b in itertools.pairwise(distinct)]
    if not gaps:
        return min(places, decimals)
    return min(decimals, max(places, decimals - len(str(min(gaps))) + 1))


def fmt_price(price_wad: int) -> str:
    value = from_wad(price_wad)
    return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.8f}".rstrip("0")


def fmt_shares(shares: int, decimals: int) -> str:
    """Pool shares with 4 decimals, rounded down (shares held or received)."""
    return _rounded(from_units(shares, decimals), 4, up=False)


def fmt_time(timestamp: int) -> str:
    return datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_health(wad: int) -> str:
    """A health (WAD) with three decimals rounded down (1.59998 is 1.599, under a 1.6 target, as the
    chain's ``healthDown`` sees it), ``inf`` for a position without a requirement."""
    return "inf" if wad >= 2**255 else f"{from_wad(wad).quantize(Decimal('0.001'), rounding=ROUND_FLOOR)}"


def fmt_ratio(wad: int) -> str:
    percent = (from_wad(wad) * 100).quantize(Decimal("0.0001")).normalize()
    return f"{percent:f}%"


def tx_line(tx: dict[str, Any]) -> str:
    """A mined transaction of :func:`ringfence.cli.receipts.transactions` as one line."""
    return f"{tx['tx_hash']} ({tx['function']}, block {tx['block']}, gas used {tx['gas_used']:,})"


def emit(as_json: bool, data: dict[str, Any], lines: list[tuple[str, str]]) -> None:
    """A command's result: ``data`` as JSON with ``--json``, else ``lines`` as aligned
    ``key: value`` lines; either way with the transactions the command has sent
    (``transactions``: hash, function, block, gas used)."""
    sent = transactions()
    if as_json:
        click.echo(json.dumps({**data, "transactions": sent} if sent else data, indent=2, default=str))
        return
    lines = [*lines, *(("transaction", tx_line(tx)) for tx in sent)]
    width = max((len(k) for k, _ in lines), default=0)
    for key, value in lines:
        click.echo(f"{key + ':':<{width + 1}} {value}")


"""``ringfence markets``: every market in scope, its price, leverage, fees and liquidity."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.errors import redecode
from ringfence.cli.formatting import emit, fmt_price, fmt_ratio, fmt_time
from ringfence.cli.view import MarketView, assets_text, marked_assets
from ringfence.errors import RingfenceError
from ringfence.market_stats import MarketStats, market_stats
from ringfence.model import MARKET_PARAMS_FIELDS
from ringfence.sdk import SECONDS_PER_YEAR

__all__ = ["markets"]


@main.command()
@common_options
@connected
def markets(session: Session, as_json: bool) -> None:
    """The markets: price, leverage, fees, liquidity, open interest."""
    rows = []
    for market_id, market in session.markets():
        view = MarketView(market)
        snap = market.snapshot()
        params = snap.params
        price: int | None = snap.price_wad
        if price is not None:
            price_text = fmt_price(price)
        else:
            try:
                price = market.price()  # the oracle's error
                price_text = fmt_price(price)
            except RingfenceError as exc:
                price, price_text = None, f"unavailable ({redecode(exc).message})"
        long_oi, short_oi = snap.open_interest_long, snap.open_interest_short
        marked = marked_assets(view, snap)
        data = {
            "id": market_id, "pool": market.address, "asset": market.asset_address,
            "symbol": view.symbol, "decimals": view.decimals, "oracle": snap.oracle,
            "price_wad": price, "params": dict(zip(MARKET_PARAMS_FIELDS, params.as_tuple())),
            **marked, "free_liquidity": snap.free_liquidity,
            "reserved": snap.reserved, "pending_deposits": snap.pending_deposits,
            "open_interest_long": long_oi, "open_interest_short": short_oi, "paused": snap.paused,
        }
        stats_data, stats_lines = _stats(view, market_stats(market), params)
        data.update(stats_data)
        rows.append(data)
        if as_json:
            continue
        max_leverage = Decimal(10**18) / Decimal(params.initial_margin_wad)
        lines = [
            ("market", market_id), ("pool", market.address),
            ("token", f"{view.symbol} {market.asset_address}"), ("price", price_text),
            ("max leverage", (f"{max_leverage:.2f}x (IM {fmt_ratio(params.initial_margin_wad)}, "
                              f"MM {fmt_ratio(params.maintenance_margin_wad)})")),
            ("fees", (f"open {fmt_ratio(params.open_fee_wad)}, close {fmt_ratio(params.close_fee_wad)}, "
                      f"borrow {fmt_ratio(params.borrow_rate_wad * SECONDS_PER_YEAR)}/year")),
            ("min margin", view.amount(params.min_margin)),
            ("position", f"{view.amount(params.min_notional)} to {view.amount(params.max_position_notional)}"),
            ("LP assets", assets_text(view, data)),
            ("open interest", (f"long {_use(view, long_oi, params.max_open_interest)}, "
                              f"short {_use(view, short_oi, params.max_open_interest)}")),
            *stats_lines,
            ("opening", "paused" if data["paused"] else "open"),
        ]
        emit(False, data, lines)
        click.echo()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))


def _use(view: MarketView, used: int, cap: int) -> str:
    """Open interest against its cap (per side)."""
    return f"{view.amount(used)} of {view.amount(cap)} cap ({Decimal(used * 100) / Decimal(cap):.2f}%)"


def _change(stats: MarketStats, index: int) -> str:
    past = stats.past[index]
    change = past.change(stats.share_price)
    if change is None:
        return f"n/a ({past.reason or 'no share price now'})"
    return f"{Decimal(change.numerator * 100) / Decimal(change.denominator):+.4f}%"


def _stats(view: MarketView, stats: MarketStats, params: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The share price and its change over 24 h and 7 days, the insurance fund, the profit cap and
    the oracle's age, as JSON data and lines."""
    price = (view.amount(stats.share_price, places=6) + " per share" if stats.share_price is not None
             else "n/a (no shares, or the oracle refuses the price)")
    age = ("unavailable (the oracle refuses the price)" if stats.oracle_age is None else
           f"{stats.oracle_age:,} s (round at {fmt_time(stats.oracle_updated_at or 0)}; stale after "
           f"{stats.oracle_max_age:,} s)")
    data = {
        "share_price": stats.share_price,
        "share_price_24h": stats.past[0].price, "share_price_7d": stats.past[1].price,
        "share_price_24h_unavailable": stats.past[0].reason, "share_price_7d_unavailable": stats.past[1].reason,
        "share_price_change_24h": None if stats.past[0].change(stats.share_price) is None else
        str(stats.past[0].change(stats.share_price)),
        "share_price_change_7d": None if stats.past[1].change(stats.share_price) is None else
        str(stats.past[1].change(stats.share_price)),
        "insurance_fund": stats.fund, "insurance_fund_balance": stats.fund_balance,
        "oracle_updated_at": stats.oracle_updated_at, "oracle_age": stats.oracle_age,
        "oracle_max_age": stats.oracle_max_age,
    }
    lines = [
        ("LP share price", price), ("share price 24h", _change(stats, 0)), ("share price 7d", _change(stats, 1)),
        ("insurance fund", f"{view.amount(stats.fund_balance)} ({stats.fund})"),
        ("profit cap", (f"{Decimal(params.max_profit_wad) / Decimal(10**18):f}x the margin (or entry notional, "
                       f"if smaller)")),
        ("oracle age", age),
    ]
    return data, lines
